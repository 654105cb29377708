#!/bin/bash
# Using a trained model (README "Using a trained model"): eval.final_model, mer export, mer predict, on a small
# generated dataset (4 subjects x 5 classes x 2 clips, 48 px crops, 4 linear-magnified frames, 40 epochs).
#  (a) a final model trained on 3 subjects classifies the 4th subject's clips, given no onset or apex, about
#      as well as that subject's LOSO fold of the same point did (tolerance below);
#  (b) round trip: the model of the LOSO fold that held sub04 out, exported and run by mer predict on sub04's
#      clips (annotated onset and apex), gives exactly the probabilities the run stored for them;
#  (c) bad input: another layout version, no face, fewer than 2 frames, onset >= apex, unreadable files, usage
#      errors; one message naming each clip; exit 0 all, 1 none, 4 some, 2 usage.
source "${MER_SRC:?MER_SRC not set (run through ctest)}/tests/integration/predict_common.sh"

"$MER_BIN" synth data --subjects 4 --per-class 2 --size 160x120 --seed 3 >synth.log 2>&1 ||
    fail "mer synth: $(tail -3 synth.log)"
cat >run.yaml <<YAML
dataset:                 # relative paths: task ids (and so every seed) do not depend on \$T
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
  input: difference
  attention: {d: 64}
  head: {hidden: 32, dropout: 0.3}
train:
  epochs: 40
  batch_size: 8
  lr_schedule: cosine
eval:
  final_model: true
output:
  dir: all
runtime:
  threads: 1
YAML
"$MER_BIN" run run.yaml >run.log 2>&1 || fail "mer run (4 subjects): $(tail -5 run.log)"
grep '^4,' data/coding.csv >/dev/null || fail "the generated sheet has no subject 4"
grep -v '^4,' data/coding.csv >coding_no4.csv
"$MER_BIN" run run.yaml dataset.annotations=coding_no4.csv output.dir=no4 >run2.log 2>&1 ||
    fail "mer run (without sub04): $(tail -5 run2.log)"
[ "$(ls all/tasks/train | wc -l)" = 5 ] || fail "want 4 fold tasks + 1 final model in all/tasks/train"


# ---- (b) round trip: the sub04 fold's model reproduces the run's own evaluation of sub04's clips -----------
"$MER_BIN" export all --fold sub04 --out fold4.h5 >export.log 2>&1 || fail "mer export --fold: $(cat export.log)"
awk -F, '$1 == 4 { print "data/sub04/" $2 "," $3 "," $4 }' data/coding.csv >sub04_annotated.csv
"$MER_BIN" predict fold4.h5 --list sub04_annotated.csv --format csv --threads 1 >fold4.csv 2>predict.err ||
    fail "mer predict (fold model): $(cat predict.err)"
paste -d' ' <(h5vals all/results.h5 /predictions/sample) \
    <(h5vals all/results.h5 /predictions/prob %.9g | paste -d' ' - - - - -) | grep '^sub04/' >ref.txt
tail -n +2 fold4.csv | awk -F, '{ sub(/^data\//, "", $1); print $1, $10, $11, $12, $13, $14 }' >got.txt
[ "$(wc -l <ref.txt)" = 10 ] || fail "want 10 stored predictions of sub04, got $(wc -l <ref.txt)"
diff ref.txt got.txt >diff.txt || fail "export -> predict differs from the run's evaluation of sub04: $(head -4 diff.txt)"
grep -q ',given,' fold4.csv || fail "annotated onset/apex not reported as given"

