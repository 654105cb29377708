/* The MPI task farm: scheduler (rank 0), workers, and the single-process mode. See runner/farm.h. */
#include "runner/farm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io/base/fs.h"
#include "io/h5.h"
#include "mer_version.h"
#include "io/base/log.h"
#include "runner/signals.h"

/* ---- running one task (any rank) ---------------------------------------------------------------- */

typedef struct {
    MPI_Comm comm;
    int is_worker;       /* listen for FARM_TAG_INTERRUPT from rank 0 */
    int interrupted;     /* set once an interrupt arrived */
    double t0, max_walltime;
} stop_state;

static int poll_stop(const run_ctx *ctx) {
    stop_state *s = ctx->poll_user;
    if (signals_level() > 0) return 1;
    if (!s) return 0;
    if (s->interrupted) return 1;
    if (s->max_walltime > 0 && now_seconds() - s->t0 > s->max_walltime) return s->interrupted = 1;
    if (s->is_worker) {
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(0, FARM_TAG_INTERRUPT, s->comm, &flag, &st);
        if (flag) {
            MPI_Recv(NULL, 0, MPI_BYTE, 0, FARM_TAG_INTERRUPT, s->comm, MPI_STATUS_IGNORE);
            s->interrupted = 1;
        }
    }
    return s->interrupted;
}

/* Write the task's header, run it, commit its output file. status: 0 done, -1 failed, 1 interrupted. */
static int run_task(double *wall, const mer_plan *plan, size_t ti, const size_t *excl, size_t n_excl,
                    const run_ctx *ctx, mer_err *err) {
    const mer_task *t = &plan->tasks[ti];
    const mer_variant *v = &plan->variants[t->variant];
    char path[4096];
    task_output_path(path, sizeof path, plan, t);
    double t0 = now_seconds();
    *wall = 0;
    hid_t out;
    if (h5_create_tmp_private(path, &out, err) < 0) return -1;
    const char **ex = mer_calloc(n_excl, sizeof *ex, err);
    char *cfg_text = config_to_string(t->cfg, NULL, 0);
    int rc = (ex && cfg_text) ? 0 : mer_errf(err, "out of memory");
    for (size_t i = 0; !rc && i < n_excl; i++) ex[i] = plan->samples.id[excl[i]];
    if (!rc)
        rc = h5_write_str(out, "task/id", t->id, err) || h5_write_str(out, "task/stage", stage_name(t->kind), err) ||
             h5_write_scalar_i64(out, "task/point", (int64_t)v->point, err) ||
             h5_write_scalar_i64(out, "task/seed", v->seed, err) || h5_write_scalar_i64(out, "task/fold", t->fold, err) ||
             h5_write_str(out, "task/config", cfg_text, err) || h5_write_strs(out, "task/excluded", ex, n_excl, err) ||
             h5_write_str(out, "task/host", ctx->host, err) || h5_write_scalar_i64(out, "task/rank", ctx->rank, err) ||
             h5_write_str(out, "task/version", MER_VERSION, err)
                 ? -1
                 : 0;
    free(ex);
    free(cfg_text);
    if (!rc) {
        rc = plan->impl->execute[t->kind](out, t, excl, n_excl, ctx, err);
        if (rc < 0) mer_err_prefix(err, "%s task %s", stage_name(t->kind), t->id);
    }
    *wall = now_seconds() - t0;
    if (rc == 0 && h5_write_scalar_f64(out, "task/wall_s", *wall, err) < 0) rc = -1;
    if (rc != 0) {
        h5_abort_private(out, path);
        return rc;
    }
    return h5_commit_first(out, path, err) < 0 ? -1 : 0;
}

/* ---- scheduler state (rank 0) ------------------------------------------------------------------- */

typedef enum { T_PENDING, T_RUNNING, T_DONE, T_FAILED, T_SKIPPED } task_state;

