#!/bin/bash
# model.backbone.mode = finetune through `mer run` with the real stages, next to frozen in one sweep, on a
# tiny generated dataset: FEATURES files hold the prepared frames ('x', n x T x 3*S*S) instead of features,
# every TRAIN task trains ResNet-18 + head end to end (the saved backbones of two folds differ, so the
# backbone was updated; frozen folds save none), inner-validation selection and the LEAKY oracle write
# their epochs, results are identical on 1 and 3 ranks, and the report lists both points.
source "$MER_SRC/tests/integration/runner_common.sh"
{
    real_dataset 5
    cat <<YAML
magnify: {method: linear, schedule: {start: 1.0, step: 1.0, count: 3}}
model: {input: difference, attention: {d: 16}, head: {hidden: 8}}
train: {epochs: 3, batch_size: 4, lr: 0.01}
eval: {selection: inner_val, oracle_epoch: true}
output: {dir: $T/out, save_backbone: true}
sweep: {model.backbone.mode: [frozen, finetune]}
YAML
} > "$T/ft.yaml"
"$MER_BIN" run "$T/ft.yaml" output.dir="$T/one" >>"$T/log" 2>&1 || fail "1-rank run: $(tail -5 "$T/log")"
check_h5 "$T/one/results.h5"

# FEATURES: frozen files hold 'feat' (n, 3, 512), finetune files the frames 'x' (n, 3, 3*32*32)
n_feat=0 n_x=0
for f in "$T"/one/tasks/features/*.h5; do
    if h5dump -H -d /x "$f" >/dev/null 2>&1; then
        h5dump -H -d /x "$f" | grep -q "( [0-9]*, 3, 3072 )" || fail "$f: /x is not (n, 3, 3072)"
        n_x=$((n_x + 1))
    else
        h5dump -H -d /feat "$f" | grep -q "( [0-9]*, 3, 512 )" || fail "$f: /feat is not (n, 3, 512)"
        n_feat=$((n_feat + 1))
    fi
done
[ "$n_x" -ge 1 ] && [ "$n_feat" -ge 1 ] || fail "features files: $n_x with frames, $n_feat with features"

# TRAIN: finetune tasks save a backbone (output.save_backbone), frozen ones do not; two folds' differ
bb=()
for f in "$T"/one/tasks/train/*.h5; do
    h5dump -H -d /selection/epoch "$f" >/dev/null 2>&1 || fail "$f: no /selection/epoch (inner_val)"
    h5dump -H -d /oracle/epoch "$f" >/dev/null 2>&1 || fail "$f: no /oracle/epoch (oracle_epoch: true)"
    if h5dump -H -d /weights/backbone/conv1.weight "$f" >/dev/null 2>&1; then bb+=("$f"); fi
done
[ "${#bb[@]}" = 3 ] || fail "want 3 finetuned folds with a saved backbone, got ${#bb[@]}"
w0=$(h5dump -d /weights/backbone/layer4.1.conv2.weight "${bb[0]}" | tail -n +2 | md5sum)
w1=$(h5dump -d /weights/backbone/layer4.1.conv2.weight "${bb[1]}" | tail -n +2 | md5sum)
[ "$w0" != "$w1" ] || fail "two folds saved identical backbones: the backbone was not trained"

# the same results on 3 ranks
mpirun --oversubscribe --bind-to none -n 3 "$MER_BIN" run "$T/ft.yaml" output.dir="$T/three" >>"$T/log" 2>&1 ||
    fail "3-rank run: $(tail -5 "$T/log")"
[ "$(results_of "$T/one")" = "$(results_of "$T/three")" ] || fail "1 and 3 ranks give different results"

"$MER_BIN" report "$T/one" >"$T/report.md" 2>>"$T/log" || fail "mer report: $(tail -3 "$T/log")"
grep -q "finetune" "$T/report.md" && grep -q "frozen" "$T/report.md" || fail "report lacks the backbone sweep"
echo "OK: finetune runs through mer run next to frozen, trains the backbone, same results on 1 and 3 ranks"
