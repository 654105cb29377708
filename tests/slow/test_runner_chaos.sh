#!/bin/bash
# Chaos: a runner sweep (`mer run --stages test`, 4 ranks, 240 tasks) SIGKILLed at 20 random moments, each
# time either one random rank or the whole job (every rank and mpirun at once, like a node lost), and
# resumed with the same command after each kill. Checked after every kill: `mer status` does not show the
# dead run as running, `mer collect` leaves a results.h5 that opens. At the end: the results equal an
# uninterrupted single-process run's, and no task ran again after the ledger recorded it finished (each
# execution is logged by the test stage itself, MER_TEST_EXEC_LOG, independently of the ledger).
# MER_CHAOS_SEED=N replays a run (the seed is printed first).
source "$MER_SRC/tests/integration/runner_common.sh"
seed=${MER_CHAOS_SEED:-$(( $(date +%s%N) % 32768 ))}
echo "chaos seed: $seed (replay: MER_CHAOS_SEED=$seed ctest -R chaos)"
RANDOM=$seed
KILLS=${MER_CHAOS_KILLS:-20}

# 6 subjects x 3 classes x 2 clips = 36 samples; points: preprocess.size x magnify.schedule.start x n_rounds
# (2 x 2 x 2) x 2 seeds -> 72 prep + 72 features + 96 train tasks
cat >"$T/chaos.yaml" <<YAML
dataset:
  format: synth
  synth: {subjects: 6, per_class: 2}
train: {epochs: 4}
output: {dir: $T/out}
runtime: {retries: 5} # a start without an end counts as an attempt (a task that crashes the job must end)
sweep:
  preprocess.size: [32, 48]
  magnify.schedule.start: [1.0, 2.0]
  model.attention.n_rounds: [3, 4]
  seeds: [0, 1]
YAML
N_TASKS=240
MER_TEST_TASK_MS=0 "$MER_BIN" run "$T/chaos.yaml" --stages test output.dir="$T/ref" >"$T/ref.log" 2>&1 ||
    fail "reference run: $(tail -5 "$T/ref.log")"
results_of "$T/ref" >"$T/ref.txt"
h5dump -H -d /tasks/id "$T/ref/results.h5" | grep -q "SIMPLE { ( $N_TASKS ) " ||
    fail "the plan does not have $N_TASKS tasks"

D=$T/run
export MER_TEST_TASK_MS=150 MER_TEST_EXEC_LOG=$T/exec.log
n_finished() { # tasks the ledger records as finished (done, or cached: committed before a kill)
    [ -f "$D/ledger.tsv" ] || { echo 0; return; }
    awk -F'\t' '$4=="done" || $4=="cached" {print $2}' "$D/ledger.tsv" | sort -u | wc -l
}
n_done_events() { [ -f "$D/ledger.tsv" ] && awk -F'\t' '$4=="done"' "$D/ledger.tsv" | wc -l || echo 0; }
# every process of this run gone (a killed rank's peers are ended by mpirun)
wait_gone() {
    local i
    for i in $(seq 200); do
        pgrep -f "output.dir=$D" >/dev/null || return 0
        sleep 0.1
    done
    fail "processes of the killed run are still alive: $(pgrep -af "output.dir=$D")"
}