typedef struct {
    const mer_plan *plan;
    const farm_options *opt;
    mer_ledger *ledger;
    farm_summary *sum;
    const char *const *hosts; /* per rank */
    task_state *state;
    int *attempts;
    size_t *unfinished;       /* dependencies not final yet */
    size_t *rdep_start, *rdeps; /* CSR reverse dependencies */
    uint8_t **excl;           /* per task: excluded-sample bitmap over all samples (NULL = none) */
    uint8_t *excl_known;
    size_t *excl_list;        /* scratch: excluded sample indices of the task being dispatched */
    uint8_t *suspect;         /* the run died often while it ran beside others: it runs alone (farm.h) */
    size_t alone;             /* 1 + the task running alone (0: none) */
    int single;               /* one rank: every task runs alone */
    int stopping;
    size_t n_running;
    progress prog;
} sched;

static int is_final(task_state s) { return s == T_DONE || s == T_FAILED || s == T_SKIPPED; }

static void sched_free(sched *s) {
    if (s->excl)
        for (size_t i = 0; i < s->plan->n_tasks; i++) free(s->excl[i]);
    free(s->excl);
    free(s->excl_known);
    free(s->excl_list);
    free(s->suspect);
    free(s->state);
    free(s->attempts);
    free(s->unfinished);
    free(s->rdep_start);
    free(s->rdeps);
}

/* A write that failed for lack of space (or an I/O error on the ledger) stops the run cleanly: no new tasks,
 * running ones stop at their next safe point and are collected, the first such error is reported at the end
 * (`mer run` exits 1); the same command resumes once space is freed. */
static void stop_for_io(sched *s, const mer_err *e) {
    if (!s->sum->io_stopped) {
        s->sum->io_stopped = 1;
        s->sum->io_err = *e;
        log_error("%s: no new tasks; the run stops (free space, then run the same command again)", e->msg);
    }
    s->stopping = 1;
}

/* Append to the ledger; a failed append stops the run (stop_for_io) and leaves the ledger as it was. */
static void log_event(sched *s, size_t ti, ledger_event_kind ev, int rank, double wall, const char *msg) {
    const mer_task *t = &s->plan->tasks[ti];
    const char *host = rank >= 0 ? s->hosts[rank] : "-";
    mer_err e = {0};
    if (ledger_append(s->ledger, t->id, stage_name(t->kind), ev, s->attempts[ti], host, rank, wall, msg, &e) < 0)
        stop_for_io(s, &e);
}

/* The checksum field of task ti's file for a done/cached event ("" when it cannot be read: a later check
 * then has nothing to compare with, which is said). */
static void checksum_field(char *field, size_t n, const sched *s, size_t ti) {
    char path[4096];
    task_output_path(path, sizeof path, s->plan, &s->plan->tasks[ti]);
    uint64_t sum;
    mer_err e = {0};
    field[0] = 0;
    if (fs_checksum(path, &sum, &e) == 0) ledger_checksum_field(field, n, sum);
    else log_warn("%s (no checksum recorded)", e.msg);
}

/* Samples excluded for task ti: those of failed/skipped dependencies, and those excluded for done ones. */
static int compute_excl(sched *s, size_t ti, mer_err *err) {
    if (s->excl_known[ti]) return 0;
    const mer_plan *p = s->plan;
    const mer_task *t = &p->tasks[ti];
    uint8_t *bm = NULL;
    for (size_t k = 0; k < t->n_deps; k++) {
        size_t d = t->deps[k];
        const mer_task *dt = &p->tasks[d];
        if (s->state[d] == T_DONE && compute_excl(s, d, err) < 0) {
            free(bm);
            return -1;
        }
        int whole = s->state[d] == T_FAILED || s->state[d] == T_SKIPPED;
        if (!whole && !(s->state[d] == T_DONE && s->excl[d])) continue;
        if (!bm && !(bm = mer_calloc(p->samples.n, 1, err))) return -1;
        for (size_t i = dt->sample_begin; i < dt->sample_end; i++)
            if (whole || s->excl[d][i]) bm[i] = 1;
    }
    if (bm)
        for (size_t i = 0; i < p->samples.n; i++)
            if (i < t->sample_begin || i >= t->sample_end) bm[i] = 0;
    s->excl[ti] = bm;
    s->excl_known[ti] = 1;
    return 0;
}

static void release(sched *s, size_t ti) {
    for (size_t k = s->rdep_start[ti]; k < s->rdep_start[ti + 1]; k++) s->unfinished[s->rdeps[k]]--;
    progress_step(&s->prog, 1);
}

