/* `mer run`, `mer prep` (its PREP stage alone), `mer status`, `mer collect`: the CLI of the experiment runner. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <mpi.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/nn/threads.h"
#include "io/base/fs.h"
#include "io/base/log.h"
#include "runner/cli/commands.h"
#include "runner/farm.h"
#include "runner/hold.h"
#include "runner/ledger.h"
#include "runner/results.h"
#include "runner/signals.h"


static void run_help(void) {
    printf("usage: [mpirun -n N] mer run CONFIG [key=value ...] [options]\n\n"
           "Run the experiment of CONFIG (sweep points x seeds x folds) as a task graph: preprocess ->\n"
           "magnify + features -> train/evaluate. Under MPI rank 0 coordinates and the other ranks work;\n"
           "with one process it does the work itself. Stage outputs are cached in output.dir/tasks/ by the\n"
           "config values they depend on and reused by later runs. Re-running the same command resumes.\n\n"
           "Options:\n"
           "  --dry-run          print the task table (stage, id, depends on, estimated cost, cache hit); run nothing\n"
           "  --fail-fast        stop handing out work after the first task that fails for good\n"
           "  --retry-failed     give tasks that failed for good in an earlier run new attempts\n"
           "  --max-walltime S   stop like on SIGTERM after S seconds (sites without `sbatch --signal`)\n"
           "  --slice I/N        job arrays: run only slice I (0-based) of N: every N-th train task and the\n"
           "                     tasks it needs, in one process, with its own ledger; shared tasks another\n"
           "                     slice finished are reused; `mer collect DIR` assembles results.h5 at the end;\n"
           "                     a slice does not initialise MPI (starts under any launcher)\n"
           "  --stages NAME      stage implementation: pipeline (default) or test (deterministic pseudo-work\n"
           "                     for testing the runner; knobs MER_TEST_TASK_MS, MER_TEST_CORRUPT, MER_TEST_FLAKY,\n"
           "                     MER_TEST_IGNORE_STOP: see runner/stage_test.c)\n"
           "  -h, --help         this help\n\n"
           "Threads per rank: runtime.threads, else SLURM_CPUS_PER_TASK, else 1 (OpenBLAS and OpenMP are set to it).\n"
           "Open MPI binds each rank to one core when there are <= 2 ranks: with threads > 1 use\n"
           "`mpirun --bind-to none` or `--map-by slot:PE=T`. The affinity each rank got is logged; a rank\n"
           "uses at most as many threads as CPUs in it (with a warning). model.backbone.mode=finetune trains\n"
           "ResNet-18 in every train task: on CPU that is hours per fold at the patent's sizes.\n\n"
           "One run per output folder: a run on a folder another run is using (host, pid and start time are\n"
           "named) is refused before anything in it changes; slices of one job array share a folder. A hold\n"
           "left by a killed run is taken over with a notice (on another host once its heartbeat is 3 min old).\n"
           "Task files are checksummed in the ledger: one changed or truncated since is recomputed, never used.\n\n"
           "Signals: SIGTERM/SIGUSR1 once: no new tasks, running tasks stop at their next safe point, the ledger\n"
           "is flushed, results.h5 is written from what is done; twice: abort at once; three times: die.\n\n"
           "Exit codes: 0 every task done; 1 error (config, dataset, I/O; a full disk or quota stops the run\n"
           "cleanly: free space and run the same command again); 2 usage; 3 interrupted (signal or\n"
           "--max-walltime): run the same command again to resume; 4 finished, but some tasks failed\n"
           "(see `mer status DIR`).\n");
}

static int thread_budget(const mer_config *cfg) {
    if (cfg->rt_threads > 0) return cfg->rt_threads;
    const char *s = getenv("SLURM_CPUS_PER_TASK");
    int n = s ? atoi(s) : 0;
    return n > 0 ? n : 1;
}

/* More threads than CPUs in the affinity mask would spin-wait against each other on the same cores (the
 * OpenMP pool waits actively): use as many threads as CPUs then, and say so. Results do not depend on
 * the thread count. */
