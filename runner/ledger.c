/* Durable append-only ledger (runner/ledger.h). */
#include "runner/ledger.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runner/stage.h"

static const char *const EVENT_NAMES[LEDGER_N_EVENTS] = {"start",  "done",    "cached",      "retry",
                                                         "failed", "skipped", "interrupted", "run"};

const char *ledger_event_name(ledger_event_kind e) {
    return e >= 0 && e < LEDGER_N_EVENTS ? EVENT_NAMES[e] : "?";
}

/* Cut a torn last line (a crash or a full disk in the middle of a write) back to the last newline, so the
 * next event starts a line of its own instead of being glued to the fragment. */
static int ledger_repair(mer_ledger *l, mer_err *err) {
    l->torn_bytes = 0;
    struct stat sb;
    if (fstat(l->fd, &sb) != 0) return mer_err_errno(err, errno, "%s: %s", l->path, strerror(errno));
    off_t end = sb.st_size, keep = end;
    char buf[4096];
    while (keep > 0) {
        off_t at = keep > (off_t)sizeof buf ? keep - (off_t)sizeof buf : 0;
        ssize_t n = pread(l->fd, buf, (size_t)(keep - at), at);
        if (n < 0) return mer_err_errno(err, errno, "%s: cannot read the ledger: %s", l->path, strerror(errno));
        ssize_t i = n;
        while (i > 0 && buf[i - 1] != '\n') i--;
        if (i > 0) {
            keep = at + i;
            break;
        }
        keep = at;
    }
    if (keep == end) return 0;
    if (ftruncate(l->fd, keep) != 0 || fsync(l->fd) != 0)
        return mer_err_errno(err, errno, "%s: cannot cut the torn last line: %s", l->path, strerror(errno));
    l->torn_bytes = (long)(end - keep);
    return 0;
}

int ledger_open(mer_ledger *l, const char *dir, const char *name, mer_err *err) {
    snprintf(l->path, sizeof l->path, "%s/%s", dir, name ? name : "ledger.tsv");
    l->fd = open(l->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644); /* read: ledger_repair */
    if (l->fd < 0) return mer_errf(err, "%s: cannot open the ledger: %s", l->path, strerror(errno));
    /* `mer status` and other runs probe the lock for a moment with LOCK_SH: a short retry rides that out */
    int locked = 0;
    for (int i = 0; i < 50 && !(locked = flock(l->fd, LOCK_EX | LOCK_NB) == 0) && errno == EWOULDBLOCK; i++)
        nanosleep(&(struct timespec){0, 10000000L}, NULL);
    if (!locked) {
        int e = errno;
        close(l->fd);
        l->fd = -1;
        if (e == EWOULDBLOCK)
            return mer_errf(err, "%s: another mer run is using this output directory (ledger locked)", l->path);
        return mer_errf(err, "%s: cannot lock the ledger: %s", l->path, strerror(e));
    }
    return ledger_repair(l, err);
}

void ledger_close(mer_ledger *l) {
    if (l->fd >= 0) close(l->fd);
    l->fd = -1;
}

static void clean_field(char *dst, size_t n, const char *src) {
    size_t j = 0;
    for (size_t i = 0; src && src[i] && j + 1 < n; i++) dst[j++] = (src[i] == '\t' || src[i] == '\n' || src[i] == '\r') ? ' ' : src[i];
    dst[j] = 0;
}

