#!/usr/bin/env bash
# mer nn forward|grad|train-step|init on the committed PyTorch fixtures (tests/ref/torch_*.py), compared
# with h5diff. The strict relative-L2 checks live in the unit tests; this checks the CLI plumbing and the
# file formats end to end (an independent element-wise comparison).
set -euo pipefail
: "${MER_BIN:?}" "${MER_FIXTURES:?}"
fx="$MER_FIXTURES/nn"
[ -f "$fx/resnet18_ref.h5" ] || { echo "SKIP: fixtures missing in $fx"; exit 77; }
command -v h5diff >/dev/null || { echo "SKIP: h5diff (hdf5-tools) not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # description, command...
  local what=$1; shift
  if "$@" >"$tmp/diff.txt" 2>&1; then echo "ok: $what"; else echo "FAIL: $what"; cat "$tmp/diff.txt"; fail=1; fi
}

# head: forward (logits, attention) and gradients, three configurations; the fixture is weights and input
for cfg in lsh_mean dense_flatten none_mean; do
  f="$fx/head_$cfg.h5"
  "$MER_BIN" nn forward --model head --weights "$f" --input "$f" --output "$tmp/o.h5" --threads 1
  check "head $cfg logits" h5diff -d 1e-5 "$tmp/o.h5" "$f" /logits /logits
  [ "$cfg" = none_mean ] || check "head $cfg attention" h5diff -d 1e-5 "$tmp/o.h5" "$f" /attn /attn
  "$MER_BIN" nn grad --model head --weights "$f" --input "$f" --output "$tmp/g.h5" --threads 1
  check "head $cfg loss" h5diff -d 1e-5 "$tmp/g.h5" "$f" /loss /loss
  check "head $cfg gradients" h5diff -d 1e-5 "$tmp/g.h5" "$f" /grad /grad
done

# resnet18: the fixture's deterministic weights written by `mer nn init --pattern`, then forward and one step
"$MER_BIN" nn init --model resnet18 --pattern --seed 7 --output "$tmp/w.h5"
"$MER_BIN" nn forward --model resnet18 --weights "$tmp/w.h5" --input "$fx/resnet18_ref.h5" --output "$tmp/y.h5"
check "resnet18 features" h5diff -d 2e-3 "$tmp/y.h5" "$fx/resnet18_ref.h5" /features /eval/features
check "resnet18 logits" h5diff -d 2e-3 "$tmp/y.h5" "$fx/resnet18_ref.h5" /logits /eval/logits
for engine in default reference; do # the build's engine (oneDNN when built with it) and the reference
  opt=(); [ $engine = default ] || opt=(--engine $engine)
  "$MER_BIN" nn train-step --model resnet18 --weights "$tmp/w.h5" --input "$fx/resnet18_ref.h5" --lr 0.05 \
    --output "$tmp/w2.h5" "${opt[@]}"
  check "resnet18 train-step loss ($engine)" h5diff -d 1e-4 "$tmp/w2.h5" "$fx/resnet18_ref.h5" /loss /train/loss
  for k in bn1.weight bn1.running_mean bn1.running_var layer4.1.bn2.bias layer2.0.downsample.1.running_var fc.bias; do
    check "resnet18 train-step $k ($engine)" h5diff -d 1e-5 "$tmp/w2.h5" "$fx/resnet18_ref.h5" "/$k" "/after/$k"
  done
done

# the ResNet-18 benchmark names the engine and times the convolutions it runs
for engine in default reference; do
  opt=(); [ $engine = default ] || opt=(--engine $engine)
  "$MER_BIN" nn bench --model resnet18 --train --size 32 --batch 2 --iters 1 --threads 1 "${opt[@]}" >"$tmp/bench.txt" 2>&1
  check "resnet18 bench figure line ($engine)" grep -q "^resnet18 train 32x32 batch 2 threads 1: [0-9.]* img/s" "$tmp/bench.txt"
  if [ $engine = reference ]; then want="convolution GEMMs alone"; else
    want=$("$MER_BIN" --version | grep -q oneDNN && echo "oneDNN convolutions alone" || echo "convolution GEMMs alone"); fi
  check "resnet18 bench times the $engine engine's convolutions" grep -q "; $want [0-9.]* s" "$tmp/bench.txt"
done

# the head's training benchmark runs at the patent's sizes and prints its figure line
"$MER_BIN" nn bench --model head --train --threads 1 --batch 2 --iters 2 >"$tmp/bench.txt" 2>&1
check "head bench figure line" grep -q "^head train T32 d_in512 d1024 batch 2 threads 1: [0-9.]* samples/s$" "$tmp/bench.txt"

# usage errors exit 2, failures exit 1
set +e
"$MER_BIN" nn bench --model head >/dev/null 2>&1; [ $? -eq 2 ] || { echo "FAIL: head bench without --train not exit 2"; fail=1; }
"$MER_BIN" nn forward --model resnet18 --bogus >/dev/null 2>&1; [ $? -eq 2 ] || { echo "FAIL: unknown option not exit 2"; fail=1; }
"$MER_BIN" nn bench --model resnet18 --engine gpu >/dev/null 2>&1; [ $? -eq 2 ] || { echo "FAIL: bad --engine not exit 2"; fail=1; }
"$MER_BIN" nn forward --model head --weights "$tmp/missing.h5" --input "$tmp/missing.h5" --output "$tmp/x.h5" 2>"$tmp/err.txt"
[ $? -eq 1 ] && grep -q missing.h5 "$tmp/err.txt" || { echo "FAIL: missing file not reported"; cat "$tmp/err.txt"; fail=1; }
set -e
exit $fail
