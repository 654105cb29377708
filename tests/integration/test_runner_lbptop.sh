#!/bin/bash
# The LBP-TOP baseline (model.backbone.kind: lbptop) through the real stages, on a small generated dataset
# (4 subjects x 5 classes x 3 clips, LOSO): LBP-TOP histograms of the linearly magnified frames, stored as
# one (1, D) row per sample in the FEATURES files, and a logistic regression (or linear SVM) per fold. Checks: predictions
# above chance; identical results with 1 process and 1 coordinator + 2 workers; a second run, and runs that
# change only network settings, do no work; beside the network in one sweep, the report has both points.
source "$MER_SRC/tests/integration/runner_common.sh"

"$MER_BIN" synth "$T/data" --subjects 4 --per-class 3 --size 160x120 --seed 7 >"$T/synth.log" 2>&1 ||
    fail "mer synth: $(tail -3 "$T/synth.log")"
cat >"$T/lbp.yaml" <<YAML
dataset: {format: casme2, root: $T/data, annotations: $T/data/coding.csv, min_class_samples: 0}
preprocess: {size: 48}
magnify: {method: linear, schedule: {start: 1.0, step: 1.0, count: 6}}
model:
  backbone: {kind: lbptop}
  lbptop: {grid: {rows: 4, cols: 4}}
  attention: {d: 16}
  head: {hidden: 8}
train: {epochs: 50, batch_size: 8, lr: 0.01}
YAML

run_real() { run_real_config "$T/lbp.yaml" "$@"; }

run_real "$T/ref" 1 || fail "single-process run failed: $(tail -5 "$T/log")"
results_of "$T/ref" >"$T/ref.txt"
check_h5 "$T/ref/results.h5"

# 60 clips: chance is 0.2; 21 right or more happens by chance with p ~ 0.003
acc=$("$MER_BIN" report "$T/ref" --format csv | awk -F, 'NR == 2 {print $9}')
awk -v a="$acc" 'BEGIN {exit !(a >= 0.35)}' || fail "accuracy $acc, want >= 0.35 (chance 0.2)"

# one row of 4 x 4 blocks x 3 planes x 59 u2 bins per sample
for f in "$T"/ref/tasks/features/*.h5; do
    shape=$(h5dump -H -d /feat "$f")
    grep -Eq 'SIMPLE \{ \( [0-9]+, 1, 2832 \)' <<<"$shape" || fail "$f: /feat is not (n, 1, 2832): $shape"
done
# per fold: W (5 x 2832) and b (5)
[ "$(h5ls -r "$T/ref/results.h5" | grep -c '/head/params *Dataset {14165}')" = 4 ] ||
    fail "results.h5 lacks the 4 folds' logistic-regression weights"

# the prep files are copied (face detection is most of the cost and not what is compared): features and
# training run again on 2 workers
mkdir -p "$T/n3/tasks" && cp -r "$T/ref/tasks/prep" "$T/n3/tasks/"
run_real "$T/n3" 3 || fail "3-rank run failed: $(tail -5 "$T/log")"
same_as_reference "$T/n3"
[ "$(count_events "$T/n3" features done)" = 8 ] || fail "3 ranks: $(count_events "$T/n3" features done) features tasks, want 8"

# cached: the same run, and runs that change only the network's settings, run nothing
run_real "$T/ref" 1 || fail "second run failed"
run_real "$T/ref" 1 model.attention.type=none model.head.hidden=7 model.backbone.weights=none.h5 ||
    fail "run with other network settings failed: $(tail -5 "$T/log")"
[ "$(count_events "$T/ref" features done)" = 8 ] || fail "features ran again ($(count_events "$T/ref" features done) done)"
[ "$(count_events "$T/ref" train done)" = 4 ] || fail "train ran again ($(count_events "$T/ref" train done) done)"

# the linear SVM instead of the logistic regression: the same cached histograms, 4 new train tasks
run_real "$T/ref" 1 model.lbptop.classifier=svm || fail "svm run failed: $(tail -5 "$T/log")"
[ "$(count_events "$T/ref" features done)" = 8 ] || fail "svm: features ran again"
[ "$(count_events "$T/ref" train done)" = 8 ] || fail "svm: want 4 new train tasks, $(count_events "$T/ref" train done) done"
acc_svm=$("$MER_BIN" report "$T/ref" --format csv | awk -F, 'NR == 2 {print $9}')
awk -v a="$acc_svm" 'BEGIN {exit !(a >= 0.35)}' || fail "svm: accuracy $acc_svm, want >= 0.35 (chance 0.2)"

# beside the network: one sweep, two points; the baseline's tasks come from the cache
{ cat "$T/lbp.yaml"; printf 'sweep:\n  zip:\n    model.backbone.kind: [resnet18, lbptop]\n    model.attention.type: [lsh, none]\n'; } >"$T/sweep.yaml"
"$MER_BIN" run "$T/sweep.yaml" output.dir="$T/ref" >>"$T/log" 2>&1 || fail "sweep run failed: $(tail -5 "$T/log")"
[ "$(count_events "$T/ref" train done)" = 12 ] || fail "want 4 new train tasks (the network's), got $(count_events "$T/ref" train done) done"
"$MER_BIN" report "$T/ref" --format csv >"$T/sweep.csv" || fail "mer report failed"
[ "$(tail -n +2 "$T/sweep.csv" | wc -l)" = 2 ] || fail "want 2 points in the report: $(cat "$T/sweep.csv")"
grep -q 'model.backbone.kind=lbptop' "$T/sweep.csv" || fail "no lbptop point in the report: $(cat "$T/sweep.csv")"
grep -q 'model.backbone.kind=resnet18' "$T/sweep.csv" || fail "no resnet18 point in the report"
# magnify.method none: LBP-TOP of the unmagnified onset->apex frames, which prep keeps for this point only
# (6 aligned frames per sample; runner_plan checks that the other points keep sharing their prep tasks)
run_real "$T/none" 1 magnify.method=none || fail "magnify.method none run failed: $(tail -5 "$T/log")"
n_seq=0
for f in "$T"/none/tasks/prep/*.h5; do
    shape=$(h5dump -H -d /prep/0/sequence "$f" 2>/dev/null) || continue
    grep -Eq 'SIMPLE \{ \( 6, 48, 48, 3 \)' <<<"$shape" || fail "$f: /prep/0/sequence is not (6, 48, 48, 3): $shape"
    n_seq=$((n_seq + 1))
done
[ "$n_seq" = 60 ] || fail "want 60 prep files with the onset->apex sequence, got $n_seq"
acc_none=$("$MER_BIN" report "$T/none" --format csv | awk -F, 'NR == 2 {print $9}')
awk -v a="$acc_none" 'BEGIN {exit !(a >= 0.3)}' || fail "magnify.method none: accuracy '$acc_none', want >= 0.3 (chance 0.2)"
echo "OK: LBP-TOP baseline above chance ($acc; svm $acc_svm; unmagnified sequence $acc_none), rank-count independent, cached, reported beside the network"