# ---- (a) a final model on sub01-03 classifies sub04 about as well as sub04's LOSO fold did ---------------
"$MER_BIN" export no4 --out final.h5 --point best >export2.log 2>&1 || fail "mer export: $(cat export2.log)"
"$MER_BIN" predict final.h5 data/sub04/* --format csv --threads 1 >final4.csv 2>predict2.err ||
    fail "mer predict (final model): $(cat predict2.err)"
awk -F, '$1 == 4 { print "data/sub04/" $2, $7 }' data/coding.csv | sort >truth.txt
tail -n +2 final4.csv | awk -F, '{ print $1, $2 }' | sort >pred.txt
correct=$(join truth.txt pred.txt | awk '$2 == $3' | wc -l)
[ "$(wc -l <pred.txt)" = 10 ] || fail "want 10 classified clips, got $(wc -l <pred.txt)"
grep -c ',spotted,' final4.csv | grep -qx 10 || fail "clips without an apex must report apex_source spotted"
# sub04's LOSO accuracy of the same point: the fold's 10 stored predictions
loso=$(paste -d' ' <(h5vals all/results.h5 /predictions/sample) <(h5vals all/results.h5 /predictions/truth) \
    <(h5vals all/results.h5 /predictions/pred) | awk '$1 ~ /^sub04\// && $2 == $3' | wc -l)
# Tolerance 3 of 10 clips: the final model trains with another seed (its task id) and sees spotted apexes
# instead of the annotated ones; two classifiers of accuracy ~0.6 on the same 10 clips differ by up to
# ~1.5 standard deviations (sqrt(2 x 0.6 x 0.4 / 10) = 0.22) in 0.3. Both must also be at least twice chance
# (4 of 10; 5 classes): a broken export or predict lands near chance (2 of 10). Seen at these settings (task ids,
# and so seeds, change with the config schema): fold 6-7/10, final model 5-7/10.
echo "sub04: final model $correct/10 correct without onset/apex; LOSO fold $loso/10"
[ "$loso" -ge 4 ] || fail "the LOSO fold scored $loso/10: too close to chance for this check to mean anything"
[ "$correct" -ge 4 ] || fail "final model: $correct/10 on sub04, not above twice chance"
diff=$((correct > loso ? correct - loso : loso - correct))
[ "$diff" -le 3 ] || fail "final model: $correct/10 on sub04, LOSO fold $loso/10 (tolerance 3)"

# the model file is plain HDF5: h5dump reads the layout attribute, the classes and the LOSO figures
h5dump -A final.h5 >attrs.txt || fail "h5dump cannot read the model file"
grep -q 'mer_model_layout' attrs.txt || fail "no mer_model_layout attribute"
[ "$(h5vals final.h5 /classes | wc -l)" = 5 ] || fail "want 5 class names in /classes"
[ "$(h5vals final.h5 /source/kind)" = final ] || fail "/source/kind is not final"
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import h5py' 2>/dev/null; then
    /usr/bin/python3 - final.h5 <<'PY' || fail "h5py cannot read the model file as documented"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
assert f.attrs["mer_model_layout"] == 1
for k in ["config", "classes", "head", "standardize/mean", "backbone/init", "magnify/factors", "loso/accuracy",
          "source/seed", "source/epochs"]:
    assert k in f, k
assert f["backbone/init"][()] == b"random" and "backbone/seed" in f and "backbone/buffers" in f
assert f["standardize/mean"].shape == (512,) and len(f["magnify/factors"]) == 4
PY
fi

# JSON: one object per clip with exactly the documented fields
"$MER_BIN" predict final.h5 data/sub04/EP01_* --format json --threads 1 >one.json || fail "mer predict --format json"
if [ -x /usr/bin/python3 ]; then
    /usr/bin/python3 - one.json <<'PY' || fail "JSON output: $(cat one.json)"
import json, sys
d = json.load(open(sys.argv[1]))
assert isinstance(d, list) and len(d) == 1, d
o = d[0]
assert sorted(o) == sorted(["path", "class", "probabilities", "onset", "apex", "apex_source", "face_box"]), o
assert len(o["probabilities"]) == 5 and abs(sum(o["probabilities"].values()) - 1) < 1e-5
assert o["class"] == max(o["probabilities"], key=o["probabilities"].get)
assert o["apex_source"] == "spotted" and o["onset"] < o["apex"] and len(o["face_box"]) == 4
PY
fi

# ---- (c) bad input ------------------------------------------------------------------------------------
good=$(ls -d data/sub04/* | head -1)
mkdir -p noface short
pgm() { printf 'P5\n160 120\n255\n' >"$1"; head -c 19200 /dev/zero | tr '\0' '\200' >>"$1"; }
for i in 0 1 2 3 4 5; do pgm "noface/img$i.pgm"; done # a flat grey clip: no face
cp "$(ls "$good"/* | head -1)" short/                   # one frame
echo "not a video" >garbage.avi
read -r on ap < <(awk -F, -v c="${good##*/}" '$1 == 4 && $2 == c { print $3, $4 }' data/coding.csv)
printf 'path,onset,apex\n%s,%s,%s\n' "$good" "$ap" "$on" >backwards.csv # onset >= apex (swapped)

expect() { # expect CODE PATTERN -- ARGS: the exit code and a stderr line matching PATTERN
    local code=$1 pat=$2 rc=0
    shift 3
    "$MER_BIN" predict "$@" >bad.out 2>bad.err || rc=$?
    [ "$rc" = "$code" ] || fail "mer predict $*: exit $rc, want $code ($(cat bad.err))"
    [ -z "$pat" ] || grep -q -- "$pat" bad.err || fail "mer predict $*: no message matching '$pat' in: $(cat bad.err)"
}
expect 4 "noface" -- final.h5 "$good" noface --threads 1
grep -q '^mer predict: noface: .*no face' bad.err || fail "no-face message does not say so: $(cat bad.err)"
grep -c "^$good: " bad.out | grep -qx 1 || fail "the good clip was not classified next to a failing one"
expect 4 "short: 1 frame(s)" -- final.h5 short "$good" --threads 1
expect 4 "onset $ap is not before the apex $on" -- final.h5 --list backwards.csv "$good" --threads 1
expect 4 "garbage.avi" -- final.h5 garbage.avi "$good" --threads 1
expect 1 "missing.avi" -- final.h5 missing.avi garbage.avi --threads 1
grep -q 'garbage.avi' bad.err || fail "every failing clip gets its message: $(cat bad.err)"
[ "$(grep -c 'garbage.avi' bad.err)" = 1 ] || fail "one message per clip: $(cat bad.err)"
expect 1 "no face\|face" -- final.h5 noface --format json --threads 1
grep -q '"error"' bad.out || fail "a failed clip is an {path, error} object in JSON: $(cat bad.out)"
expect 1 "not a mer model file" -- all/results.h5 "$good"
expect 1 "nothing.h5" -- nothing.h5 "$good"
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import h5py' 2>/dev/null; then
    cp final.h5 future.h5
    /usr/bin/python3 -c 'import h5py, sys; h5py.File(sys.argv[1], "r+").attrs["mer_model_layout"] = 99' future.h5
    expect 1 "layout 99, this mer reads layout 1" -- future.h5 "$good"
fi
expect 2 "no clip given" -- final.h5
expect 2 "unknown format" -- final.h5 "$good" --format xml
expect 2 "--onset 5 is not before --apex 5" -- final.h5 "$good" --onset 5 --apex 5
"$MER_BIN" export all --out x.h5 --point nope >/dev/null 2>&1 && fail "export of an unknown point succeeded"
rc=0
"$MER_BIN" export all --out x.h5 --magnet paste >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "bad --magnet: exit $rc, want 2 (usage)"
[ ! -e x.h5 ] || fail "a failed export left x.h5 behind"
echo "PASS"
