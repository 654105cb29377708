/* mer: micro-expression recognition experiments (patent CN114743235A) at HPC scale.
 * The CLI entry point: dispatches git-style subcommands. Only this layer prints errors and exits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/nn/threads.h"
#include "runner/cli/commands.h"

/* One row per subcommand; implementations live next to the code they drive. */
static const mer_command COMMANDS[] = {
    {"version", cmd_version, "print mer's version, the linked libraries' versions and the share folder"},
    {"config", cmd_config, "check a YAML config; print it resolved (--print), its sweep points, the schema"},
    {"report", cmd_report, "summarise results.h5: metrics, sweep tables, plots, MEGC2019 log"},
    {"synth", cmd_synth, "write a synthetic micro-expression dataset (CASME II layout)"},
    {"convert-tf", cmd_convert_tf, "convert a TensorFlow checkpoint (e.g. the official MagNet weights) to HDF5"},
    {"convert-pth", cmd_convert_pth, "convert a PyTorch state_dict (.pth, e.g. ImageNet ResNet-18 weights) to HDF5"},
    {"magnify", cmd_magnify, "magnify the motion between two frames with MagNet"},
    {"run", cmd_run, "run an experiment (folds x sweep x seeds) as an MPI task farm; resumable"},
    {"status", cmd_status, "show done / running / pending / failed tasks of a run directory, with an ETA"},
    {"collect", cmd_collect, "rebuild results.h5 of a run directory from its finished tasks"},
    {"export", cmd_export, "write a run's trained model (eval.final_model) to one self-contained model file"},
    {"predict", cmd_predict, "classify new clips (video files or frame folders) with an exported model"},
    {"data", cmd_data, "data check CONFIG: verify a dataset (classes, subjects, frames, annotation problems)"},
    {"face", cmd_face, "face detection (OpenCV cascades) and 68 landmarks (dlib model): detect, landmarks"},
    {"prep", cmd_prep, "face registration of every sample: aligned onset/apex crops into the prep cache"},
    {"nn", cmd_nn, "neural-network engine: forward/train-step/grad checks against PyTorch, benchmark, init"},
};

static void print_help(void) {
    printf("usage: mer [--help] [--version] COMMAND [ARGS]\n\n"
           "Micro-expression recognition (CN114743235A): magnified onset->apex sequences, ResNet-18,\n"
           "LSH-sparsified self-attention, leave-one-subject-out evaluation on MPI clusters.\n\n"
           "Commands:\n");
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        printf("  %-12s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    printf("\n'mer COMMAND --help' documents each command's options; 'man mer-COMMAND' in an installed tree.\n\n"
           "Examples (from a source tree; installed: PREFIX/share/mer/..., printed by 'mer version --share'):\n"
           "  mer run configs/demo.yaml                  mer run $(mer version --share)/configs/demo.yaml\n"
           "  sbatch slurm/mer.sbatch my.yaml            sbatch $(mer version --share)/slurm/mer.sbatch my.yaml\n"
           "  mer report out/demo --format html --out report.html\n");
}

/* OpenBLAS has chosen its kernels by the time main runs; when it fell back to narrower ones than the CPU
 * allows and the user did not set OPENBLAS_CORETYPE, run again with the right family set. Every rank does
 * this before MPI starts, so all ranks of a run use the same kernels. */
static void choose_blas_kernels(char **argv) {
    const char *user = getenv("OPENBLAS_CORETYPE");
    if ((user && *user) || getenv(NN_BLAS_REEXEC_ENV)) return;
    const char *core = nn_blas_better_core();
    if (!core) return;
    if (setenv(NN_BLAS_REEXEC_ENV, nn_blas_corename(), 1) || setenv("OPENBLAS_CORETYPE", core, 1)) return;
    execv("/proc/self/exe", argv);
    fprintf(stderr, "mer: warning: could not re-run with OPENBLAS_CORETYPE=%s; GEMMs stay on %s kernels\n", core,
            getenv(NN_BLAS_REEXEC_ENV));
    unsetenv("OPENBLAS_CORETYPE");
}

int main(int argc, char **argv) {
    choose_blas_kernels(argv);
    if (argc < 2) {
        print_help();
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        print_help();
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) return cmd_version(1, argv + 1);
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (COMMANDS[i].fn && !strcmp(cmd, COMMANDS[i].name)) return COMMANDS[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "mer: unknown command '%s'\nTry 'mer --help'.\n", cmd);
    return 2;
}