static int sched_init(sched *s, const mer_plan *p, const farm_options *opt, mer_ledger *ledger, farm_summary *sum,
                      const char *const *hosts, mer_err *err) {
    memset(s, 0, sizeof *s);
    s->plan = p;
    s->opt = opt;
    s->ledger = ledger;
    s->sum = sum;
    s->hosts = hosts;
    size_t n = p->n_tasks, n_edges = 0;
    for (size_t i = 0; i < n; i++) n_edges += p->tasks[i].n_deps;
    s->state = mer_calloc(n, sizeof *s->state, err);
    s->attempts = mer_calloc(n, sizeof *s->attempts, err);
    s->suspect = mer_calloc(n ? n : 1, 1, err);
    s->unfinished = mer_calloc(n, sizeof *s->unfinished, err);
    s->rdep_start = mer_calloc(n + 1, sizeof *s->rdep_start, err);
    s->rdeps = mer_calloc(n_edges, sizeof *s->rdeps, err);
    s->excl = mer_calloc(n, sizeof *s->excl, err);
    s->excl_known = mer_calloc(n, 1, err);
    s->excl_list = mer_calloc(p->samples.n, sizeof *s->excl_list, err);
    if (!s->state || !s->attempts || !s->suspect || !s->unfinished || !s->rdep_start || !s->rdeps || !s->excl ||
        !s->excl_known || !s->excl_list)
        return -1;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < p->tasks[i].n_deps; k++) s->rdep_start[p->tasks[i].deps[k] + 1]++;
    for (size_t i = 0; i < n; i++) s->rdep_start[i + 1] += s->rdep_start[i];
    size_t *fill = mer_calloc(n, sizeof *fill, err);
    if (!fill) return -1;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < p->tasks[i].n_deps; k++) {
            size_t d = p->tasks[i].deps[k];
            s->rdeps[s->rdep_start[d] + fill[d]++] = i;
        }
    free(fill);

    /* Resume: output files and the ledger say where every task stands. */
    uint8_t *reset = mer_calloc(n, 1, err); /* failed for good earlier, retried now (--retry-failed) */
    if (!reset) return -1;
    ledger_state led;
    if (ledger_read(&led, p->output_dir, err) < 0) {
        free(reset);
        return -1;
    }
    if (led.n_bad_lines) log_warn("ledger: ignored %zu incomplete line(s) (a crash while writing)", led.n_bad_lines);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const mer_task *t = &p->tasks[i];
        const ledger_entry *e = ledger_find(&led, t->id);
        s->state[i] = T_PENDING;
        if (opt->scope && !opt->scope[i]) { /* another slice's task: only its file matters here */
            if (task_output_exists(p, t)) s->state[i] = T_DONE;
            continue;
        }
        if (task_output_exists(p, t)) {
            char path[4096], field[32];
            task_output_path(path, sizeof path, p, t);
            uint64_t got = 0;
            mer_err ce = {0};
            if (e && e->checksum && (fs_checksum(path, &got, &ce) < 0 || got != e->checksum)) {
                /* truncated by a crash, a flipped bit, a copy gone wrong: recompute, never use it */
                char kept[4200];
                snprintf(kept, sizeof kept, "%s.corrupt", path);
                log_warn("%s does not match the checksum recorded when it was finished (truncated or changed since): "
                         "not used; the task runs again (the file is kept as %s)", path, kept);
                if (rename(path, kept) != 0) unlink(path);
                s->attempts[i] = 0;
                continue;
            }
            s->state[i] = T_DONE;
            sum->n_cached[t->kind]++;
            if (!e || (e->last != LEDGER_DONE && e->last != LEDGER_CACHED) || !e->checksum) {
                if (e) s->attempts[i] = e->attempts;
                checksum_field(field, sizeof field, s, i);
                log_event(s, i, LEDGER_CACHED, -1, 0, field[0] ? field : NULL);
            }
            continue;
        }
        if (!e) continue;
        s->attempts[i] = e->attempts;
        switch (e->last) {
        case LEDGER_FAILED:
            if (opt->retry_failed) s->attempts[i] = 0, reset[i] = 1;
            else s->state[i] = T_FAILED;
            break;
        case LEDGER_START:
            /* (job-array slices: another slice may be running it right now, that is no crash) */
            if (e->attempts > opt->retries && !opt->scope && e->alone) {
                char msg[256];
                snprintf(msg, sizeof msg, "the run died %d time(s) while this task was running, the last time with "
                         "no other task beside it (on %s)", e->attempts, e->host);
                s->state[i] = T_FAILED;
                log_event(s, i, LEDGER_FAILED, -1, 0, msg);
            } else if (e->attempts > opt->retries && !opt->scope) {
                s->suspect[i] = 1;
                log_warn("%s task %s: the run died %d time(s) while it ran beside other tasks: it runs alone now, "
                         "to tell whether it is the cause", stage_name(t->kind), t->id, e->attempts);
            }
            break;
        case LEDGER_DONE:
        case LEDGER_CACHED:
            log_warn("task %s was done but its output file is gone: running it again", t->id);
            s->attempts[i] = 0;
            break;
        default: break; /* retry, interrupted, skipped: pending again (skips are re-derived) */
        }
    }
    ledger_state_free(&led);
    if (rc) {
        free(reset);
        return -1;
    }
    /* Tasks that ran while an upstream task had failed for good did so without its samples: when that
     * task gets new attempts (--retry-failed), everything downstream of it runs again. */
    if (opt->retry_failed) {
        size_t *stack = mer_calloc(n, sizeof *stack, err), top = 0;
        uint8_t *seen = mer_calloc(n, 1, err);
        if (!stack || !seen) {
            free(stack);
            free(seen);
            free(reset);
            return -1;
        }
        for (size_t i = 0; i < n; i++)
            if (reset[i]) stack[top++] = i, seen[i] = 1;
        while (top) {
            size_t i = stack[--top];
            for (size_t k = s->rdep_start[i]; k < s->rdep_start[i + 1]; k++) {
                size_t r = s->rdeps[k];
                if (seen[r]) continue;
                seen[r] = 1;
                stack[top++] = r;
                if (s->state[r] == T_DONE) {
                    /* its file is stale: a finished file is never replaced (h5_commit_first), so remove it */
                    char path[4096];
                    task_output_path(path, sizeof path, p, &p->tasks[r]);
                    unlink(path);
                    s->state[r] = T_PENDING;
                    s->sum->n_cached[p->tasks[r].kind]--;
                    log_info("%s task %s ran without samples of a failed task that is retried now: running it again",
                             stage_name(p->tasks[r].kind), p->tasks[r].id);
                }
            }
        }
        free(stack);
        free(seen);
    }
    free(reset);
    size_t todo = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_final(s->state[i]) || (opt->scope && !opt->scope[i])) continue;
        todo++;
        for (size_t k = 0; k < p->tasks[i].n_deps; k++) s->unfinished[i] += !is_final(s->state[p->tasks[i].deps[k]]);
    }
    progress_start(&s->prog, "tasks", todo);
    return 0;
}

