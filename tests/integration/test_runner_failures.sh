#!/bin/bash
# A corrupt sample (a permanent error): its prep task is attempted once, not retried (runtime.retries = 1),
# and marked failed with its reason; the rest of the run completes without that sample (exit code 4), and
# status/results show why. A flaky sample (a transient error) succeeds on its retry; one that keeps failing
# transiently is attempted runtime.retries + 1 times. --fail-fast stops handing out work. --retry-failed
# re-runs the failed task and everything that ran without its samples.
source "$MER_SRC/tests/integration/runner_common.sh"
reference
BAD=s02/c1_0

# 1. corrupt sample, 2 ranks
D=$T/corrupt
rc=0; MER_TEST_CORRUPT=$BAD run_mer "$D" 2 || rc=$?
[ "$rc" = 4 ] || fail "corrupt sample: exit code $rc, want 4 (finished with failed tasks)"
[ "$(awk -F'\t' '$4=="retry"' "$D/ledger.tsv" | wc -l)" = 0 ] || fail "a permanent failure was retried"
awk -F'\t' '$3=="prep" && $4=="failed" && $5==1' "$D/ledger.tsv" | grep -q "sample $BAD: cannot decode" ||
    fail "not failed after its first attempt"
bad_task=$(awk -F'\t' '$3=="prep" && $4=="failed" {print $2}' "$D/ledger.tsv")
[ "$(awk -F'\t' -v t="$bad_task" '$2==t && $4=="start"' "$D/ledger.tsv" | wc -l)" = 1 ] ||
    fail "the corrupt sample's task started more than once"
"$MER_BIN" status "$D" >"$T/status.txt"
grep -Eq '^prep +23 +0 +0 +1 +0' "$T/status.txt" || { cat "$T/status.txt"; fail "status counts"; }
grep -q "failed after 1 attempt(s) on .*sample $BAD: cannot decode" "$T/status.txt" || { cat "$T/status.txt"; fail "status reason"; }
check_h5 "$D/results.h5"
rows=$(h5dump -H -d /predictions/pred "$D/results.h5" | grep -o 'SIMPLE { ( [0-9]* )' | grep -o '[0-9]*')
[ "$rows" = 92 ] || fail "want 92 prediction rows (the bad sample missing in 4 variants), got $rows"
h5dump -d /predictions/sample "$D/results.h5" | grep -q "\"$BAD\"" && fail "the corrupt sample has predictions"
h5dump -d /tasks/state "$D/results.h5" | grep -q '"failed"' || fail "results /tasks/state has no failed task"
h5dump -d /tasks/error "$D/results.h5" | grep -q "cannot decode" || fail "results /tasks/error lacks the reason"
# 2. re-running skips the failed task (no new attempt) ...
rc=0; MER_TEST_CORRUPT=$BAD run_mer "$D" 1 || rc=$?
[ "$rc" = 4 ] || fail "re-run: exit code $rc"
[ "$(awk -F'\t' '$3=="prep" && $4=="start"' "$D/ledger.tsv" | wc -l)" = 24 ] || fail "the failed task was attempted again"
# ... unless --retry-failed: with the sample fixed, the task and everything downstream of it run again
run_mer "$D" 1 --retry-failed || fail "--retry-failed exited with $?"
same_as_reference "$D"

# 3. a flaky sample: fails once, succeeds on its retry
D=$T/flaky
MER_TEST_FLAKY=s03/c0_1 run_mer "$D" 2 || fail "flaky sample: exit code $?"
[ "$(awk -F'\t' '$4=="retry"' "$D/ledger.tsv" | wc -l)" = 1 ] || fail "want one retry"
same_as_reference "$D"
# ... and one that fails transiently every time: retried, then failed after runtime.retries + 1 attempts
D=$T/io
rc=0; MER_TEST_FLAKY=s03/c0_1:99 run_mer "$D" 1 || rc=$?
[ "$rc" = 4 ] || fail "persistent transient failure: exit code $rc, want 4"
[ "$(awk -F'\t' '$4=="retry"' "$D/ledger.tsv" | wc -l)" = 1 ] || fail "want one retry of the transient failure"
awk -F'\t' '$3=="prep" && $4=="failed" && $5==2' "$D/ledger.tsv" | grep -q "transient read error" ||
    fail "the transient failure is not failed after 2 attempts"

# 4. --fail-fast: stops after the first failure, work left pending
D=$T/ff
rc=0; MER_TEST_CORRUPT=$BAD run_mer "$D" 1 --fail-fast runtime.retries=0 || rc=$?
[ "$rc" = 4 ] || fail "--fail-fast: exit code $rc, want 4"
"$MER_BIN" status "$D" | grep -q "task(s) left" || fail "--fail-fast ran everything"
check_h5 "$D/results.h5"
echo "OK: corrupt sample failed at once with its reason, run completed; transient failures retried; --fail-fast;" \
    "--retry-failed"
