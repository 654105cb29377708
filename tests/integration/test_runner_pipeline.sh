#!/bin/bash
# The runner's resume path with the REAL stages (runner/pipeline.c) on a tiny generated dataset: a 3-rank
# run stopped by SIGUSR1 while train tasks run (they stop at an epoch boundary) exits 3, leaves no
# temporary files, and the resumed run ends with predictions and metrics identical to an uninterrupted
# single-process run. (test_pipeline.sh covers ranks, caching and corrupt clips with the real stages.)
source "$MER_SRC/tests/integration/runner_common.sh"
{
    real_dataset 7
    cat <<YAML
magnify: {method: linear, schedule: {start: 1.0, step: 1.0, count: 4}}
model: {input: difference, attention: {d: 16}, head: {hidden: 8}}
train: {epochs: 1000, batch_size: 4}   # ~0.7 s per train task: the stop must find one running
output: {dir: $T/out}
sweep: {model.attention.n_rounds: [3, 4]}
YAML
} > "$T/real.yaml"
"$MER_BIN" run "$T/real.yaml" output.dir="$T/ref" >>"$T/log" 2>&1 || fail "reference run: $(tail -5 "$T/log")"
results_of "$T/ref" >"$T/ref.txt"

D=$T/stopped
mpirun --oversubscribe --bind-to none -n 3 "$MER_BIN" run "$T/real.yaml" output.dir="$D" >>"$T/log" 2>&1 &
mp=$!
for i in $(seq 600); do
    [ -f "$D/ledger.tsv" ] && [ "$(count_events "$D" train start)" -ge 2 ] && break
    sleep 0.05
done
[ "$(count_events "$D" train start)" -ge 2 ] || fail "no train task started"
kill -USR1 "$mp"
rc=0; wait "$mp" || rc=$?
[ "$rc" = 3 ] || fail "SIGUSR1: exit code $rc, want 3: $(tail -5 "$T/log")"
[ "$(awk -F'\t' '$4=="interrupted"' "$D/ledger.tsv" | wc -l)" -ge 1 ] || fail "no task was interrupted at a safe point"
ls "$D"/tasks/*/*.tmp 2>/dev/null && fail "temporary files left behind"
check_h5 "$D/results.h5"
"$MER_BIN" run "$T/real.yaml" output.dir="$D" >>"$T/log" 2>&1 || fail "resume exited with $?"
same_as_reference "$D"
[ "$(count_events "$D" features done)" = 2 ] || fail "features ran again on resume"
echo "OK: real stages stopped by SIGUSR1 at a safe point, resumed to identical results"