/* The next task to hand out: ready, longest estimate first. Skips tasks whose samples all failed upstream.
 * Returns 1 and sets *ti / *n_excl, 0 when nothing is ready, -1 on error. */
static int sched_next(sched *s, size_t *ti, size_t *n_excl, mer_err *err) {
    const mer_plan *p = s->plan;
    if (s->alone) return 0; /* nothing beside a task that runs alone */
    for (;;) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < p->n_tasks; i++)
            if (s->state[i] == T_PENDING && s->unfinished[i] == 0 && (!s->opt->scope || s->opt->scope[i]) &&
                (best == SIZE_MAX || s->suspect[i] > s->suspect[best] ||
                 (s->suspect[i] == s->suspect[best] && p->tasks[i].est_cost > p->tasks[best].est_cost)))
                best = i;
        if (best == SIZE_MAX) return 0;
        if (s->suspect[best] && s->n_running > 0) return 0; /* a suspect first lets the running tasks drain */
        if (compute_excl(s, best, err) < 0) return -1;
        const mer_task *t = &p->tasks[best];
        size_t n = 0;
        if (s->excl[best])
            for (size_t i = t->sample_begin; i < t->sample_end; i++)
                if (s->excl[best][i]) s->excl_list[n++] = i;
        if (n == t->sample_end - t->sample_begin) {
            s->state[best] = T_SKIPPED;
            log_warn("skipping %s task %s: every one of its samples failed in an earlier stage", stage_name(t->kind), t->id);
            log_event(s, best, LEDGER_SKIPPED, -1, 0, "every sample failed in an earlier stage");
            release(s, best);
            continue;
        }
        *ti = best;
        *n_excl = n;
        return 1;
    }
}

