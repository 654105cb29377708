/* One run per output folder (runner/hold.h). */
#include "runner/hold.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "io/base/log.h"

static double wall_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void hold_describe(const run_holder *h, char *buf, size_t n) {
    char when[64] = "?";
    time_t t = (time_t)h->started;
    struct tm tm;
    if (gmtime_r(&t, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    snprintf(buf, n, "host %s, pid %ld, started %s (%s%s%s), last heartbeat %.0f s ago", h->host, h->pid, when,
             h->mode, strcmp(h->mode, "run") ? ", " : "", strcmp(h->mode, "run") ? h->ledger : "",
             wall_now() - h->heartbeat);
}

/* 1 when some process holds the lock of ledger DIR/NAME (ledger_open's flock). */
static int ledger_locked(const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    int busy = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd); /* releases the shared lock if we got it */
    return busy;
}

/* Parse DIR/FILE (FILE = NAME.holder); 0 on success. */
static int read_holder(run_holder *h, const char *dir, const char *file, const char *host) {
    memset(h, 0, sizeof *h);
    size_t len = strlen(file) - strlen(".holder");
    if (len >= sizeof h->ledger) return -1;
    memcpy(h->ledger, file, len);
    h->ledger[len] = 0;
    char path[4096], line[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char *got = fgets(line, sizeof line, f);
    fclose(f);
    if (!got) return -1;
    if (sscanf(line, "%63[^\t]\t%ld\t%lf\t%lf\t%31[^\t]\t%16s", h->host, &h->pid, &h->started, &h->heartbeat, h->mode,
               h->plan) != 6)
        return -1;
    if (ledger_locked(dir, h->ledger)) h->live = 1;
    else if (strcmp(h->host, host)) h->live = wall_now() - h->heartbeat < HOLD_STALE_S;
    return 0;
}

static int is_holder_name(const char *name) {
    size_t n = strlen(name);
    return n > 7 && !strcmp(name + n - 7, ".holder") && !strncmp(name, "ledger", 6);
}

static int cmp_holder(const void *a, const void *b) {
    return strcmp(((const run_holder *)a)->ledger, ((const run_holder *)b)->ledger);
}

static int list_as(run_holder **out, size_t *n, const char *dir, const char *host, mer_err *err) {
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? 0 : mer_errf(err, "%s: cannot list: %s", dir, strerror(errno));
    size_t cap = 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) != NULL) {
        if (!is_holder_name(de->d_name)) continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 4;
            run_holder *nh = realloc(*out, cap * sizeof *nh);
            if (!nh) {
                rc = mer_errf(err, "out of memory");
                break;
            }
            *out = nh;
        }
        if (read_holder(&(*out)[*n], dir, de->d_name, host) == 0) (*n)++;
    }
    closedir(d);
    if (rc) {
        free(*out);
        *out = NULL;
        *n = 0;
        return -1;
    }
    if (*n) qsort(*out, *n, sizeof **out, cmp_holder);
    return 0;
}

static void this_host(char *buf, size_t n) {
    if (gethostname(buf, n) != 0) snprintf(buf, n, "?");
    buf[n - 1] = 0;
}

int hold_list(run_holder **out, size_t *n, const char *dir, mer_err *err) {
    char host[64];
    this_host(host, sizeof host);
    return list_as(out, n, dir, host, err);
}

/* Slices of one job array: "slice I/N" with the same N and the same plan. */
static int same_array(const char *mode_a, const char *plan_a, const char *mode_b, const char *plan_b) {
    int ia, na, ib, nb;
    return sscanf(mode_a, "slice %d/%d", &ia, &na) == 2 && sscanf(mode_b, "slice %d/%d", &ib, &nb) == 2 && na == nb &&
           ia != ib && !strcmp(plan_a, plan_b);
}

