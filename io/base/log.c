#include "io/base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

/* Process-wide logging context, written once by log_setup() at start-up. */
static log_level g_level = LOG_INFO;
static int g_rank = -1;

void log_setup(log_level level, int mpi_rank) {
    g_level = level;
    g_rank = mpi_rank;
}

log_level log_get_level(void) { return g_level; }

static const char *level_name(log_level l) {
    switch (l) {
    case LOG_DEBUG: return "debug";
    case LOG_INFO: return "info";
    case LOG_WARN: return "warn";
    default: return "error";
    }
}

void log_msg(log_level level, const char *fmt, ...) {
    if (level < g_level) return;
    char ts[32];
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
    char line[4096];
    int n = snprintf(line, sizeof line, "%s [%s] ", ts, level_name(level));
    if (g_rank >= 0 && n < (int)sizeof line) n += snprintf(line + n, sizeof line - (size_t)n, "[rank %d] ", g_rank);
    va_list ap;
    va_start(ap, fmt);
    if (n < (int)sizeof line) vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}

double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void progress_start(progress *p, const char *what, size_t total) {
    p->what = what;
    p->total = total;
    p->done = 0;
    p->t_start = p->t_last = now_seconds();
    p->interval_s = 10.0;
    p->tty = isatty(STDERR_FILENO) && g_level <= LOG_INFO;
}

static void progress_draw(progress *p, int final) {
    double el = now_seconds() - p->t_start;
    double rate = el > 0 ? (double)p->done / el : 0.0;
    double eta = (rate > 0 && p->total > p->done) ? (double)(p->total - p->done) / rate : 0.0;
    if (p->tty) {
        int width = 30, fill = p->total ? (int)((double)width * (double)p->done / (double)p->total) : width;
        char bar[64];
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
        bar[width] = 0;
        fprintf(stderr, "\r%s [%s] %zu/%zu %.2f/s ETA %.0fs%s", p->what, bar, p->done, p->total, rate, eta,
                final ? "\n" : "");
        fflush(stderr);
    } else if (g_level <= LOG_INFO) {
        log_info("%s: %zu/%zu (%.2f/s, ETA %.0fs)", p->what, p->done, p->total, rate, eta);
    }
}

void progress_step(progress *p, size_t n) {
    p->done += n;
    double t = now_seconds();
    if (p->tty ? t - p->t_last >= 0.2 : t - p->t_last >= p->interval_s) {
        p->t_last = t;
        progress_draw(p, 0);
    }
}

void progress_end(progress *p) { progress_draw(p, 1); }
