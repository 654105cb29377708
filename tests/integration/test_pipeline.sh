#!/bin/bash
# The real pipeline end to end (runner/pipeline.c), on a tiny generated dataset: synthetic faces ->
# face detection + landmarks + alignment -> linear magnification -> ResNet-18 features -> LSH head ->
# LOSO -> results.h5 -> mer report. Checks: identical predictions and metrics with 1 and 3 ranks; a
# sweep over n_rounds shares the prep and feature tasks (computed once); a later run of another n_rounds
# value reuses them; a corrupt clip and a clip without a face fail on their first attempt (permanent errors
# are not retried), are reported, and the run completes without them; the report reads it.
source "$MER_SRC/tests/integration/runner_common.sh"
command -v ffmpeg >/dev/null || { echo "SKIP: ffmpeg not found (apt-get install ffmpeg)"; exit 77; }

"$MER_BIN" synth "$T/data" --subjects 3 --per-class 1 --size 160x120 --seed 7 >"$T/synth.log" 2>&1 ||
    fail "mer synth: $(tail -3 "$T/synth.log")"
cat > "$T/run.yaml" <<YAML
dataset:
  format: casme2
  root: $T/data
  annotations: $T/data/coding.csv
  min_class_samples: 0
preprocess:
  size: 32
magnify:
  method: linear
  schedule: {start: 1.0, step: 1.0, count: 4}
model:
  input: difference
  attention: {d: 16}
  head: {hidden: 8}
train:
  epochs: 3
  batch_size: 4
output:
  dir: $T/out
sweep:
  model.attention.n_rounds: [3, 4]
YAML

run_real() { run_real_config "$T/run.yaml" "$@"; }

run_real "$T/ref" 1 || fail "single-process run failed: $(tail -5 "$T/log")"
results_of "$T/ref" >"$T/ref.txt"
run_real "$T/n3" 3 || fail "3-rank run failed: $(tail -5 "$T/log")"
same_as_reference "$T/n3"
check_h5 "$T/n3/results.h5"

# 15 samples: 15 prep tasks, 2 feature chunks (8 + 7), 3 folds x 2 points train tasks.
[ "$(count_events "$T/n3" prep done)" = 15 ] || fail "prep ran $(count_events "$T/n3" prep done) times, want 15"
[ "$(count_events "$T/n3" features done)" = 2 ] || fail "features ran $(count_events "$T/n3" features done) times, want 2 (shared by both n_rounds points)"
[ "$(count_events "$T/n3" train done)" = 6 ] || fail "train ran $(count_events "$T/n3" train done) times, want 6"
npred=$(h5dump -H -d /predictions/pred "$T/n3/results.h5" | grep -o 'SIMPLE { ( [0-9]* )' | grep -o '[0-9]*')
[ "$npred" = 30 ] || fail "want 30 prediction rows (15 samples x 2 points), got $npred"
h5dump -d /predictions/prob "$T/n3/results.h5" | grep -q nan && fail "NaN in the probabilities"

# another n_rounds value: only its 3 train tasks run
run_real "$T/n3" 1 model.attention.n_rounds=5 || fail "second sweep failed"
[ "$(count_events "$T/n3" features done)" = 2 ] || fail "features re-ran for a new n_rounds value"
[ "$(count_events "$T/n3" train done)" = 9 ] || fail "want 3 new train runs"

# leak-free inner validation and the LEAKY oracle epoch, labelled as such in results.h5 and the report
run_real "$T/sel" 1 eval.selection=inner_val eval.oracle_epoch=true model.attention.n_rounds=3 ||
    fail "inner_val + oracle run failed: $(tail -5 "$T/log")"
h5dump -d /oracle/label "$T/sel/results.h5" | grep -q LEAKY || fail "results.h5 has no LEAKY /oracle/label"
noracle=$(h5dump -H -d /oracle/pred "$T/sel/results.h5" | grep -o 'SIMPLE { ( [0-9]* )' | grep -o '[0-9]*')
[ "$noracle" = 15 ] || fail "want 15 oracle rows, got $noracle"
"$MER_BIN" report "$T/sel" >"$T/sel.md" || fail "mer report (oracle) failed"
grep -q LEAKY "$T/sel.md" || fail "the report does not label the oracle figures LEAKY"

# a corrupt clip and a clip without a face: their prep fails on the first attempt (runtime.retries is 2,
# but another attempt could only fail the same way); the run completes with the other 13 samples
victim=$(ls -d "$T/data"/sub02/*/ | head -1)
for f in "$victim"*.jpg; do echo "garbage" >"$f"; done
faceless=$(ls -d "$T/data"/sub03/*/ | head -1)
for f in "$faceless"*.jpg; do
    ffmpeg -nostdin -loglevel error -y -f lavfi -i color=c=gray:s=160x120 -frames:v 1 "$f" ||
        fail "ffmpeg cannot write a blank frame"
done
rc=0
run_real "$T/bad" 3 || rc=$?
[ "$rc" = 4 ] || fail "a run with a corrupt clip must finish with exit 4 (tasks failed), got $rc: $(tail -5 "$T/log")"
"$MER_BIN" status "$T/bad" >"$T/status.txt" 2>&1 || true
for v in "$victim" "$faceless"; do
    awk -F'\t' '$3=="prep" && $4=="failed" && $5==1' "$T/bad/ledger.tsv" | grep -q "$(basename "$v")" ||
        fail "$(basename "$v"): not failed after its first attempt: $(grep "$(basename "$v")" "$T/bad/ledger.tsv")"
    grep -q "$(basename "$v")" "$T/status.txt" || { cat "$T/status.txt"; fail "mer status does not name $v"; }
done
grep -q "no face found" "$T/bad/ledger.tsv" || fail "the faceless clip's reason is not 'no face found'"
[ "$(count_events "$T/bad" prep retry)" = 0 ] || fail "a permanent prep failure was retried"
[ "$(count_events "$T/bad" prep start)" = 15 ] || fail "want 15 prep starts (one per sample)"
npred=$(h5dump -H -d /predictions/pred "$T/bad/results.h5" | grep -o 'SIMPLE { ( [0-9]* )' | grep -o '[0-9]*')
[ "$npred" = 26 ] || fail "want 26 prediction rows (13 samples x 2 points), got $npred"

"$MER_BIN" report "$T/ref" >"$T/report.md" || fail "mer report failed"
grep -q "accuracy" "$T/report.md" || fail "report has no accuracy"
echo "OK: real pipeline: identical for 1/3 ranks, features shared across n_rounds, corrupt and faceless clips" \
    "failed at once and isolated, report"
