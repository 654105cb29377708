#!/bin/bash
# model.input: flow with the real stages (runner/pipeline.c) on a tiny generated dataset: the TV-L1 flow
# input runs end to end; 1 and 2 ranks give identical predictions and metrics; a second run finds every
# task cached; a model.flow setting recomputes the features (it is in their cache key), a head setting does
# not; T = 1 (onset->apex flow) runs too.
source "$MER_SRC/tests/integration/runner_common.sh"
command -v ffmpeg >/dev/null || { echo "SKIP: ffmpeg not found (apt-get install ffmpeg)"; exit 77; }
{
    real_dataset 11
    cat <<YAML
magnify: {method: linear, schedule: {start: 1.0, step: 1.0, count: 2}}
model: {input: flow, attention: {d: 16}, head: {hidden: 8}}
train: {epochs: 3, batch_size: 4}
output: {dir: $T/out}
YAML
} > "$T/flow.yaml"

"$MER_BIN" run "$T/flow.yaml" output.dir="$T/ref" >>"$T/log" 2>&1 || fail "single-process flow run: $(tail -5 "$T/log")"
results_of "$T/ref" >"$T/ref.txt"
h5dump -d /predictions/prob "$T/ref/results.h5" | grep -q nan && fail "NaN in the probabilities"
mpirun --oversubscribe --bind-to none -n 3 "$MER_BIN" run "$T/flow.yaml" output.dir="$T/n2" >>"$T/log" 2>&1 ||
    fail "2-worker flow run: $(tail -5 "$T/log")"
same_as_reference "$T/n2"

# a second run: everything cached
"$MER_BIN" run "$T/flow.yaml" output.dir="$T/ref" >>"$T/log" 2>&1 || fail "rerun failed"
[ "$(count_events "$T/ref" features done)" = 2 ] || fail "features re-ran on a cached run"
[ "$(count_events "$T/ref" train done)" = 3 ] || fail "train re-ran on a cached run"
# a head setting reuses the flow features; a flow setting recomputes them
"$MER_BIN" run "$T/flow.yaml" output.dir="$T/ref" model.head.hidden=6 >>"$T/log" 2>&1 || fail "head change failed"
[ "$(count_events "$T/ref" features done)" = 2 ] || fail "a head setting recomputed the flow features"
"$MER_BIN" run "$T/flow.yaml" output.dir="$T/ref" model.flow.warps=2 >>"$T/log" 2>&1 ||
    fail "model.flow.warps=2 failed: $(tail -5 "$T/log")"
[ "$(count_events "$T/ref" features done)" = 4 ] || fail "model.flow.warps did not recompute the features"
"$MER_BIN" run "$T/flow.yaml" output.dir="$T/ref" magnify.schedule.count=1 >>"$T/log" 2>&1 ||
    fail "T = 1 (onset->apex) failed: $(tail -5 "$T/log")"
echo "OK: flow input end to end, identical on 1 and 2 workers, cached, keyed by model.flow"