/* Record the start of task ti on rank; 1 when the ledger could not record it (the task is not started). */
static int sched_start(sched *s, size_t ti, int rank) {
    s->attempts[ti]++;
    log_debug("start %s %s (attempt %d) on rank %d", stage_name(s->plan->tasks[ti].kind), s->plan->tasks[ti].id,
              s->attempts[ti], rank);
    const int alone = s->single || s->suspect[ti]; /* sched_next handed out a suspect with nothing running */
    log_event(s, ti, LEDGER_START, rank, 0, alone ? LEDGER_ALONE : NULL);
    if (s->sum->io_stopped) {
        s->attempts[ti]--;
        return 1;
    }
    if (s->suspect[ti]) s->alone = ti + 1;
    s->state[ti] = T_RUNNING;
    s->n_running++;
    return 0;
}

/* A task's outcome. A failure is retried while attempts remain and its kind is transient; a permanent
 * failure (bad data, no face, bad config) fails for good at once: another attempt would fail the same way. */
static void sched_result(sched *s, size_t ti, int status, double wall, const char *msg, mer_err_kind kind, int rank) {
    const mer_task *t = &s->plan->tasks[ti];
    s->n_running--;
    if (s->alone == ti + 1) s->alone = 0;
    /* a suspect that ran alone to an end did not cause the deaths; an interrupted one runs alone next time */
    if (status != STAGE_INTERRUPTED && kind != MER_ERR_NOSPACE) s->suspect[ti] = 0;
    if (status == 0) {
        s->state[ti] = T_DONE;
        s->sum->n_ran[t->kind]++;
        char field[32];
        checksum_field(field, sizeof field, s, ti);
        log_event(s, ti, LEDGER_DONE, rank, wall, field[0] ? field : NULL);
        release(s, ti);
    } else if (status == STAGE_INTERRUPTED) {
        s->attempts[ti]--;
        s->state[ti] = T_PENDING;
        s->stopping = 1;
        s->sum->interrupted = 1;
        log_event(s, ti, LEDGER_INTERRUPTED, rank, wall, NULL);
    } else if (kind == MER_ERR_NOSPACE) {
        /* a full disk or quota is no fault of the task: not an attempt, and the run stops */
        s->attempts[ti]--;
        s->state[ti] = T_PENDING;
        s->sum->interrupted = 1;
        mer_err e = {0};
        mer_errk(&e, kind, "%s", msg);
        stop_for_io(s, &e);
        log_event(s, ti, LEDGER_INTERRUPTED, rank, wall, msg);
    } else if (s->attempts[ti] <= s->opt->retries && mer_err_transient(kind)) {
        s->state[ti] = T_PENDING;
        log_warn("%s task %s failed (attempt %d of %d), will retry: %s", stage_name(t->kind), t->id, s->attempts[ti],
                 s->opt->retries + 1, msg);
        log_event(s, ti, LEDGER_RETRY, rank, wall, msg);
    } else {
        s->state[ti] = T_FAILED;
        if (mer_err_transient(kind))
            log_warn("%s task %s failed for good after %d attempt(s): %s", stage_name(t->kind), t->id, s->attempts[ti],
                     msg);
        else
            log_warn("%s task %s failed for good after %d attempt(s) (%s: not retried): %s", stage_name(t->kind), t->id,
                     s->attempts[ti], mer_err_kind_name(kind), msg);
        log_event(s, ti, LEDGER_FAILED, rank, wall, msg);
        release(s, ti);
        if (s->opt->fail_fast) {
            s->stopping = 1;
            s->sum->fail_fast_stopped = 1;
        }
    }
}