int ledger_append(mer_ledger *l, const char *task_id, const char *stage, ledger_event_kind ev, int attempt,
                  const char *host, int rank, double wall_s, const char *error, mer_err *err) {
    char msg[1024], h[64], line[1400];
    clean_field(msg, sizeof msg, error ? error : "");
    clean_field(h, sizeof h, host ? host : "");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int n = snprintf(line, sizeof line, "%.6f\t%s\t%s\t%s\t%d\t%s\t%d\t%.3f\t%s\n",
                     (double)ts.tv_sec + ts.tv_nsec * 1e-9, task_id, stage, ledger_event_name(ev), attempt,
                     h[0] ? h : "-", rank, wall_s, msg);
    if (n < 0 || (size_t)n >= sizeof line) n = (int)sizeof line - 1, line[n - 1] = '\n';
    struct stat sb;
    off_t before = fstat(l->fd, &sb) == 0 ? sb.st_size : -1;
    errno = 0;
    ssize_t w = write(l->fd, line, (size_t)n);
    if (w != n) {
        int e = w < 0 ? errno : ENOSPC; /* a short write of a regular file: the space ran out */
        if (before >= 0 && ftruncate(l->fd, before) == 0) fsync(l->fd); /* no torn line left behind */
        return mer_err_errno(err, e, "%s: cannot append to the ledger: %s", l->path, strerror(e));
    }
    if (fsync(l->fd) != 0) {
        int e = errno;
        if (before >= 0 && ftruncate(l->fd, before) == 0) fsync(l->fd);
        return mer_err_errno(err, e, "%s: cannot sync the ledger: %s", l->path, strerror(e));
    }
    return 0;
}

void ledger_state_free(ledger_state *st) {
    for (size_t i = 0; i < st->n; i++) free(st->entries[i].error);
    free(st->entries);
    memset(st, 0, sizeof *st);
}

static int cmp_entry(const void *a, const void *b) {
    return strcmp(((const ledger_entry *)a)->id, ((const ledger_entry *)b)->id);
}

const ledger_entry *ledger_find(const ledger_state *st, const char *id) {
    ledger_entry key;
    snprintf(key.id, sizeof key.id, "%s", id);
    return st->n ? bsearch(&key, st->entries, st->n, sizeof key, cmp_entry) : NULL;
}

static size_t fnv_slot(const char *id, size_t cap) {
    return (size_t)fnv1a64(id, strlen(id), FNV1A64_INIT) & (cap - 1);
}

/* Split a line in place at tabs; returns the number of fields. */
static int split(char *line, char **f, int max) {
    int n = 0;
    f[n++] = line;
    for (char *p = line; *p && n < max; p++)
        if (*p == '\t') {
            *p = 0;
            f[n++] = p + 1;
        }
    return n;
}

static int parse_event(const char *s) {
    for (int i = 0; i < LEDGER_N_EVENTS; i++)
        if (!strcmp(s, EVENT_NAMES[i])) return i;
    return -1;
}