static void setup_threads(int threads, int rank, const char *host) {
    cpu_set_t set;
    const int affinity = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : -1;
    if (affinity > 0 && threads > affinity) {
        log_warn("rank %d: %d threads asked for but only %d CPU(s) in this process's affinity: using %d "
                 "(start Open MPI with --bind-to none or --map-by slot:PE=%d)",
                 rank, threads, affinity, affinity, threads);
        threads = affinity;
    }
    nn_set_threads(threads);
    char desc[160];
    nn_describe_threads(desc, sizeof desc, threads);
    log_info("host %s rank %d: %d CPU(s) in affinity, %s", host, rank, affinity, desc);
    if (rank <= 1 && nn_blas_advice()) log_warn("%s", nn_blas_advice());
}

static log_level level_of(cfg_log_level l) {
    switch (l) {
    case CFG_LOG_LEVEL_DEBUG: return LOG_DEBUG;
    case CFG_LOG_LEVEL_INFO: return LOG_INFO;
    case CFG_LOG_LEVEL_WARN: return LOG_WARN;
    case CFG_LOG_LEVEL_ERROR: return LOG_ERROR;
    case CFG_LOG_LEVEL_COUNT: break;
    }
    return LOG_INFO;
}

/* Agree across ranks that setup worked; rank-local messages are printed by their rank. */
static int all_ok(int ok, MPI_Comm comm) {
    if (comm == MPI_COMM_NULL) return ok;
    int all = 0;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, comm);
    return all;
}

/* The exit status of a finished farm (run_help's "Exit codes"). */
static int run_exit_code(const farm_summary *s) {
    if (s->interrupted && s->n_pending) return MER_EXIT_INTERRUPTED;
    return s->n_failed || s->n_skipped || s->n_pending ? MER_EXIT_TASKS_FAILED : MER_EXIT_OK;
}

/* Tasks of job-array slice I of N: train tasks j (in plan order) with j % N == I, and everything they need. */
static uint8_t *slice_scope(const mer_plan *p, int slice, int n_slices, mer_err *err) {
    uint8_t *scope = mer_calloc(p->n_tasks, 1, err);
    if (!scope) return NULL;
    size_t j = 0;
    for (size_t i = 0; i < p->n_tasks; i++)
        if (p->tasks[i].kind == STAGE_TRAIN && (j++ % (size_t)n_slices) == (size_t)slice) scope[i] = 1;
    for (size_t i = p->n_tasks; i-- > 0;) /* dependencies come earlier in plan order */
        if (scope[i])
            for (size_t k = 0; k < p->tasks[i].n_deps; k++) scope[p->tasks[i].deps[k]] = 1;
    return scope;
}

/* What `mer run` and `mer prep` ask of the runner: one config, its plan, and which of its tasks to run. */
typedef struct {
    const char *cmd;             /* "run" or "prep": names the command in messages */
    const char *config_path;
    char *const *overrides;
    size_t n_overrides;
    const char *output_dir;      /* replaces output.dir when not NULL (mer prep --out) */
    const stage_impl *impl;
    int dry, fail_fast, retry_failed;
    double max_wall;
    int slice, n_slices;         /* slice < 0: the whole plan */
    int prep_only;               /* mer prep: only the PREP tasks of the first `limit` samples (0: all) */
    size_t limit;
} run_request;

/* mer prep's scope: the PREP tasks (no dependencies) of samples [0, limit). */
static uint8_t *prep_scope(const mer_plan *p, size_t limit, mer_err *err) {
    uint8_t *scope = mer_calloc(p->n_tasks, 1, err);
    if (!scope) return NULL;
    for (size_t i = 0; i < p->n_tasks; i++)
        scope[i] = p->tasks[i].kind == STAGE_PREP && (!limit || p->tasks[i].sample_begin < limit);
    return scope;
}

