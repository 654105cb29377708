/* The ledger: append + replay (last event wins, attempts, sanitised errors), a torn last line is ignored
 * and cut off by the next writer, done events carry checksums, a second writer is refused. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner/ledger.h"
#include "tests/check.h"

int main(void) {
    char dir[] = "/tmp/mer-test-ledger-XXXXXX";
    if (!mkdtemp(dir)) SKIP_ALL("cannot create a temporary directory");
    mer_err err = {0};
    ledger_state st;
    CHECK(ledger_read(&st, dir, &err) == 0 && st.n == 0, "a missing ledger is empty");

    mer_ledger l;
    CHECK(ledger_open(&l, dir, NULL, &err) == 0, "open: %s", err.msg);
    mer_ledger l2;
    CHECK(ledger_open(&l2, dir, NULL, &err) < 0 && strstr(err.msg, "another mer run"), "second writer refused: %s", err.msg);

    const char *a = "00000000000000aa", *b = "00000000000000bb", *c = "00000000000000cc";
    int rc = 0;
    rc |= ledger_append(&l, "-", "-", LEDGER_RUN, 0, "h0", 3, 0, NULL, &err);
    rc |= ledger_append(&l, a, "prep", LEDGER_START, 1, "h1", 1, 0, NULL, &err);
    rc |= ledger_append(&l, a, "prep", LEDGER_RETRY, 1, "h1", 1, 0.5, "bad\tframe\nline 2", &err);
    rc |= ledger_append(&l, a, "prep", LEDGER_START, 2, "h2", 2, 0, NULL, &err);
    rc |= ledger_append(&l, a, "prep", LEDGER_DONE, 2, "h2", 2, 1.25, NULL, &err);
    rc |= ledger_append(&l, b, "train", LEDGER_START, 1, "h1", 1, 0, NULL, &err);
    rc |= ledger_append(&l, c, "features", LEDGER_START, 1, "h1", 1, 0, NULL, &err);
    rc |= ledger_append(&l, c, "features", LEDGER_FAILED, 1, "h1", 1, 0.1, "no face found", &err);
    CHECK(rc == 0, "appends: %s", err.msg);
    ledger_close(&l);
    /* a crash in the middle of a write: a line without its newline */
    char path[300];
    snprintf(path, sizeof path, "%s/ledger.tsv", dir);
    int fd = open(path, O_WRONLY | O_APPEND);
    CHECK(fd >= 0 && write(fd, "1.0\t00000000000000bb\ttrain\tdo", 29) == 29, "torn write");
    if (fd >= 0) close(fd);

    CHECK(ledger_read(&st, dir, &err) == 0, "read: %s", err.msg);
    CHECK(st.n == 3 && st.n_runs == 1 && st.last_workers == 3 && st.n_bad_lines == 1, "3 tasks, 1 run, 1 torn line");
    const ledger_entry *ea = ledger_find(&st, a), *eb = ledger_find(&st, b), *ec = ledger_find(&st, c);
    CHECK(ea && ea->last == LEDGER_DONE && ea->attempts == 2 && !strcmp(ea->host, "h2") && ea->wall_s == 1.25 &&
              ea->error == NULL,
          "a: done on its second attempt, error cleared");
    CHECK(eb && eb->last == LEDGER_START && eb->attempts == 1, "b: started, never finished (torn line ignored)");
    CHECK(ec && ec->last == LEDGER_FAILED && ec->error && !strcmp(ec->error, "no face found"), "c: failed with reason");
    CHECK(ledger_find(&st, "0000000000000000") == NULL, "unknown id");
    ledger_state_free(&st);

    /* the retry's message was sanitised to one field */
    FILE *f = fopen(path, "r");
    char line[512];
    int found = 0;
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, "\tretry\t")) found = strstr(line, "bad frame line 2\n") != NULL;
    if (f) fclose(f);
    CHECK(found, "tabs and newlines in an error become spaces");

    /* the next writer cuts the torn line off, so its first event is not glued to the fragment; a done event
     * carries the task file's checksum */
    mer_ledger lr;
    CHECK(ledger_open(&lr, dir, NULL, &err) == 0 && lr.torn_bytes == 29, "torn line cut on open (%ld bytes): %s",
          lr.torn_bytes, err.msg);
    char sum[32];
    ledger_checksum_field(sum, sizeof sum, 0x0123456789abcdefULL);
    CHECK(ledger_append(&lr, b, "train", LEDGER_DONE, 1, "h1", 1, 2.0, sum, &err) == 0, "append: %s", err.msg);
    ledger_close(&lr);
    CHECK(ledger_read(&st, dir, &err) == 0 && st.n_bad_lines == 0, "no bad line after the repair");
    eb = ledger_find(&st, b);
    CHECK(eb && eb->last == LEDGER_DONE && eb->checksum == 0x0123456789abcdefULL && eb->error == NULL,
          "b: done with its checksum");
    ledger_state_free(&st);

    /* a job-array slice's ledger merges in by event time: a newer event wins, an older one does not */
    usleep(2000); /* events are ordered by their microsecond timestamps */
    /* (event times written by hand: CLOCK_REALTIME may step back on a loaded VM, which made a test that
     * relied on "appended later = newer" flaky) */
    mer_ledger l3;
    CHECK(ledger_open(&l3, dir, "ledger-slice-1-of-2.tsv", &err) == 0, "slice ledger: %s", err.msg);
    ledger_close(&l3);
    char new_line[128], path_new[300];
    snprintf(new_line, sizeof new_line, "9999999999.000000\t%s\tfeatures\tdone\t2\th3\t0\t0.200\t\n", c);
    snprintf(path_new, sizeof path_new, "%s/ledger-slice-1-of-2.tsv", dir);
    FILE *fn = fopen(path_new, "a");
    CHECK(fn && fputs(new_line, fn) >= 0, "newer slice event");
    if (fn) fclose(fn);
    char old_line[] = "1.0\t00000000000000aa\tprep\tfailed\t9\th9\t0\t0\tancient\n";
    char path3[300];
    snprintf(path3, sizeof path3, "%s/ledger-slice-0-of-2.tsv", dir);
    FILE *f3 = fopen(path3, "w");
    CHECK(f3 && fputs(old_line, f3) >= 0, "old slice ledger");
    if (f3) fclose(f3);
    CHECK(ledger_read(&st, dir, &err) == 0, "merged read: %s", err.msg);
    ec = ledger_find(&st, c);
    ea = ledger_find(&st, a);
    CHECK(ec && ec->last == LEDGER_DONE && !strcmp(ec->host, "h3"), "c: the slice's newer done wins");
    CHECK(ea && ea->last == LEDGER_DONE && ea->attempts == 2, "a: the older event of another file is ignored");
    ledger_state_free(&st);
    snprintf(path3, sizeof path3, "%s/ledger-slice-1-of-2.tsv", dir);
    unlink(path3);
    snprintf(path3, sizeof path3, "%s/ledger-slice-0-of-2.tsv", dir);
    unlink(path3);
    unlink(path);
    rmdir(dir);
    return check_summary();
}