static void sched_summary(sched *s) {
    progress_end(&s->prog);
    farm_summary *sum = s->sum;
    for (size_t i = 0; i < s->plan->n_tasks; i++) {
        if (s->opt->scope && !s->opt->scope[i]) continue;
        sum->n_tasks++;
        sum->n_done += s->state[i] == T_DONE;
        sum->n_failed += s->state[i] == T_FAILED;
        sum->n_skipped += s->state[i] == T_SKIPPED;
        sum->n_pending += s->state[i] == T_PENDING || s->state[i] == T_RUNNING;
    }
}

/* Stop conditions seen by the coordinator. */
static void check_stop(sched *s, double t0) {
    if (signals_level() > 0 && !s->stopping) {
        log_warn("stop signal received: no new tasks; running tasks stop at their next safe point");
        s->stopping = 1;
        s->sum->interrupted = 1;
    }
    if (s->opt->max_walltime > 0 && now_seconds() - t0 > s->opt->max_walltime && !s->sum->interrupted) {
        log_warn("--max-walltime %.0f s reached: no new tasks; running tasks stop at their next safe point",
                 s->opt->max_walltime);
        s->stopping = 1;
        s->sum->interrupted = 1;
    }
}

/* ---- single process ------------------------------------------------------------------------------ */

static int farm_single(sched *s, run_ctx *ctx, double t0, mer_err *err) {
    const mer_plan *p = s->plan;
    for (;;) {
        check_stop(s, t0);
        if (s->stopping) break;
        size_t ti, n_excl;
        int r = sched_next(s, &ti, &n_excl, err);
        if (r < 0) return -1;
        if (r == 0) break;
        if (s->opt->scope && task_output_exists(p, &p->tasks[ti])) { /* another slice just finished it */
            s->state[ti] = T_DONE;
            s->sum->n_cached[p->tasks[ti].kind]++;
            char field[32];
            checksum_field(field, sizeof field, s, ti);
            log_event(s, ti, LEDGER_CACHED, -1, 0, field[0] ? field : NULL);
            release(s, ti);
            continue;
        }
        if (sched_start(s, ti, 0)) break;
        mer_err terr = {0};
        double wall;
        int status = run_task(&wall, p, ti, s->excl_list, n_excl, ctx, &terr);
        sched_result(s, ti, status, wall, terr.msg, terr.kind, 0);
    }
    return 0;
}

/* ---- coordinator and workers ---------------------------------------------------------------------- */