/* mer prep's report on its scope: counts, the cache folder, and why each failed sample failed (from the
 * ledger). Returns the exit status: 0 when at least one sample is in the cache, 1 when none is, 3 when
 * interrupted. */
static int prep_report(const mer_plan *p, const uint8_t *scope, const farm_summary *sum) {
    size_t n_tasks = 0, n_samples = 0;
    for (size_t i = 0; i < p->n_tasks; i++)
        if (scope[i]) n_tasks++;
    for (size_t i = 0; i < p->n_tasks; i++) /* samples in scope (each has one PREP task per setting) */
        if (scope[i] && p->tasks[i].sample_end > n_samples) n_samples = p->tasks[i].sample_end;
    const size_t n_settings = n_samples ? n_tasks / n_samples : 0, ok = sum->n_ran[STAGE_PREP] + sum->n_cached[STAGE_PREP];
    char settings[64] = "";
    if (n_settings > 1) snprintf(settings, sizeof settings, " x %zu preprocess settings", n_settings);
    printf("prep: %zu samples%s: %zu ok (%zu computed, %zu from the cache), %zu failed\ncache: %s/tasks/%s\n", n_samples,
           settings, ok, sum->n_ran[STAGE_PREP], sum->n_cached[STAGE_PREP], sum->n_failed, p->output_dir,
           stage_name(STAGE_PREP));
    if (sum->n_failed) {
        mer_err err = {0};
        ledger_state led;
        if (ledger_read(&led, p->output_dir, &err) < 0) {
            fprintf(stderr, "mer prep: %s\n", err.msg);
            return MER_EXIT_FAILURE;
        }
        printf("failed:\n");
        for (size_t i = 0; i < p->n_tasks; i++) {
            const mer_task *t = &p->tasks[i];
            const ledger_entry *e = scope[i] ? ledger_find(&led, t->id) : NULL;
            if (!e || e->last != LEDGER_FAILED || task_output_exists(p, t)) continue;
            const char *id = p->samples.id[t->sample_begin], *why = e->error ? e->error : "";
            char named[1100]; /* the message names task and sample ("prep task ID: sample S: ..."); S leads */
            snprintf(named, sizeof named, "sample %s: ", id);
            const char *at = strstr(why, named);
            if (at) why = at + strlen(named);
            printf("  %s: %s\n", id, why);
        }
        printf("(failed samples stay out of `mer run`; `mer run CONFIG --retry-failed` tries them again)\n");
        ledger_state_free(&led);
    }
    if (sum->interrupted && sum->n_pending) {
        log_warn("interrupted: %zu sample(s) left; run the same command again to resume", sum->n_pending);
        return MER_EXIT_INTERRUPTED;
    }
    if (!ok) {
        fprintf(stderr, "mer prep: no sample could be preprocessed\n");
        return MER_EXIT_FAILURE;
    }
    return MER_EXIT_OK;
}

