#!/bin/bash
# Who is blamed when the whole run dies (runner/farm.h), with runtime.retries 0 so that one death is over
# the limit:
# 1. A whole-job SIGKILL (preemption, a node lost) while two tasks run beside each other blames neither:
#    the re-run runs each of them alone ("alone" in its ledger start) and finishes with the reference results.
# 2. A task that kills its own process every time (MER_TEST_CRASH) is run alone after its first death,
#    dies again, and only then is marked failed, with the reason; the rest of the run completes (exit 4).
source "$MER_SRC/tests/integration/runner_common.sh"
reference
BAD=s02/c1_0
started_only() { awk -F'\t' '{last[$2] = $4} END {for (t in last) if (last[t] == "start") print t}' "$1/ledger.tsv"; }

# 1. kill every rank at once while both workers run a task
D=$T/kill
MER_TEST_TASK_MS=400 mpirun --oversubscribe -n 3 "$MER_BIN" run "$T/run.yaml" --stages test output.dir="$D" \
    runtime.retries=0 >>"$T/log" 2>&1 &
mp=$!
wait_done "$D" 4
rank_pid "$mp" 0 >/dev/null # the ranks are up
kill -KILL $(pgrep -P "$mp")
rc=0; wait "$mp" || rc=$?
[ "$rc" != 0 ] || fail "mpirun returned 0 after its ranks were killed"
started_only "$D" | sort >"$T/caught.txt"
[ -s "$T/caught.txt" ] || fail "no task was running when the run was killed: $(tail -3 "$D/ledger.tsv")"
rc=0; run_mer "$D" 3 runtime.retries=0 || rc=$?
[ "$rc" = 0 ] || fail "re-run after a whole-job kill: exit $rc, want 0 (the tasks it caught were blamed?): $(tail -5 "$T/log")"
grep -q "it runs alone now" "$T/log" || fail "the re-run did not say it runs the caught tasks alone"
while read -r t; do
    awk -F'\t' -v t="$t" '$2 == t && $4 == "start" {a = $9} END {exit a != "alone"}' "$D/ledger.tsv" ||
        fail "task $t, running at the kill, was not run alone afterwards"
    awk -F'\t' -v t="$t" '$2 == t && $4 == "done"' "$D/ledger.tsv" | grep -q . || fail "task $t did not finish"
done <"$T/caught.txt"
same_as_reference "$D"
echo "ok: $(wc -l <"$T/caught.txt") task(s) running at a whole-job kill ran alone and finished"

# 2. a task that kills its own process
D=$T/crash
for run in 1 2; do
    rc=0
    MER_TEST_CRASH=$BAD MER_TEST_TASK_MS=200 run_mer "$D" 3 runtime.retries=0 || rc=$?
    [ "$rc" != 0 ] || fail "run $run with the crashing task exited 0"
done
bad_task=$(awk -F'\t' '$3 == "prep" && $4 == "start" && $9 == "alone"' "$D/ledger.tsv" | cut -f2 | sort -u)
[ -n "$bad_task" ] || fail "the crashing task was never run alone: $(grep start "$D/ledger.tsv" | tail -4)"
[ "$(awk -F'\t' '$4 == "failed"' "$D/ledger.tsv" | wc -l)" = 0 ] || fail "a task was blamed before it ran alone"
rc=0
MER_TEST_CRASH=$BAD MER_TEST_TASK_MS=0 run_mer "$D" 3 runtime.retries=0 || rc=$?
[ "$rc" = 4 ] || fail "third run: exit $rc, want 4 (finished, one task failed): $(tail -5 "$T/log")"
failed=$(awk -F'\t' '$4 == "failed" {print $2}' "$D/ledger.tsv")
[ "$failed" = "$bad_task" ] || fail "failed: '$failed', want only the crashing task $bad_task"
awk -F'\t' '$4 == "failed"' "$D/ledger.tsv" | grep -q "the last time with no other task beside it" ||
    fail "the failure does not say why: $(awk -F'\t' '$4 == "failed"' "$D/ledger.tsv")"
[ "$(awk -F'\t' '$3 == "prep" && $4 == "done"' "$D/ledger.tsv" | cut -f2 | sort -u | wc -l)" = 23 ] ||
    fail "the other 23 prep tasks did not all finish"
echo "ok: the crashing task ($bad_task) was run alone, then blamed; the rest finished"