static void sleep_ms(int ms) {
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* A worker's result message: this header, then the error message (NUL-terminated, empty unless failed). */
typedef struct {
    int64_t task;
    int32_t status;
    int32_t kind; /* mer_err_kind of a failure: the coordinator retries transient ones only */
    double wall;
} result_header;

static int send_task(sched *s, size_t ti, size_t n_excl, int rank, MPI_Comm comm, mer_err *err) {
    int64_t *msg = mer_calloc(3 + n_excl, sizeof *msg, err);
    if (!msg) return -1;
    msg[0] = (int64_t)ti;
    msg[1] = s->attempts[ti];
    msg[2] = (int64_t)n_excl;
    for (size_t i = 0; i < n_excl; i++) msg[3 + i] = (int64_t)s->excl_list[i];
    int rc = MPI_Send(msg, (int)(3 + n_excl), MPI_INT64_T, rank, FARM_TAG_TASK, comm);
    free(msg);
    return rc == MPI_SUCCESS ? 0 : mer_errf(err, "MPI_Send of a task to rank %d failed", rank);
}

static int farm_coordinator(sched *s, int size, MPI_Comm comm, double t0, mer_err *err) {
    int *running = mer_calloc((size_t)size, sizeof *running, err); /* task index + 1 per rank, 0 = idle/unknown */
    uint8_t *idle = mer_calloc((size_t)size, 1, err), *seen = mer_calloc((size_t)size, 1, err);
    uint8_t *told = mer_calloc((size_t)size, 1, err); /* interrupt sent */
    char *buf = NULL;
    int buf_cap = 0, rc = -1;
    if (!running || !idle || !seen || !told) goto done;
    for (;;) {
        check_stop(s, t0);
        if (signals_level() >= 2) {
            log_warn("second stop signal: aborting now; the %zu running task(s) will run again on resume",
                     s->n_running);
            MPI_Abort(comm, MER_EXIT_INTERRUPTED);
        }
        if (s->stopping)
            for (int r = 1; r < size; r++)
                if (running[r] && !told[r]) {
                    MPI_Send(NULL, 0, MPI_BYTE, r, FARM_TAG_INTERRUPT, comm);
                    told[r] = 1;
                }
        /* hand out work to idle workers */
        for (int r = 1; r < size && !s->stopping; r++) {
            if (!idle[r]) continue;
            size_t ti, n_excl;
            int got = sched_next(s, &ti, &n_excl, err);
            if (got < 0) goto done;
            if (got == 0) break;
            if (sched_start(s, ti, r)) break;
            if (send_task(s, ti, n_excl, r, comm, err) < 0) goto done;
            idle[r] = 0;
            running[r] = (int)ti + 1;
        }
        if (s->n_running == 0) {
            size_t ti, n_excl;
            int got = s->stopping ? 0 : sched_next(s, &ti, &n_excl, err);
            if (got < 0) goto done;
            /* Finished (or stopped): nothing runs and nothing more will be handed out. When a task is
             * ready but no worker has reported yet, keep waiting for their READY. */
            if (got == 0) break;
        }
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm, &flag, &st);
        if (!flag) {
            sleep_ms(1);
            continue;
        }
        int src = st.MPI_SOURCE, count = 0;
        MPI_Get_count(&st, MPI_BYTE, &count);
        if (count + 1 > buf_cap) {
            free(buf);
            buf_cap = count + 1;
            if (!(buf = mer_malloc((size_t)buf_cap, err))) goto done;
        }
        MPI_Recv(buf, count, MPI_BYTE, src, st.MPI_TAG, comm, MPI_STATUS_IGNORE);
        buf[count] = 0;
        seen[src] = 1;
        if (st.MPI_TAG == FARM_TAG_READY) {
            idle[src] = 1;
        } else if (st.MPI_TAG == FARM_TAG_RESULT && count >= (int)sizeof(result_header)) {
            result_header h;
            memcpy(&h, buf, sizeof h);
            if (h.task < 0 || (size_t)h.task >= s->plan->n_tasks || running[src] != (int)h.task + 1) {
                mer_errf(err, "rank %d sent a result for task %lld it was not running", src, (long long)h.task);
                goto done;
            }
            running[src] = 0;
            told[src] = 0;
            idle[src] = 1;
            sched_result(s, (size_t)h.task, h.status, h.wall, buf + sizeof h, (mer_err_kind)h.kind, src);
        } else {
            mer_errf(err, "unexpected message (tag %d, %d bytes) from rank %d", st.MPI_TAG, count, src);
            goto done;
        }
    }
    /* Everyone idle: collect the first READY of ranks that never reported, then stop them all. */
    for (int r = 1; r < size; r++) {
        if (!seen[r]) MPI_Recv(NULL, 0, MPI_BYTE, r, FARM_TAG_READY, comm, MPI_STATUS_IGNORE);
        MPI_Send(NULL, 0, MPI_BYTE, r, FARM_TAG_STOP, comm);
    }
    rc = 0;
done:
    free(buf);
    free(running);
    free(idle);
    free(seen);
    free(told);
    return rc;
}