static int run_config(const run_request *rq) {
    const stage_impl *impl = rq->impl;
    const int slice = rq->slice, n_slices = rq->n_slices;
    /* A job-array slice is one process by definition: it does not initialise MPI at all, so it starts
     * under any launcher (srun without a PMI plugin, plain shell). */
    int provided, rank = 0, size = 1;
    MPI_Comm comm = MPI_COMM_NULL;
    if (slice < 0) {
        MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
        comm = MPI_COMM_WORLD;
        MPI_Comm_rank(comm, &rank);
        MPI_Comm_size(comm, &size);
    }
    char host[256] = "?";
    gethostname(host, sizeof host);
    host[sizeof host - 1] = 0;

    mer_err err = {0};
    cfg_doc doc;
    memset(&doc, 0, sizeof doc);
    mer_plan plan;
    memset(&plan, 0, sizeof plan);
    mer_samples samples;
    memset(&samples, 0, sizeof samples);
    void *data = NULL;
    int loaded = 0, have_plan = 0, code = MER_EXIT_FAILURE;
    mer_ledger ledger = {.fd = -1};
    run_hold hold = {.path = ""};
    uint8_t *scope = NULL;

    /* every config error, located (the same on every rank: rank 0 prints them) */
    int cfg_ok = cmd_load_config(&doc, rq->config_path, rq->overrides, rq->n_overrides, rank == 0) == 0;
    int ok = cfg_ok;
    if (ok && rq->output_dir) {
        char *dir = strdup(rq->output_dir);
        if (dir) free(doc.base.output_dir), doc.base.output_dir = dir;
        else ok = mer_errf(&err, "out of memory") == 0;
    }
    if (ok) log_setup(level_of(doc.base.rt_log_level), size > 1 ? rank : -1);
    /* Rank 0 loads first: loading may generate the synthetic dataset, which must happen exactly once. */
    if (ok && rank == 0) ok = (loaded = impl->load(&data, &samples, &doc.base, &err) == 0);
    int ok0 = all_ok(ok, comm);
    if (ok && ok0 && rank != 0) ok = (loaded = impl->load(&data, &samples, &doc.base, &err) == 0);
    if (ok && ok0) ok = (have_plan = plan_build(&plan, &doc, impl, &samples, &err) == 0);
    if (!ok && cfg_ok) fprintf(stderr, "mer %s: %s\n", rq->cmd, err.msg);
    if (!all_ok(ok && ok0, comm)) goto out;

    uint64_t h = plan.hash;
    if (comm != MPI_COMM_NULL) MPI_Bcast(&h, 1, MPI_UINT64_T, 0, comm);
    ok = h == plan.hash;
    if (!ok)
        fprintf(stderr, "mer %s: rank %d built a different plan than rank 0 (different config or dataset?)\n", rq->cmd,
                rank);
    if (!all_ok(ok, comm)) goto out;

    if (rq->dry) {
        if (rank == 0) plan_print(stdout, &plan);
        code = MER_EXIT_OK;
        goto out;
    }
    int threads = thread_budget(&doc.base);
    setup_threads(threads, rank, host);
    /* every rank knows the scope; only rank 0 (the coordinator) uses it */
    if (rq->prep_only) ok = (scope = prep_scope(&plan, rq->limit, &err)) != NULL;
    else if (slice >= 0) ok = (scope = slice_scope(&plan, slice, n_slices, &err)) != NULL;
    char ledger_name[64] = "ledger.tsv", mode[32] = "run";
    if (slice >= 0) {
        snprintf(ledger_name, sizeof ledger_name, "ledger-slice-%d-of-%d.tsv", slice, n_slices);
        snprintf(mode, sizeof mode, "slice %d/%d", slice, n_slices);
    }
    /* one run per folder: refuse before anything in it changes */
    if (rank == 0 && ok) ok = hold_check(plan.output_dir, ledger_name, mode, plan.hash, host, &err) == 0;
    if (rank == 0 && ok) {
        for (int k = 0; ok && k < STAGE_COUNT; k++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/tasks/%s", plan.output_dir, stage_name((stage_kind)k));
            ok = fs_mkdir_p(path, &err) == 0;
        }
        ok = ok && ledger_open(&ledger, plan.output_dir, ledger_name, &err) == 0 &&
             hold_take(&hold, plan.output_dir, ledger_name, mode, plan.hash, host, &err) == 0 &&
             results_write_plan(&plan, &err) == 0;
        if (ok && ledger.torn_bytes)
            log_warn("%s: cut off a torn last line (%ld bytes; a crash or a full disk while writing)", ledger.path,
                     ledger.torn_bytes);
    }
    if (!ok) fprintf(stderr, "mer %s: %s\n", rq->cmd, err.msg);
    else if (rank == 0 && rq->prep_only)
        log_info("prep: the PREP tasks of %zu of %zu samples; cache in %s/tasks/%s", rq->limit && rq->limit < plan.samples.n ? rq->limit : plan.samples.n,
                 plan.samples.n, plan.output_dir, stage_name(STAGE_PREP));
    else if (rank == 0)
        log_info("plan: %zu points x %zu seeds x %zu folds, %zu samples -> %zu tasks; output in %s", plan.n_points,
                 doc.n_seeds, plan.n_folds, plan.samples.n, plan.n_tasks, plan.output_dir);
    if (!all_ok(ok, comm)) goto out;
    if (signals_install() < 0) log_warn("cannot install the SIGTERM/SIGUSR1 handlers: signals will kill the run");

    run_ctx ctx = {.plan = &plan, .data = data, .rank = rank, .size = size, .threads = threads, .host = host};
    farm_options fo = {.retries = doc.base.rt_retries, .fail_fast = rq->fail_fast || doc.base.rt_fail_fast,
                       .retry_failed = rq->retry_failed,
                       .max_walltime = rq->max_wall > 0 ? rq->max_wall : doc.base.rt_max_walltime, .scope = scope};
    farm_summary sum;
    if (farm_run(&sum, &plan, &ctx, rank == 0 ? &ledger : NULL, &fo, comm, &err) < 0) {
        fprintf(stderr, "mer %s: rank %d: %s\n", rq->cmd, rank, err.msg);
        if (comm == MPI_COMM_NULL) {
            code = MER_EXIT_FAILURE;
            goto out;
        }
        MPI_Abort(comm, MER_EXIT_FAILURE);
    }
    if (rank == 0) {
        size_t rows = 0, trains = 0;
        stage_time time;
        log_info("tasks: %zu done (%zu ran now: prep %zu, features %zu, train %zu; cache hits at start: prep %zu, "
                 "features %zu, train %zu), %zu failed, %zu skipped, %zu not finished",
                 sum.n_done, sum.n_ran[0] + sum.n_ran[1] + sum.n_ran[2], sum.n_ran[0], sum.n_ran[1], sum.n_ran[2],
                 sum.n_cached[0], sum.n_cached[1], sum.n_cached[2], sum.n_failed, sum.n_skipped, sum.n_pending);
        if (sum.io_stopped) /* reported when it happened; said again last, where it is seen */
            fprintf(stderr, "mer %s: %s\nmer %s: stopped cleanly (%zu task(s) left): free space, then run the same "
                    "command again to resume\n", rq->cmd, sum.io_err.msg, rq->cmd, sum.n_pending);
        if (rq->prep_only) {
            code = prep_report(&plan, scope, &sum);
        } else if (slice >= 0) {
            code = run_exit_code(&sum);
            log_info("slice %d/%d: %zu of its %zu tasks done; when every slice is done: mer collect %s", slice,
                     n_slices, sum.n_done, sum.n_tasks, plan.output_dir);
        } else if (results_collect(plan.output_dir, &rows, &trains, &time, &err) < 0) {
            fprintf(stderr, "mer run: %s\n", err.msg);
            code = MER_EXIT_FAILURE;
        } else {
            log_info("%s/results.h5: %zu predictions from %zu train tasks", plan.output_dir, rows, trains);
            char line[512], engine[256];
            results_stage_time_format(&time, line, sizeof line);
            nn_describe_threads(engine, sizeof engine, nn_threads_in_use());
            log_info("task-seconds per stage: %s; engine: %s", line, engine);
            code = run_exit_code(&sum);
            if (code == MER_EXIT_INTERRUPTED && !sum.io_stopped)
                log_warn("interrupted: %zu task(s) left; run the same command again to resume", sum.n_pending);
            if (code == MER_EXIT_TASKS_FAILED) log_warn("some tasks failed: mer status %s", plan.output_dir);
        }
        if (sum.io_stopped) code = MER_EXIT_FAILURE;
    } else {
        code = MER_EXIT_OK;
    }
out:
    free(scope);
    hold_release(&hold);
    ledger_close(&ledger);
    if (have_plan) plan_free(&plan);
    else mer_samples_free(&samples);
    if (loaded && impl->unload) impl->unload(data);
    config_doc_free(&doc);
    if (comm != MPI_COMM_NULL) MPI_Finalize();
    return code;
}

