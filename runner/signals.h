/* Graceful stop on SIGTERM / SIGUSR1 (Slurm: `#SBATCH --signal=B:USR1@300`, forwarded to the job step).
 *
 * GROMACS-style escalation. The handler only counts signals in a volatile sig_atomic_t:
 *   1st signal: the coordinator stops handing out work; running tasks stop at their next safe point
 *               (stage_should_stop), the ledger is flushed, results.h5 is assembled from what is done,
 *               and `mer run` exits with MER_EXIT_INTERRUPTED (re-run the same command to resume);
 *   2nd signal: stop sooner: the coordinator records what it has and aborts the job at once (MPI_Abort),
 *               without waiting for running tasks (they are re-run on resume);
 *   3rd signal: the default action (immediate termination).
 * This file holds the only global of the runner: the signal counter (a handler cannot reach anything else).
 */
#pragma once

/* Exit codes of `mer run` (documented in `mer run --help`). */
#define MER_EXIT_OK 0
#define MER_EXIT_FAILURE 1      /* bad config, unreadable dataset, I/O error: nothing or little ran */
#define MER_EXIT_USAGE 2
#define MER_EXIT_INTERRUPTED 3  /* stopped by a signal or --max-walltime: resumable */
#define MER_EXIT_TASKS_FAILED 4 /* the run finished, but some tasks failed (see mer status) */

int signals_install(void); /* SIGTERM, SIGUSR1 (and SIGINT); returns -1 if sigaction failed */
int signals_level(void);   /* number of stop signals received so far */