/* Replay one ledger file into st; *hidx / *hcap / *cap: the id index and entry capacity across files. */
static int replay_file(ledger_state *st, const char *path, size_t **hidx_p, size_t *hcap_p, size_t *cap_p, mer_err *err) {
    FILE *f = fopen(path, "r");
    if (!f) return mer_errf(err, "%s: cannot read the ledger: %s", path, strerror(errno));
    char *line = NULL;
    size_t lcap = 0, *hidx = *hidx_p, hcap = *hcap_p, cap = *cap_p;
    ssize_t len;
    int rc = 0;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        if (len == 0 || line[len - 1] != '\n') {
            st->n_bad_lines++;
            continue;
        }
        line[len - 1] = 0;
        char *fl[9];
        int nf = split(line, fl, 9);
        int ev = nf == 9 ? parse_event(fl[3]) : -1;
        if (ev < 0 || strlen(fl[1]) > 16) {
            st->n_bad_lines++;
            continue;
        }
        double t = strtod(fl[0], NULL);
        if (ev == LEDGER_RUN) {
            st->n_runs++;
            if (t >= st->last_run_start) {
                st->last_workers = atoi(fl[6]);
                st->last_run_start = t;
            }
            continue;
        }
        if ((st->n + 1) * 2 > hcap) {
            size_t ncap = hcap ? hcap * 2 : 1024;
            size_t *n_idx = calloc(ncap, sizeof *n_idx);
            if (!n_idx) {
                rc = mer_errf(err, "%s: out of memory", path);
                break;
            }
            for (size_t i = 0; i < st->n; i++) {
                size_t j = fnv_slot(st->entries[i].id, ncap);
                while (n_idx[j]) j = (j + 1) & (ncap - 1);
                n_idx[j] = i + 1;
            }
            free(hidx);
            hidx = n_idx;
            hcap = ncap;
        }
        size_t j = fnv_slot(fl[1], hcap);
        while (hidx[j] && strcmp(st->entries[hidx[j] - 1].id, fl[1])) j = (j + 1) & (hcap - 1);
        ledger_entry *e;
        if (hidx[j]) {
            e = &st->entries[hidx[j] - 1];
            if (t < e->t_last) continue; /* an older event from another slice's ledger */
        } else {
            if (st->n == cap) {
                size_t ncap = cap ? cap * 2 : 256;
                ledger_entry *ne = realloc(st->entries, ncap * sizeof *ne);
                if (!ne) {
                    rc = mer_errf(err, "%s: out of memory", path);
                    break;
                }
                st->entries = ne;
                cap = ncap;
            }
            e = &st->entries[st->n];
            memset(e, 0, sizeof *e);
            snprintf(e->id, sizeof e->id, "%s", fl[1]);
            hidx[j] = ++st->n;
        }
        e->t_last = t;
        snprintf(e->stage, sizeof e->stage, "%s", fl[2]);
        e->last = (ledger_event_kind)ev;
        e->attempts = atoi(fl[4]);
        snprintf(e->host, sizeof e->host, "%s", fl[5]);
        e->rank = atoi(fl[6]);
        if (ev == LEDGER_START) { /* a new attempt writes a new file */
            e->started = t;
            e->checksum = 0;
            e->alone = !strcmp(fl[8], LEDGER_ALONE);
        }
        if ((ev == LEDGER_DONE || ev == LEDGER_CACHED) && !strncmp(fl[8], "fnv1a64:", 8))
            e->checksum = strtoull(fl[8] + 8, NULL, 16);
        if (ev == LEDGER_DONE || ev == LEDGER_RETRY || ev == LEDGER_FAILED) e->wall_s = strtod(fl[7], NULL);
        if (ev == LEDGER_RETRY || ev == LEDGER_FAILED || ev == LEDGER_SKIPPED) {
            free(e->error);
            e->error = strdup(fl[8]);
        } else if (ev == LEDGER_DONE || ev == LEDGER_CACHED) {
            free(e->error);
            e->error = NULL;
        }
    }
    free(line);
    fclose(f);
    *hidx_p = hidx;
    *hcap_p = hcap;
    *cap_p = cap;
    return rc;
}

static int is_ledger_name(const char *name) {
    size_t n = strlen(name);
    return !strncmp(name, "ledger", 6) && n >= 10 && !strcmp(name + n - 4, ".tsv");
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int ledger_read(ledger_state *st, const char *dir, mer_err *err) {
    memset(st, 0, sizeof *st);
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) return 0;
        return mer_errf(err, "%s: cannot list the run directory: %s", dir, strerror(errno));
    }
    char **names = NULL;
    size_t n_names = 0, cap_names = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!is_ledger_name(de->d_name)) continue;
        if (n_names == cap_names) {
            cap_names = cap_names ? cap_names * 2 : 8;
            char **nn = realloc(names, cap_names * sizeof *nn);
            if (!nn) {
                rc = mer_errf(err, "out of memory");
                break;
            }
            names = nn;
        }
        if (!(names[n_names] = strdup(de->d_name))) {
            rc = mer_errf(err, "out of memory");
            break;
        }
        n_names++;
    }
    closedir(d);
    if (n_names) qsort(names, n_names, sizeof *names, cmp_str);
    size_t *hidx = NULL, hcap = 0, cap = 0;
    for (size_t i = 0; !rc && i < n_names; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        rc = replay_file(st, path, &hidx, &hcap, &cap, err);
    }
    for (size_t i = 0; i < n_names; i++) free(names[i]);
    free(names);
    free(hidx);
    if (rc < 0) {
        ledger_state_free(st);
        return -1;
    }
    if (st->n) qsort(st->entries, st->n, sizeof *st->entries, cmp_entry);
    return 0;
}

void ledger_checksum_field(char *buf, size_t n, uint64_t sum) {
    snprintf(buf, n, "fnv1a64:%016llx", (unsigned long long)sum);
}

int ledger_in_use(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int busy = 0;
    struct dirent *de;
    while (!busy && (de = readdir(d)) != NULL) {
        if (!is_ledger_name(de->d_name)) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        if (flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) busy = 1;
        close(fd); /* releases the shared lock if we got it */
    }
    closedir(d);
    return busy;
}