int cmd_run(int argc, char **argv) {
    static const struct option opts[] = {{"dry-run", no_argument, 0, 'n'},       {"fail-fast", no_argument, 0, 'f'},
                                         {"retry-failed", no_argument, 0, 'r'},  {"max-walltime", required_argument, 0, 'w'},
                                         {"stages", required_argument, 0, 's'}, {"slice", required_argument, 0, 'S'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    run_request rq = {.cmd = "run", .slice = -1};
    const char *stages = "pipeline";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': rq.dry = 1; break;
        case 'f': rq.fail_fast = 1; break;
        case 'r': rq.retry_failed = 1; break;
        case 'w':
            if (cli_double(optarg, nextafter(0.0, 1.0), INFINITY, &rq.max_wall))
                return usage_error("run", "--max-walltime wants seconds > 0, got '%s'", optarg);
            break;
        case 's': stages = optarg; break;
        case 'S': {
            char extra;
            if (sscanf(optarg, "%d/%d%c", &rq.slice, &rq.n_slices, &extra) != 2 || rq.n_slices < 1 || rq.slice < 0 ||
                rq.slice >= rq.n_slices)
                return usage_error("run", "--slice wants I/N with 0 <= I < N, got '%s'", optarg);
            break;
        }
        case 'h': run_help(); return 0;
        default: return usage_error("run", "unknown option");
        }
    }
    if (optind >= argc) return usage_error("run", "missing CONFIG");
    rq.config_path = argv[optind];
    if (cli_overrides(&rq.overrides, &rq.n_overrides, "run", argc, argv, optind + 1, "key=value", "")) return 2;
    if (!(rq.impl = stage_impl_find(stages))) return usage_error("run", "unknown --stages '%s' (known: pipeline, test)", stages);
    return run_config(&rq);
}

