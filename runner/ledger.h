/* The run's durable ledger: output.dir/ledger.tsv, append-only, written by the coordinator alone.
 *
 * One line per event, tab-separated, each line written with one write() and fsync'ed, so a crash loses at
 * most the line being written (a last line without its newline is ignored on reading):
 *   unix_time  task_id  stage  event  attempt  host  rank  wall_s  error
 * (for done and cached events the last field is the task file's checksum, "fnv1a64:<16 hex digits>":
 * a file that no longer matches it is corrupt and is recomputed, never used; for a start event it is
 * "alone" when no other task ran beside that attempt: runner/farm.h, who is blamed for a dead run)
 * Events: start (attempt N handed to a rank), done, cached (output already there, not run), retry (attempt
 * failed, will be retried), failed (gave up after runtime.retries retries; final), skipped (every sample
 * failed upstream; final), interrupted (stopped at a safe point; does not count as an attempt).
 * A special line with task_id "-" and event "run" records each start of the run (rank = number of
 * workers) for `mer status`.
 *
 * Job-array slices (`mer run --slice I/N`) run as independent processes: each writes its own
 * DIR/ledger-slice-I-of-N.tsv; readers merge every DIR/ledger*.tsv by event time.
 *
 * The ledger and the task output files are the source of truth: a task is finished when its output file
 * exists (written atomically); the last event of a task tells the rest. Re-running resumes from them.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "io/base/err.h"

typedef enum {
    LEDGER_START,
    LEDGER_DONE,
    LEDGER_CACHED,
    LEDGER_RETRY,
    LEDGER_FAILED,
    LEDGER_SKIPPED,
    LEDGER_INTERRUPTED,
    LEDGER_RUN,
    LEDGER_N_EVENTS
} ledger_event_kind;

const char *ledger_event_name(ledger_event_kind e);

#define LEDGER_ALONE "alone" /* the last field of a start event whose attempt runs with no other task beside it */

typedef struct {
    int fd;
    long torn_bytes; /* bytes of a torn last line ledger_open cut off (a crash or a full disk mid-write) */
    char path[4096];
} mer_ledger;

/* Open (create) DIR/NAME (NULL: "ledger.tsv") for appending and take an exclusive lock on it: a second run
 * on the same output directory fails with a clear message instead of corrupting the first. A torn last
 * line is cut off (torn_bytes). */
int ledger_open(mer_ledger *l, const char *dir, const char *name, mer_err *err);
void ledger_close(mer_ledger *l);

/* Append one event (error may be NULL; tabs and newlines in it are replaced by spaces) and fsync. A write
 * that fails (full disk: kind MER_ERR_NOSPACE) leaves the file as it was: the partial line is cut off. */
int ledger_append(mer_ledger *l, const char *task_id, const char *stage, ledger_event_kind ev, int attempt,
                  const char *host, int rank, double wall_s, const char *error, mer_err *err);

/* The state of each task after replaying the ledger: its last event. */
typedef struct {
    char id[17];
    char stage[16];
    ledger_event_kind last; /* last event */
    int attempts;           /* attempts counted so far (a start without an end counts: the run died) */
    char host[64];
    int rank;
    double started;         /* unix time of the last start */
    int alone;              /* the last start ran with no other task beside it (its field "alone") */
    double t_last;          /* unix time of the last event (merging several ledger files) */
    double wall_s;          /* wall time of the last finished attempt */
    uint64_t checksum;      /* of the task file recorded by the last done/cached event (0: none recorded) */
    char *error;            /* last error message (owned) or NULL */
} ledger_entry;

typedef struct {
    ledger_entry *entries; /* sorted by id */
    size_t n;
    size_t n_runs;         /* "run" lines */
    int last_workers;      /* workers of the latest run */
    double last_run_start; /* unix time */
    size_t n_bad_lines;    /* ignored (truncated) lines */
} ledger_state;

/* Replay DIR/ledger*.tsv, merged by event time (no ledger is an empty state, not an error). */
int ledger_read(ledger_state *st, const char *dir, mer_err *err);
void ledger_state_free(ledger_state *st);
const ledger_entry *ledger_find(const ledger_state *st, const char *id);

/* The checksum field of a done/cached event: "fnv1a64:<hex>" (buf of at least 32 bytes). */
void ledger_checksum_field(char *buf, size_t n, uint64_t sum);

/* 1 if a run (or a slice) holds the lock of one of DIR's ledgers right now, else 0. */
int ledger_in_use(const char *dir);