static int farm_worker(const mer_plan *p, run_ctx *ctx, stop_state *ss, MPI_Comm comm, mer_err *err) {
    MPI_Send(NULL, 0, MPI_BYTE, 0, FARM_TAG_READY, comm);
    int64_t *msg = mer_calloc(3 + p->samples.n, sizeof *msg, err);
    size_t *excl = mer_calloc(p->samples.n, sizeof *excl, err);
    char *out = mer_malloc(sizeof(result_header) + MER_ERR_MSG_MAX, err);
    int rc = -1;
    if (!msg || !excl || !out) goto done;
    for (;;) {
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(0, MPI_ANY_TAG, comm, &flag, &st);
        if (!flag) {
            sleep_ms(1);
            continue;
        }
        if (st.MPI_TAG == FARM_TAG_STOP) {
            MPI_Recv(NULL, 0, MPI_BYTE, 0, FARM_TAG_STOP, comm, MPI_STATUS_IGNORE);
            break;
        }
        if (st.MPI_TAG == FARM_TAG_INTERRUPT) { /* arrived after the task ended: nothing to stop */
            MPI_Recv(NULL, 0, MPI_BYTE, 0, FARM_TAG_INTERRUPT, comm, MPI_STATUS_IGNORE);
            continue;
        }
        int count = 0;
        MPI_Get_count(&st, MPI_INT64_T, &count);
        if (st.MPI_TAG != FARM_TAG_TASK || count < 3 || (size_t)count > 3 + p->samples.n) {
            mer_errf(err, "rank %d: unexpected message (tag %d, %d items) from the coordinator", ctx->rank, st.MPI_TAG,
                     count);
            goto done;
        }
        MPI_Recv(msg, count, MPI_INT64_T, 0, FARM_TAG_TASK, comm, MPI_STATUS_IGNORE);
        size_t ti = (size_t)msg[0], n_excl = (size_t)msg[2];
        if (ti >= p->n_tasks || 3 + n_excl != (size_t)count) {
            mer_errf(err, "rank %d: malformed task message", ctx->rank);
            goto done;
        }
        for (size_t i = 0; i < n_excl; i++) excl[i] = (size_t)msg[3 + i];
        ss->interrupted = 0;
        mer_err terr = {0};
        double wall;
        int status = run_task(&wall, p, ti, excl, n_excl, ctx, &terr);
        result_header h = {(int64_t)ti, status, (int32_t)terr.kind, wall};
        size_t len = status < 0 ? strlen(terr.msg) : 0;
        memcpy(out, &h, sizeof h);
        memcpy(out + sizeof h, terr.msg, len);
        out[sizeof h + len] = 0;
        MPI_Send(out, (int)(sizeof h + len + 1), MPI_BYTE, 0, FARM_TAG_RESULT, comm);
    }
    rc = 0;
done:
    free(msg);
    free(excl);
    free(out);
    return rc;
}

/* ---- entry point ------------------------------------------------------------------------------------- */

int farm_run(farm_summary *sum, const mer_plan *plan, run_ctx *ctx, mer_ledger *ledger, const farm_options *opt,
             MPI_Comm comm, mer_err *err) {
    memset(sum, 0, sizeof *sum);
    int rank = 0, size = 1;
    if (comm != MPI_COMM_NULL) {
        MPI_Comm_rank(comm, &rank);
        MPI_Comm_size(comm, &size);
    }
    double t0 = now_seconds();
    stop_state ss = {comm, rank != 0, 0, t0, opt->max_walltime};
    ctx->poll_stop = poll_stop;
    ctx->poll_user = &ss;
    /* Every rank's host name, for the ledger. */
    char host[64] = {0}, *all = NULL;
    snprintf(host, sizeof host, "%s", ctx->host ? ctx->host : "?");
    if (rank == 0 && !(all = mer_calloc((size_t)size, sizeof host, err))) return -1;
    if (comm != MPI_COMM_NULL) MPI_Gather(host, sizeof host, MPI_CHAR, all, sizeof host, MPI_CHAR, 0, comm);
    else memcpy(all, host, sizeof host);
    if (rank != 0) {
        int rc = farm_worker(plan, ctx, &ss, comm, err);
        ctx->poll_stop = NULL;
        ctx->poll_user = NULL;
        return rc;
    }
    const char **hosts = mer_calloc((size_t)size, sizeof *hosts, err);
    if (!hosts) {
        free(all);
        return -1;
    }
    for (int r = 0; r < size; r++) hosts[r] = all + (size_t)r * sizeof host;
    sched s;
    int rc = sched_init(&s, plan, opt, ledger, sum, hosts, err);
    s.single = size == 1 && !opt->scope; /* job-array slices run beside each other */
    if (rc == 0) {
        mer_err e = {0};
        if (ledger_append(ledger, "-", "-", LEDGER_RUN, 0, host, size > 1 ? size - 1 : 1, 0, NULL, &e) < 0)
            stop_for_io(&s, &e);
    }
    if (rc == 0) rc = size == 1 ? farm_single(&s, ctx, t0, err) : farm_coordinator(&s, size, comm, t0, err);
    if (s.state) sched_summary(&s);
    sched_free(&s);
    free(hosts);
    free(all);
    ctx->poll_stop = NULL;
    ctx->poll_user = NULL;
    return rc;
}