/* ---- mer status ------------------------------------------------------------------------------------- */

static void status_help(void) {
    printf("usage: mer status DIR\n\n"
           "Show the state of the run in DIR (its output.dir): done / running / pending / failed / skipped tasks\n"
           "per stage, the reasons of failures, and an ETA from the estimated costs calibrated by measured\n"
           "wall times and the number of workers of the latest run, and who holds the folder (host, pid, start,\n"
           "last heartbeat) or that a hold is stale. Reads DIR/plan.h5, DIR/ledger*.tsv and their .holder files.\n\n"
           "  -h, --help   this help\n");
}

int cmd_status(int argc, char **argv) {
    static const struct option opts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            status_help();
            return 0;
        }
        return usage_error("status", "unknown option");
    }
    if (optind + 1 != argc) return usage_error("status", "expected one DIR");
    const char *dir = argv[optind];
    mer_err err = {0};
    stored_plan sp;
    if (stored_plan_read(&sp, dir, &err) < 0) {
        fprintf(stderr, "mer status: %s\n", err.msg);
        return 1;
    }
    ledger_state led;
    if (ledger_read(&led, dir, &err) < 0) {
        fprintf(stderr, "mer status: %s\n", err.msg);
        stored_plan_free(&sp);
        return 1;
    }
    /* "running" in the ledger means running only while a run holds the ledger lock; otherwise the run
     * died or was stopped, and those tasks run again on resume */
    int active = ledger_in_use(dir);
    run_holder *holders = NULL;
    size_t n_holders = 0;
    if (hold_list(&holders, &n_holders, dir, &err) < 0) log_warn("%s", err.msg);
    for (size_t i = 0; i < n_holders; i++) active |= holders[i].live;
    enum { DONE, RUNNING, PENDING, FAILED, SKIPPED, NS };
    static const char *const names[NS] = {"done", "running", "pending", "failed", "skipped"};
    size_t count[STAGE_COUNT][NS] = {{0}};
    double est_done = 0, wall_done = 0, est_left = 0;
    for (size_t k = 0; k < sp.n_tasks; k++) {
        int si = STAGE_TRAIN; /* the stored stage name back to its kind (anything unknown counts as train) */
        for (int s = 0; s < STAGE_COUNT; s++)
            if (!strcmp(sp.task_stage[k], stage_name((stage_kind)s))) si = s;
        char path[4096];
        struct stat sb;
        snprintf(path, sizeof path, "%s/tasks/%s/%s.h5", dir, sp.task_stage[k], sp.task_id[k]);
        const ledger_entry *e = ledger_find(&led, sp.task_id[k]);
        int st = stat(path, &sb) == 0                   ? DONE
                 : !e                                   ? PENDING
                 : e->last == LEDGER_START              ? (active ? RUNNING : PENDING)
                 : e->last == LEDGER_FAILED             ? FAILED
                 : e->last == LEDGER_SKIPPED            ? SKIPPED
                                                        : PENDING;
        count[si][st]++;
        if (st == DONE && e && e->last == LEDGER_DONE) {
            est_done += sp.task_est[k];
            wall_done += e->wall_s;
        }
        if (st == PENDING || st == RUNNING) est_left += sp.task_est[k];
    }
    printf("run %s (%s): %zu tasks; %zu points x %zu seeds, %zu folds, %zu samples\n", dir,
           active ? "running now" : "not running", sp.n_tasks, sp.n_points,
           sp.n_variants / (sp.n_points ? sp.n_points : 1), sp.n_folds, sp.n_samples);
    for (size_t i = 0; i < n_holders; i++) {
        char desc[512];
        hold_describe(&holders[i], desc, sizeof desc);
        printf("%s %s\n", holders[i].live ? "held by" : "stale hold (taken over by the next run):", desc);
    }
    free(holders);
    printf("%-10s", "stage");
    for (int s = 0; s < NS; s++) printf(" %8s", names[s]);
    printf("\n");
    for (int i = 0; i < STAGE_COUNT; i++) {
        printf("%-10s", stage_name((stage_kind)i));
        for (int s = 0; s < NS; s++) printf(" %8zu", count[i][s]);
        printf("\n");
    }
    int shown = 0;
    for (size_t i = 0; i < led.n; i++) {
        const ledger_entry *e = &led.entries[i];
        if (e->last != LEDGER_FAILED && e->last != LEDGER_RETRY && e->last != LEDGER_SKIPPED) continue;
        if (!shown++) printf("\nfailures:\n");
        printf("  %-8s %s  %s after %d attempt(s) on %s: %s\n", e->stage, e->id,
               e->last == LEDGER_RETRY ? "failing (will retry)" : ledger_event_name(e->last), e->attempts, e->host,
               e->error ? e->error : "");
    }
    size_t left = 0;
    for (int i = 0; i < STAGE_COUNT; i++) left += count[i][PENDING] + count[i][RUNNING];
    if (left == 0) {
        printf("\nnothing left to run%s\n", shown ? " (failed tasks: mer run ... --retry-failed)" : "");
    } else {
        int workers = led.last_workers > 0 ? led.last_workers : 1;
        double scale = est_done > 0 ? wall_done / est_done : 1.0;
        double eta = est_left * scale / workers;
        printf("\n%zu task(s) left; ETA about %.0f s with %d worker(s)%s\n", left, eta, workers,
               est_done > 0 ? " (estimates calibrated by measured wall times)" : " (uncalibrated estimates)");
    }
    if (led.n_bad_lines) printf("ledger: %zu incomplete line(s) ignored\n", led.n_bad_lines);
    ledger_state_free(&led);
    stored_plan_free(&sp);
    return 0;
}

