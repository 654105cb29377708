#!/bin/bash
# mer export / mer predict of the settings that change how a model's features are computed (README "Using a
# trained model"): for each sweep point below, the model of the LOSO fold that held sub03 out, exported and
# run by mer predict on sub03's clips (annotated onset and apex), must give exactly the probabilities the run
# stored for them (the round trip of test_predict.sh). Two points are LBP-TOP on the unmagnified onset->apex
# frames (magnify.method none), which predict must sample from the clip as prep did, and with the linear SVM. Tiny settings: 3 subjects x 5 classes x 1 clip, 48 px
# crops, 4 linear-magnified frames, a few epochs; the check is bit-identity, not accuracy.
source "${MER_SRC:?MER_SRC not set (run through ctest)}/tests/integration/predict_common.sh"

"$MER_BIN" synth data --subjects 3 --per-class 1 --size 160x120 --seed 5 >synth.log 2>&1 ||
    fail "mer synth: $(tail -3 synth.log)"
cat >run.yaml <<YAML
dataset:
  format: casme2
  root: data
  annotations: data/coding.csv
  min_class_samples: 0
preprocess:
  size: 48
magnify:
  method: linear
  schedule: {start: 1.0, step: 1.0, count: 4}
model:
  input: frames
  attention: {d: 32}
  head: {hidden: 16}
train:
  epochs: 6
  batch_size: 4
output:
  dir: out
runtime:
  threads: 1
sweep:
  zip:
    model.backbone.kind: [resnet18, resnet18, lbptop, resnet18, resnet18, lbptop, lbptop]
    model.head.features: [minus_onset, minus_mean, raw, raw, minus_onset, raw, raw]
    model.backbone.bn_stats: [weights, weights, weights, adapt, adapt_train, weights, weights]
    magnify.method: [linear, linear, linear, linear, linear, none, linear]
    model.lbptop.classifier: [logreg, logreg, logreg, logreg, logreg, logreg, svm]
YAML
"$MER_BIN" run run.yaml >run.log 2>&1 || fail "mer run: $(tail -5 run.log)"

awk -F, '$1 == 3 { print "data/sub03/" $2 "," $3 "," $4 }' data/coding.csv >sub03.csv
[ "$(wc -l <sub03.csv)" = 5 ] || fail "want 5 clips of subject 3 in the generated sheet"
# the run's stored sub03 probabilities of every point: point index, sample, 5 probabilities
paste -d' ' <(h5vals out/results.h5 /predictions/point) <(h5vals out/results.h5 /predictions/sample) \
    <(h5vals out/results.h5 /predictions/prob %.9g | paste -d' ' - - - - -) | grep ' sub03/' >stored.txt

n_points=0
while IFS=$'\t' read -r index id params; do
    n_points=$((n_points + 1))
    "$MER_BIN" export out --point "$id" --fold sub03 --out "$id.h5" >export.log 2>&1 ||
        fail "mer export ($params): $(cat export.log)"
    "$MER_BIN" predict "$id.h5" --list sub03.csv --format csv --threads 1 >"$id.csv" 2>predict.err ||
        fail "mer predict ($params): $(cat predict.err)"
    awk -v p="$index" '$1 == p { print $2, $3, $4, $5, $6, $7 }' stored.txt >ref.txt
    tail -n +2 "$id.csv" | awk -F, '{ sub(/^data\//, "", $1); print $1, $10, $11, $12, $13, $14 }' >got.txt
    [ "$(wc -l <ref.txt)" = 5 ] || fail "$params: want 5 stored predictions of sub03, got $(wc -l <ref.txt)"
    diff ref.txt got.txt >diff.txt || fail "$params: export -> predict differs from the run: $(head -4 diff.txt)"
    echo "$params: round trip exact"
done < <("$MER_BIN" config run.yaml --points | grep -v '^index\|^seeds')
[ "$n_points" = 7 ] || fail "want 7 sweep points, got $n_points"
echo "PASS"
