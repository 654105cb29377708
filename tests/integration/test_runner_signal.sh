#!/bin/bash
# SIGUSR1 to mpirun (forwarded to every rank, as `sbatch --signal=B:USR1@300` + a trap in the batch script
# does) and SIGTERM to every rank (as srun / scancel do): running tasks stop at their next safe point,
# exit code 3, the state is resumable and the resumed run equals an uninterrupted one. A second signal
# does not wait for a task that cannot be interrupted. --max-walltime stops the same way.
source "$MER_SRC/tests/integration/runner_common.sh"
reference
export MER_TEST_TASK_MS=250

# 1. SIGUSR1 to mpirun
D=$T/usr1
mpirun --oversubscribe -n 3 "$MER_BIN" run "$T/run.yaml" --stages test output.dir="$D" >>"$T/log" 2>&1 &
mp=$!
wait_done "$D" 6
t0=$(date +%s.%N)
kill -USR1 "$mp"
rc=0; wait "$mp" || rc=$?
t1=$(date +%s.%N)
[ "$rc" = 3 ] || fail "SIGUSR1: exit code $rc, want 3 (interrupted): $(tail -5 "$T/log")"
awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 5) }' || fail "SIGUSR1: took $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') s to stop"
[ "$(awk -F'\t' '$4=="interrupted"' "$D/ledger.tsv" | wc -l)" -ge 1 ] || fail "no task recorded as interrupted"
"$MER_BIN" status "$D" | grep -q "task(s) left" || fail "status shows nothing left after the interruption"
check_h5 "$D/results.h5"
ls "$D"/tasks/*/*.tmp 2>/dev/null && fail "temporary task files left behind"

# 2. SIGTERM to every rank of the resumed run
mpirun --oversubscribe -n 3 "$MER_BIN" run "$T/run.yaml" --stages test output.dir="$D" >>"$T/log" 2>&1 &
mp=$!
wait_done "$D" $(( $(awk -F'\t' '$4=="done"' "$D/ledger.tsv" | wc -l) + 4 ))
pids="$(rank_pid "$mp" 0) $(rank_pid "$mp" 1) $(rank_pid "$mp" 2)"  # all first: rank 0 stops the others fast
kill -TERM $pids
rc=0; wait "$mp" || rc=$?
[ "$rc" = 3 ] || fail "SIGTERM: exit code $rc, want 3"
check_h5 "$D/results.h5"

# 3. resume to the end
MER_TEST_TASK_MS=0 run_mer "$D" 2 || fail "resume exited with $?"
same_as_reference "$D"
check_h5 "$D/results.h5"

# 4. a second signal stops at once, without waiting for tasks that ignore the first (8 s each)
D2=$T/twice
MER_TEST_TASK_MS=8000 MER_TEST_IGNORE_STOP=1 mpirun --oversubscribe -n 3 "$MER_BIN" run "$T/run.yaml" --stages test \
    output.dir="$D2" >>"$T/log" 2>&1 &
mp=$!
for i in $(seq 100); do [ "$(awk -F'\t' '$4=="start"' "$D2/ledger.tsv" 2>/dev/null | wc -l)" -ge 2 ] && break; sleep 0.1; done
kill -USR1 "$mp"; sleep 0.5; kill -USR1 "$mp"
t0=$(date +%s.%N)
rc=0; wait "$mp" || rc=$?
t1=$(date +%s.%N)
[ "$rc" != 0 ] || fail "second signal: exit code 0"
awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 4) }' || fail "second signal: took $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') s"
"$MER_BIN" collect "$D2" >/dev/null && check_h5 "$D2/results.h5"

# 5. --max-walltime (single process)
D3=$T/wall
rc=0; MER_TEST_TASK_MS=200 run_mer "$D3" 1 --max-walltime 1.5 || rc=$?
[ "$rc" = 3 ] || fail "--max-walltime: exit code $rc, want 3"
check_h5 "$D3/results.h5"
MER_TEST_TASK_MS=0 run_mer "$D3" 1 || fail "resume after --max-walltime"
same_as_reference "$D3"
echo "OK: SIGUSR1/SIGTERM -> clean stop (exit 3) and identical resume; second signal aborts at once; --max-walltime"