/* ---- mer collect ------------------------------------------------------------------------------------ */

static void collect_help(void) {
    printf("usage: mer collect DIR\n\n"
           "Rebuild DIR/results.h5 from DIR/plan.h5, DIR/ledger.tsv and the finished task files in DIR/tasks/\n"
           "(predictions, pooled metrics per point and seed, task table, features, weights). Safe to run while a\n"
           "run is going on: results.h5 is replaced atomically. A task file that does not match the checksum\n"
           "the ledger recorded for it is not used: collect fails naming it (`mer run` recomputes it).\n\n"
           "  -h, --help   this help\n");
}

int cmd_collect(int argc, char **argv) {
    static const struct option opts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            collect_help();
            return 0;
        }
        return usage_error("collect", "unknown option");
    }
    if (optind + 1 != argc) return usage_error("collect", "expected one DIR");
    mer_err err = {0};
    size_t rows = 0, trains = 0;
    if (results_collect(argv[optind], &rows, &trains, NULL, &err) < 0) {
        fprintf(stderr, "mer collect: %s\n", err.msg);
        return 1;
    }
    printf("%s/results.h5: %zu predictions from %zu train tasks\n", argv[optind], rows, trains);
    return 0;
}

/* ---- mer prep --------------------------------------------------------------------------------------- */

