#!/bin/bash
# SIGKILL part-way (first a worker, then the coordinator) and re-run: the run finishes with results
# identical to an uninterrupted run, and no task that had finished before a kill runs again.
source "$MER_SRC/tests/integration/runner_common.sh"
reference
D=$T/run
export MER_TEST_TASK_MS=150

# 1. kill worker rank 2 after 10 finished tasks
mpirun --oversubscribe -n 4 "$MER_BIN" run "$T/run.yaml" --stages test output.dir="$D" >>"$T/log" 2>&1 &
mp=$!
wait_done "$D" 10
kill -KILL "$(rank_pid "$mp" 2)"
rc=0; wait "$mp" || rc=$?
[ "$rc" != 0 ] || fail "mpirun returned 0 after a worker was killed"
awk -F'\t' '$4=="done"{print $3"/"$2}' "$D/ledger.tsv" | sort -u >"$T/done1.txt"
lines1=$(wc -l <"$D/ledger.tsv")
while read -r t; do [ -f "$D/tasks/$t.h5" ] || fail "finished task $t has no output file"; done <"$T/done1.txt"
"$MER_BIN" collect "$D" >/dev/null || fail "collect after the worker kill"
check_h5 "$D/results.h5"

# 2. re-run, kill the coordinator (rank 0) after 8 more finished tasks
mpirun --oversubscribe -n 4 "$MER_BIN" run "$T/run.yaml" --stages test output.dir="$D" >>"$T/log" 2>&1 &
mp=$!
wait_done "$D" $(( $(wc -l <"$T/done1.txt") + 8 ))
"$MER_BIN" status "$D" | grep -q "(running now)" || fail "status does not see the active run"
kill -KILL "$(rank_pid "$mp" 0)"
rc=0; wait "$mp" || rc=$?
[ "$rc" != 0 ] || fail "mpirun returned 0 after the coordinator was killed"
awk -F'\t' '$4=="done"{print $3"/"$2}' "$D/ledger.tsv" | sort -u >"$T/done2.txt"
"$MER_BIN" collect "$D" >/dev/null || fail "collect after the coordinator kill"
"$MER_BIN" status "$D" >"$T/status2.txt"
grep -q "(not running)" "$T/status2.txt" || fail "status: the killed run still looks active"
awk '$1=="prep"||$1=="features"||$1=="train" {r += $3} END {exit r != 0}' "$T/status2.txt" ||
    { cat "$T/status2.txt"; fail "status shows tasks running in a dead run"; }
check_h5 "$D/results.h5"

# 3. finish
run_mer "$D" 2 || fail "the resumed run exited with $?: $(tail -5 "$T/log")"
same_as_reference "$D"
check_h5 "$D/results.h5"
# no task finished before a kill ran again: no "start" of them after the first kill
tail -n +$((lines1 + 1)) "$D/ledger.tsv" | awk -F'\t' '$4=="start"{print $3"/"$2}' | sort -u >"$T/restarted.txt"
again=$(comm -12 "$T/done1.txt" "$T/restarted.txt" | wc -l)
[ "$again" = 0 ] || fail "$again task(s) finished before the worker kill ran again"
# every task finished: "done", or "cached" when its file was committed but the kill came before the
# coordinator recorded it
n_done=$(awk -F'\t' '$4=="done" || $4=="cached" {print $2}' "$D/ledger.tsv" | sort -u | wc -l)
[ "$n_done" = 52 ] || fail "want 52 finished tasks, got $n_done"
grep -Eq '^train +16 +0 +0 +0 +0' <("$MER_BIN" status "$D") || fail "status after the resume: $("$MER_BIN" status "$D")"
echo "OK: killed a worker after $(wc -l <"$T/done1.txt") and the coordinator after $(wc -l <"$T/done2.txt") finished tasks; resumed result identical"
