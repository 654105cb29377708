/* Levelled, timestamped log lines on stderr, and progress reporting.
 *
 *   2026-11-26 16:10:02 [info] [rank 1] preprocess: 40/120 samples
 *
 * The process-wide log context (level, MPI rank) is set once at start-up by the CLI.
 */
#pragma once
#include <stddef.h>

typedef enum { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3, LOG_QUIET = 4 } log_level;

void log_setup(log_level level, int mpi_rank); /* mpi_rank < 0: not an MPI run, rank not printed */
log_level log_get_level(void);
void log_msg(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/* Progress of a long loop. On a terminal: a bar with rate and ETA redrawn in place; otherwise a
 * plain log line at most every `interval_s` seconds (and at the end). */
typedef struct {
    const char *what;
    size_t total, done;
    double t_start, t_last;
    double interval_s;
    int tty;
} progress;

void progress_start(progress *p, const char *what, size_t total);
void progress_step(progress *p, size_t n);
void progress_end(progress *p);

double now_seconds(void); /* monotonic clock */
