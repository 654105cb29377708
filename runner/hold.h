/* One run per output folder: the hold.
 *
 * The run (or job-array slice) that writes ledger NAME also writes DIR/NAME.holder, one line:
 *   host  pid  started  heartbeat  mode  plan_hash
 * (unix times; mode "run" or "slice I/N"; plan_hash of the task list, 16 hex digits), rewritten every
 * HOLD_BEAT_S seconds by a heartbeat thread and removed when the run ends. A holder is live while its
 * ledger's lock (flock) is held; a holder whose lock is free is stale when it is on this host (its process
 * is gone: the kernel drops the lock of a dead process), and on another host when its heartbeat is older
 * than HOLD_STALE_S (on NFS or Lustre without working locks the lock cannot be seen from here).
 *
 * Before a run takes its ledger, hold_check refuses, naming host, pid and start time, when a live holder
 * is not compatible: only slices of one job array (same N, same plan) share a folder. Stale holders are
 * taken over with a notice (their files removed).
 */
#pragma once
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "io/base/err.h"

#define HOLD_BEAT_S 30.0
#define HOLD_STALE_S 180.0

typedef struct {
    char ledger[256]; /* the ledger file name it holds ("ledger.tsv", "ledger-slice-0-of-2.tsv") */
    char host[64];
    long pid;
    double started, heartbeat;
    char mode[32];    /* "run" or "slice I/N" */
    char plan[17];    /* plan hash, hex */
    int live;         /* 1 live, 0 stale */
} run_holder;

/* "host vm, pid 123, started 2026-12-06 23:10:19 UTC (slice 0/2)" */
void hold_describe(const run_holder *h, char *buf, size_t n);

/* Every holder of DIR (live and stale), sorted by ledger name. */
int hold_list(run_holder **out, size_t *n, const char *dir, mer_err *err);

/* Refuse (-1, err names the holder) when a live run holds DIR that may not share it with one of `mode`
 * (ledger `ledger_name`, plan hash `plan`); remove stale holders, logging a notice for each. */
int hold_check(const char *dir, const char *ledger_name, const char *mode, uint64_t plan, const char *host,
               mer_err *err);

typedef struct {
    char path[4096];
    run_holder me;
    pthread_t beat;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int running, stop;
} run_hold;

/* Write DIR/<ledger_name>.holder (call after the ledger is open and locked) and start the heartbeat. */
int hold_take(run_hold *h, const char *dir, const char *ledger_name, const char *mode, uint64_t plan,
              const char *host, mer_err *err);
/* Stop the heartbeat and remove the holder file (no-op when not taken). */
void hold_release(run_hold *h);
