/* The MPI task farm (Mechanic-style): rank 0 coordinates, the other ranks ask for work.
 *
 * Protocol (all messages to/from rank 0 on the run's communicator):
 *   FARM_TAG_READY     worker -> 0   (empty) I am idle
 *   FARM_TAG_TASK      0 -> worker   int64[3 + n]: task index, attempt, n excluded samples, their indices
 *   FARM_TAG_RESULT    worker -> 0   bytes: int64 task, int32 status (0 done, -1 failed, 1 interrupted),
 *                                    int32 mer_err_kind of a failure, double wall seconds, then the error
 *                                    message (NUL-terminated);
 *                                    a RESULT also means "ready for the next task"
 *   FARM_TAG_INTERRUPT 0 -> worker   stop the running task at its next safe point (stage_should_stop)
 *   FARM_TAG_STOP      0 -> worker   no more work: leave farm_run
 * Variable-size messages are received with MPI_Probe/MPI_Iprobe + MPI_Get_count. Idle ranks poll with a
 * 1 ms sleep instead of a blocking probe, so waiting ranks leave the cores to the working ones.
 *
 * Scheduling: a task is ready when every dependency is final (done, failed or skipped); among ready tasks
 * the longest estimated one goes first (ties: plan order). A failed PREP/FEATURES task excludes its samples
 * downstream (a corrupt sample does not stop the run); a task all of whose samples are excluded is skipped.
 * A failed attempt whose error is transient (mer_err_transient: I/O, out of space, interrupted, out of memory,
 * unclassified) is retried up to `retries` times, then the task is marked failed with its reason; a permanent
 * failure (bad data, no face, bad config) is marked failed on its first attempt. Results carry the error's
 * kind from worker to coordinator.
 * With one rank, rank 0 runs the tasks itself in the same order.
 *
 * A run that dies (SIGKILL, node failure) while a task runs counts an attempt of that task. One whose
 * attempts exceed `retries` this way is not blamed at once when other tasks were running beside it (a
 * whole-job kill hits every running task): on the next run it is a SUSPECT and runs ALONE, once the others
 * have drained and with nothing handed out beside it (its START event says "alone"; with one rank every
 * task runs alone). Only a run that dies while it runs alone marks it failed (a task that kills its process).
 *
 * A task that fails for lack of space (MER_ERR_NOSPACE: ENOSPC/EDQUOT writing its file) is no fault of the task:
 * the attempt is not counted, the task stays pending, and the run stops like on a signal (no new tasks,
 * running ones stop at their next safe point); so does a ledger append that fails. `mer run` then exits 1
 * naming the path and the reason, and the same command resumes once space is freed.
 *
 * Rank 0 alone writes the ledger; every state change is appended (and fsync'ed) before it takes effect.
 */
#pragma once
#include <mpi.h>

#include "runner/ledger.h"
#include "runner/plan.h"

#define FARM_TAG_READY 11
#define FARM_TAG_TASK 12
#define FARM_TAG_RESULT 13
#define FARM_TAG_INTERRUPT 14
#define FARM_TAG_STOP 15

typedef struct {
    int retries;         /* extra attempts after a transient failure (runtime.retries) */
    int fail_fast;       /* stop handing out work after the first task that fails for good */
    int retry_failed;    /* give tasks that failed for good in an earlier run a new set of attempts */
    double max_walltime; /* seconds after farm start to behave as if signalled (0 = none) */
    const uint8_t *scope; /* NULL = every task; else run only tasks with scope[i] != 0 (a job-array slice:
                             closed under dependencies; a task another slice finished meanwhile is taken
                             as a cache hit just before it would run) */
} farm_options;

typedef struct {
    size_t n_tasks;
    size_t n_done;                   /* done at the end (ran now, earlier, or cache hits) */
    size_t n_ran[STAGE_COUNT];       /* executed successfully by this run, per stage */
    size_t n_cached[STAGE_COUNT];    /* found finished at start (output file present), per stage */
    size_t n_failed, n_skipped;      /* final failures */
    size_t n_pending;                /* not finished (interrupted or blocked) */
    int interrupted;                 /* a signal, --max-walltime or a worker's interruption stopped the run */
    int fail_fast_stopped;
    int io_stopped;                  /* a write failed for lack of space (or the ledger could not be written): */
    mer_err io_err;                  /*   the run stopped cleanly; io_err names the path and the reason */
} farm_summary;

/* Every rank calls farm_run with the same plan. On rank 0, `ledger` is the open ledger; elsewhere NULL.
 * comm = MPI_COMM_NULL: one process without MPI (MPI not initialised; job-array slices).
 * ctx->poll_stop is installed by the farm. Returns -1 only on a fatal error of the farm itself (out of
 * memory, a malformed message); task failures and a stop for lack of space are in `sum` (rank 0). */
int farm_run(farm_summary *sum, const mer_plan *plan, run_ctx *ctx, mer_ledger *ledger, const farm_options *opt,
             MPI_Comm comm, mer_err *err);
