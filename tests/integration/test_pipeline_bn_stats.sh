#!/bin/bash
# BatchNorm adaptation and identity-free head features with the real stages on a tiny generated dataset:
# model.backbone.bn_stats adapt is one FEATURES task over every sample (its statistics cannot depend on
# how samples are split between tasks or ranks) and adapt_train adapts per fold inside the train tasks;
# predictions are identical with 1 process and 3 ranks; a sweep over model.head.features shares every
# FEATURES task (it is a train-stage transform); train tasks record the share of empty LSH query rows,
# which results.h5 collects and the report shows.
source "$MER_SRC/tests/integration/runner_common.sh"
{
    real_dataset 5
    cat <<YAML
magnify: {method: linear, schedule: {start: 1.0, step: 1.0, count: 4}}
model: {input: frames, attention: {d: 16}, head: {hidden: 8}}
train: {epochs: 3, batch_size: 4}
output: {dir: $T/out}
sweep:
  model.backbone.bn_stats: [weights, adapt, adapt_train]
  model.head.features: [raw, minus_onset]
YAML
} >"$T/run.yaml"

"$MER_BIN" run "$T/run.yaml" output.dir="$T/ref" >>"$T/log" 2>&1 || fail "single-process run: $(tail -5 "$T/log")"
results_of "$T/ref" >"$T/ref.txt"
mpirun --oversubscribe --bind-to none -n 3 "$MER_BIN" run "$T/run.yaml" output.dir="$T/n3" >>"$T/log" 2>&1 ||
    fail "3-rank run: $(tail -5 "$T/log")"
same_as_reference "$T/n3"
check_h5 "$T/n3/results.h5"

# features: weights 2 chunks (8 + 7 samples), adapt 1 task over all 15, adapt_train 2 chunks of inputs;
# the two head.features values share all of them
[ "$(count_events "$T/n3" features done)" = 5 ] || fail "features ran $(count_events "$T/n3" features done) times, want 5"
"$MER_BIN" run "$T/run.yaml" output.dir="$T/n3" model.backbone.bn_stats=adapt --dry-run >"$T/dry.txt"
grep -Eq '^[0-9]+ +features +[0-9a-f]{16} .*samples 0-14 ' "$T/dry.txt" || { cat "$T/dry.txt"; fail "adapt: no single features task over all samples"; }
[ "$(count_events "$T/n3" train done)" = 18 ] || fail "train ran $(count_events "$T/n3" train done) times, want 18"

nstats=$(h5dump -H -d /train_stats/lsh_empty_share "$T/n3/results.h5" | grep -o 'SIMPLE { ( [0-9]* )' | grep -o '[0-9]*')
[ "$nstats" = 18 ] || fail "want 18 /train_stats rows (one per train task), got '$nstats'"
h5dump -d /train_stats/lsh_empty_share "$T/n3/results.h5" | grep -q nan && fail "NaN empty-row share"
"$MER_BIN" report "$T/n3" >"$T/report.md" || fail "mer report failed"
grep -q 'empty LSH rows %' "$T/report.md" || fail "the report has no empty-LSH-rows column"
"$MER_BIN" report "$T/n3" --format json >"$T/report.json" || fail "mer report --format json failed"
grep -q '"lsh_empty_query_share": 0\.[0-9]' "$T/report.json" || fail "JSON report: no lsh_empty_query_share"
echo "OK: bn_stats adapt/adapt_train and head.features identical on 1 and 3 ranks; adapt is one features task; head.features shares features; empty-row share collected and reported"