static void prep_help(void) {
    printf("usage: mer prep CONFIG [KEY=VALUE ...] [--out DIR] [--limit N]\n\n"
           "Face registration for every sample of the dataset in CONFIG (dataset.*): the PREP stage of\n"
           "`mer run CONFIG`, run on its own. Detect the face and its 68 landmarks on the onset frame\n"
           "(preprocess.cascade, preprocess.landmarks), compute ONE similarity transform per clip (eye template:\n"
           "preprocess.size, eye_y, eye_dist) and write the aligned onset and apex frames (grey when\n"
           "preprocess.grey), the transform, the landmarks and the face box to the run's task cache:\n"
           "  OUTPUT_DIR/tasks/prep/<task id>.h5   one file per sample: /index, /prep/0/... (layout: core/prep.h)\n"
           "The task id hashes the dataset.* and preprocess.* config and the sample, so different preprocessing\n"
           "parameters never share a file; with a sweep over preprocess.* keys every distinct setting is\n"
           "prepared. `mer run CONFIG` then finds these files as cache hits (`mer run CONFIG --dry-run` marks\n"
           "them), as does a later mer prep. Failed samples (no face, unreadable file, missing frame) are\n"
           "reported with the reason and recorded in OUTPUT_DIR/ledger.tsv (`mer status OUTPUT_DIR`); they stay\n"
           "out of the run (transient errors such as I/O are retried runtime.retries times first) until\n"
           "`mer run CONFIG --retry-failed` tries them again.\n"
           "Under mpirun the samples are shared among the ranks.\n\n"
           "Options:\n"
           "  KEY=VALUE   config override (as in mer config)\n"
           "  --out DIR   the run folder whose cache is filled (instead of output.dir)\n"
           "  --limit N   only the first N samples (a quick look)\n"
           "  -h, --help  this help\n\n"
           "Exit status: 0 when at least one sample is preprocessed (or cached), 1 when none is or on a config,\n"
           "dataset or cache error, 2 usage error, 3 interrupted (run the same command again to resume).\n");
}

int cmd_prep(int argc, char **argv) {
    enum { OPT_OUT = 1, OPT_LIMIT };
    static const struct option opts[] = {{"out", required_argument, NULL, OPT_OUT},
                                         {"limit", required_argument, NULL, OPT_LIMIT},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    run_request rq = {.cmd = "prep", .slice = -1, .prep_only = 1, .impl = stage_impl_find("pipeline")};
    long limit;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_OUT: rq.output_dir = optarg; break;
        case OPT_LIMIT:
            if (cli_long(optarg, 1, LONG_MAX, &limit)) return usage_error("prep", "--limit needs a positive integer, got '%s'", optarg);
            rq.limit = (size_t)limit;
            break;
        case 'h': prep_help(); return 0;
        default: return usage_error("prep", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) return usage_error("prep", "missing the config file");
    rq.config_path = argv[optind];
    if (cli_overrides(&rq.overrides, &rq.n_overrides, "prep", argc, argv, optind + 1, "KEY=VALUE", "")) return 2;
    return run_config(&rq);
}
