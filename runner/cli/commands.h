/* Every `mer` subcommand: int cmd_NAME(int argc, char **argv), argv[0] being the subcommand name.
 * A command returns the process exit status: 0 success, 1 failure (message printed), 2 usage error.
 * Commands are the CLI layer: they may print and choose exit codes; the library code they call may not.
 * Register a command by adding it here and to the table in runner/cli/main.c. */
#pragma once
#include <stdio.h>

#include "io/config/config.h"
#include "runner/cli/options.h" /* usage_error, checked numbers, overrides */

typedef int (*mer_cmd_fn)(int argc, char **argv);

typedef struct {
    const char *name;
    mer_cmd_fn fn;
    const char *summary; /* one line for `mer --help` */
} mer_command;

/* Check / print a config, list its sweep points, print the schema (runner/cli/config.c). */
int cmd_config(int argc, char **argv);
/* Load a config for a command: 0, or -1 after printing every located error to stderr when `report`
 * (the full text, not the capped err.msg); doc is then not to be freed. */
int cmd_load_config(cfg_doc *doc, const char *path, char *const *overrides, size_t n_overrides, int report);
/* runner/cli/run.c: the experiment runner; mer prep runs the PREP stage of its plan alone */
int cmd_run(int argc, char **argv);
int cmd_prep(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_collect(int argc, char **argv);

/* mer version [--share]: the versions of mer and of every linked library, and the share folder. */
int cmd_version(int argc, char **argv);
/* The folder holding configs/ and slurm/ (runner/cli/versions.c): $MER_SHARE, else PREFIX/share/mer
 * next to the executable (PREFIX/bin/mer, an installed tree), else the source tree the binary was built
 * from. Written into buf; -1 when none of them exists. */
int mer_share_dir(char *buf, size_t size);

/* runner/cli/report.c */
int cmd_report(int argc, char **argv);
/* runner/cli/export.c: a trained model of a run -> one model file; runner/cli/predict.c: classify clips */
int cmd_export(int argc, char **argv);
int cmd_predict(int argc, char **argv);

/* runner/cli/magnify.c */
int cmd_convert_tf(int argc, char **argv);
/* runner/cli/convert_pth.c: PyTorch state_dict checkpoint -> HDF5 */
int cmd_convert_pth(int argc, char **argv);
int cmd_magnify(int argc, char **argv);

/* runner/cli/data.c */
int cmd_synth(int argc, char **argv);
int cmd_data(int argc, char **argv);

/* runner/cli/face.c: mer face detect | landmarks | align */
int cmd_face(int argc, char **argv);
/* Check, debug and benchmark the neural-network engine: forward, train-step, grad, bench, init (runner/cli/nn.c). */
int cmd_nn(int argc, char **argv);
