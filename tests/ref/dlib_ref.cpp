// Reference landmarks from dlib's shape_predictor for the landmark parity test (test_landmarks.c).
//
// Build by hand (libdlib-dev is a reference only, never a dependency of mer):
//     g++ -O2 -std=c++14 -o /tmp/dlib_ref tests/ref/dlib_ref.cpp $(pkg-config --libs dlib-1)
// Run through the driver, which writes the fixture:
//     /usr/bin/python3 tests/ref/dlib_ref.py /tmp/dlib_ref tests/fixtures/face
//
// Input on stdin, one job per line:  GREY_PGM L T R B [refine]
//   GREY_PGM  8-bit binary PGM (P5), the same pixels the C test decodes from the fixture PNG
//   L T R B   dlib rectangle (inclusive corners)
//   refine    0: predict on the box; N>0: N rounds of "refit the box to the mean shape, predict again"
//             (the refinement of core/face/face.c, written here with dlib types so the test checks it too)
// Output, one line per job:  L T R B x0 y0 ... x67 y67  (the final box and dlib's integer points)
// Benchmark mode: DLIB_REF_REPEAT=N repeats every prediction N times and prints the mean time per
// prediction to stderr (compare with tests/ref/bench_face.c).
#include <dlib/image_processing.h>
#include <dlib/array2d.h>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

static bool read_pgm(const std::string& path, dlib::array2d<unsigned char>& img) {
    std::ifstream f(path, std::ios::binary);
    std::string magic;
    long w, h, maxv;
    f >> magic >> w >> h >> maxv;
    if (!f || magic != "P5" || maxv != 255) return false;
    f.get();
    img.set_size(h, w);
    for (long y = 0; y < h; y++) f.read(reinterpret_cast<char*>(&img[y][0]), w);
    return bool(f);
}

// Refit a square box so that the model's mean shape best matches the landmarks (least squares,
// one scale, no rotation): the same formula as box_refit() in core/face/face.c.
static dlib::rectangle refit(const dlib::full_object_detection& d, const dlib::matrix<float, 0, 1>& mean) {
    const long n = d.num_parts();
    double px = 0, py = 0, mx = 0, my = 0;
    for (long i = 0; i < n; i++) {
        px += d.part(i).x(); py += d.part(i).y(); mx += mean(2 * i); my += mean(2 * i + 1);
    }
    px /= n; py /= n; mx /= n; my /= n;
    double num = 0, den = 0;
    for (long i = 0; i < n; i++) {
        double ax = d.part(i).x() - px, ay = d.part(i).y() - py;
        double bx = mean(2 * i) - mx, by = mean(2 * i + 1) - my;
        num += ax * bx + ay * by;
        den += bx * bx + by * by;
    }
    double s = num / den;
    long L = (long)std::floor(px - s * mx + 0.5), T = (long)std::floor(py - s * my + 0.5);
    long side = (long)std::floor(s + 0.5);
    return dlib::rectangle(L, T, L + side, T + side);
}

int main() {
    dlib::shape_predictor sp;
    dlib::deserialize("/usr/share/dlib/shape_predictor_68_face_landmarks.dat") >> sp;
    // the mean shape is not exposed by dlib's API: predicting on an empty (all-zero) image would not
    // give it either, so read it from the file's head (version, then the initial_shape matrix)
    dlib::matrix<float, 0, 1> mean;
    {
        std::ifstream f("/usr/share/dlib/shape_predictor_68_face_landmarks.dat", std::ios::binary);
        int version;
        dlib::deserialize(version, f);
        dlib::deserialize(mean, f);
    }
    const char* rep_env = std::getenv("DLIB_REF_REPEAT");
    const int repeat = rep_env ? std::atoi(rep_env) : 0;
    double bench_s = 0;
    long bench_n = 0;
    std::map<std::string, dlib::array2d<unsigned char>*> cache;
    std::string line;
    while (std::getline(std::cin, line)) {
        std::istringstream in(line);
        std::string path;
        long L, T, R, B;
        int refine = 0;
        if (!(in >> path >> L >> T >> R >> B)) continue;
        in >> refine;
        if (!cache.count(path)) {
            auto* img = new dlib::array2d<unsigned char>;
            if (!read_pgm(path, *img)) { std::fprintf(stderr, "cannot read %s\n", path.c_str()); return 1; }
            cache[path] = img;
        }
        const auto& img = *cache[path];
        dlib::rectangle r(L, T, R, B);
        dlib::full_object_detection d = sp(img, r);
        if (repeat > 0) {
            auto t0 = std::chrono::steady_clock::now();
            for (int k = 0; k < repeat; k++) d = sp(img, r);
            bench_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            bench_n += repeat;
        }
        for (int k = 0; k < refine; k++) {
            r = refit(d, mean);
            d = sp(img, r);
        }
        std::printf("%ld %ld %ld %ld", r.left(), r.top(), r.right(), r.bottom());
        for (unsigned long i = 0; i < d.num_parts(); i++) std::printf(" %ld %ld", d.part(i).x(), d.part(i).y());
        std::printf("\n");
    }
    if (bench_n) std::fprintf(stderr, "dlib shape_predictor: %.3f ms per prediction (%ld predictions)\n", 1e3 * bench_s / bench_n, bench_n);
    for (auto& kv : cache) delete kv.second;
    return 0;
}