kills=0 whole=0 ranks=0 natural=0 cycle=0
while [ "$kills" -lt "$KILLS" ]; do
    cycle=$((cycle + 1))
    [ "$cycle" -le $((KILLS + 10)) ] || fail "only $kills kills in $cycle cycles"
    left=$((N_TASKS - $(n_finished)))
    [ "$left" -gt 0 ] || fail "the run finished after only $kills kills"
    before=$(n_done_events)
    mpirun --oversubscribe -n 4 "$MER_BIN" run "$T/chaos.yaml" --stages test output.dir="$D" >>"$T/log" 2>&1 &
    mp=$!
    if [ $((RANDOM % 4)) = 0 ] && [ "$kills" -gt 0 ]; then # at a random time: start-up, plan, ledger, anything
        delay=$(printf '0.%03d' $((200 + RANDOM % 800)))
        sleep "$delay"
        how="after $delay s"
    else # after k more finished tasks and a random part of the next one
        cap=$(( left * 3 / (2 * (KILLS - kills + 1)) )); [ "$cap" -ge 1 ] || cap=1; [ "$cap" -le 15 ] || cap=15
        k=$((1 + RANDOM % cap))
        for i in $(seq 600); do
            [ "$(n_done_events)" -ge $((before + k)) ] && break
            kill -0 "$mp" 2>/dev/null || break
            sleep 0.05
        done
        sleep "$(printf '0.%03d' $((RANDOM % 300)))"
        how="after $k task(s)"
    fi
    if ! kill -0 "$mp" 2>/dev/null; then # finished (or failed) before the kill came
        rc=0; wait "$mp" || rc=$?
        [ "$rc" = 0 ] || fail "mer run exited with $rc without a kill: $(tail -5 "$T/log")"
        natural=$((natural + 1))
        break
    fi
    if [ $((RANDOM % 2)) = 0 ]; then
        pids="$mp $(pgrep -P "$mp" | tr "\n" " " || true)"
        kill -KILL $pids 2>/dev/null || true
        whole=$((whole + 1)); what="the whole job"
    else
        r=$((RANDOM % 4))
        kill -KILL "$(rank_pid "$mp" "$r")" 2>/dev/null || true
        ranks=$((ranks + 1)); what="rank $r"
    fi
    wait "$mp" 2>/dev/null || true
    wait_gone
    kills=$((kills + 1))
    echo "kill $kills: $what $how ($(n_finished) of $N_TASKS tasks finished)"
    "$MER_BIN" status "$D" >"$T/status.txt" 2>&1 || fail "mer status after kill $kills: $(cat "$T/status.txt")"
    grep -q "(not running)" "$T/status.txt" || { cat "$T/status.txt"; fail "status shows the dead run as running"; }
    awk '$1=="prep"||$1=="features"||$1=="train" {r += $3} END {exit r != 0}' "$T/status.txt" ||
        { cat "$T/status.txt"; fail "status shows tasks running in a dead run (kill $kills)"; }
    "$MER_BIN" collect "$D" >"$T/collect.txt" 2>&1 || fail "mer collect after kill $kills: $(cat "$T/collect.txt")"
    check_h5 "$D/results.h5"
done
if [ "$natural" = 0 ]; then
    mpirun --oversubscribe -n 4 "$MER_BIN" run "$T/chaos.yaml" --stages test output.dir="$D" >>"$T/log" 2>&1 ||
        fail "the final resume exited with $?: $(tail -5 "$T/log")"
fi
same_as_reference "$D"
check_h5 "$D/results.h5"
[ "$(n_finished)" = "$N_TASKS" ] || fail "$(n_finished) of $N_TASKS tasks finished"

# No task the ledger recorded finished (done/cached) executed after that moment.
awk -F'\t' '($4=="done" || $4=="cached") && !($2 in t) {t[$2]=$1} END {for (i in t) print i, t[i]}' \
    "$D/ledger.tsv" >"$T/finished_at.txt"
again=$(awk 'NR==FNR {t[$1]=$2; next} ($2 in t) && $1 > t[$2] {print $2}' "$T/finished_at.txt" "$T/exec.log" | sort -u)
[ -z "$again" ] || fail "task(s) ran again after the ledger recorded them finished: $again"
# the ledger agrees: no start of a task after its first done/cached
restarts=$(awk -F'\t' '($4=="done" || $4=="cached") && !($2 in t) {t[$2]=1} $4=="start" && ($2 in t) {print $2}' \
    "$D/ledger.tsv" | sort -u | wc -l)
[ "$restarts" = 0 ] || fail "$restarts task(s) started again after they finished (ledger)"
execs=$(wc -l <"$T/exec.log")
inflight=$((execs - $(awk '{print $2}' "$T/exec.log" | sort -u | wc -l)))
echo "OK: seed $seed: $kills kills survived ($ranks of one rank, $whole of the whole job); $N_TASKS tasks," \
    "$execs executions ($inflight re-runs of tasks killed in flight), 0 finished tasks re-run; results identical"