int hold_check(const char *dir, const char *ledger_name, const char *mode, uint64_t plan, const char *host,
               mer_err *err) {
    char plan_hex[17];
    snprintf(plan_hex, sizeof plan_hex, "%016" PRIx64, plan);
    run_holder *hs;
    size_t n;
    char h64[64];
    snprintf(h64, sizeof h64, "%s", host);
    /* A run locks its ledger a moment before it writes its holder file: a slice of the same array starting
     * at the same time looks like an unknown run until then, so that case is looked at again for up to 3 s. */
    for (int look = 0;; look++) {
        if (list_as(&hs, &n, dir, h64, err) < 0) return -1;
        int rc = 0, starting = 0;
        for (size_t i = 0; i < n && !rc; i++) {
            char desc[512];
            hold_describe(&hs[i], desc, sizeof desc);
            if (!hs[i].live) {
                log_warn("%s: taking over from a run that is gone (%s)", dir, desc);
                char path[4096];
                snprintf(path, sizeof path, "%s/%s.holder", dir, hs[i].ledger);
                unlink(path);
                continue;
            }
            if (strcmp(hs[i].ledger, ledger_name) && same_array(mode, plan_hex, hs[i].mode, hs[i].plan)) continue;
            rc = mer_errf(err,
                          "%s: another mer run is using this output folder: %s; wait for it to end, stop it, or use "
                          "another output.dir%s",
                          dir, desc,
                          strcmp(hs[i].host, host) ? " (a run on another host counts as gone once its heartbeat is "
                                                     "older than 3 minutes)"
                                                   : "");
        }
        /* a locked ledger without a holder file (the run is starting up right now) */
        DIR *d = rc ? NULL : opendir(dir);
        struct dirent *de;
        while (d && !rc && (de = readdir(d)) != NULL) {
            size_t len = strlen(de->d_name);
            if (strncmp(de->d_name, "ledger", 6) || len < 10 || strcmp(de->d_name + len - 4, ".tsv")) continue;
            int known = 0;
            for (size_t i = 0; i < n; i++) known |= !strcmp(hs[i].ledger, de->d_name);
            if (!known && ledger_locked(dir, de->d_name))
                starting = 1, rc = mer_errf(err, "%s: another mer run is using this output folder (it holds %s; "
                                                 "starting up?)", dir, de->d_name);
        }
        if (d) closedir(d);
        free(hs);
        if (!starting || look == 30) return rc;
        struct timespec ts = {0, 100000000L};
        nanosleep(&ts, NULL);
    }
}

static int write_holder(const run_hold *h) {
    char tmp[4200], line[512];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", h->path, h->me.pid);
    int n = snprintf(line, sizeof line, "%s\t%ld\t%.3f\t%.3f\t%s\t%s\n", h->me.host, h->me.pid, h->me.started,
                     h->me.heartbeat, h->me.mode, h->me.plan);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    int ok = write(fd, line, (size_t)n) == n;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, h->path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static void *heartbeat(void *arg) {
    run_hold *h = arg;
    pthread_mutex_lock(&h->mu);
    while (!h->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += (time_t)HOLD_BEAT_S;
        pthread_cond_timedwait(&h->cv, &h->mu, &until);
        if (h->stop) break;
        h->me.heartbeat = wall_now();
        write_holder(h); /* a missed beat (full disk) only ages the hold */
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

int hold_take(run_hold *h, const char *dir, const char *ledger_name, const char *mode, uint64_t plan,
              const char *host, mer_err *err) {
    memset(h, 0, sizeof *h);
    snprintf(h->path, sizeof h->path, "%s/%s.holder", dir, ledger_name);
    snprintf(h->me.ledger, sizeof h->me.ledger, "%s", ledger_name);
    snprintf(h->me.host, sizeof h->me.host, "%s", host);
    snprintf(h->me.mode, sizeof h->me.mode, "%s", mode);
    snprintf(h->me.plan, sizeof h->me.plan, "%016" PRIx64, plan);
    h->me.pid = (long)getpid();
    h->me.started = h->me.heartbeat = wall_now();
    if (write_holder(h) < 0) return mer_err_errno(err, errno, "%s: cannot write: %s", h->path, strerror(errno));
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    h->running = pthread_create(&h->beat, NULL, heartbeat, h) == 0;
    if (!h->running) log_warn("%s: no heartbeat thread: a run on another host may take this hold after %.0f s",
                              h->path, HOLD_STALE_S);
    return 0;
}

void hold_release(run_hold *h) {
    if (!h->path[0]) return;
    if (h->running) {
        pthread_mutex_lock(&h->mu);
        h->stop = 1;
        pthread_cond_signal(&h->cv);
        pthread_mutex_unlock(&h->mu);
        pthread_join(h->beat, NULL);
    }
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    unlink(h->path);
    h->path[0] = 0;
}
