#!/bin/bash
# OpenBLAS fell back to generic kernels (forced with a shim that reports Prescott): mer re-runs itself with
# the family the CPU allows and says so; an OPENBLAS_CORETYPE the user set is kept, with a warning.
set -u
fail() { echo "FAIL: $*"; exit 1; }
flags=$(grep -m1 '^flags' /proc/cpuinfo)
if [[ " $flags " == *" avx512f "* && " $flags " == *" avx512bw "* && " $flags " == *" avx512vl "* ]]; then want=SkylakeX
elif [[ " $flags " == *" avx2 "* && " $flags " == *" fma "* ]]; then want=Haswell
else echo "SKIP: CPU has neither AVX-512 nor AVX2: no better family to choose"; exit 77; fi
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
cc -shared -fPIC -o "$T/shim.so" "$MER_SRC/tests/integration/shim/fake_openblas_core.c" || fail "shim build"

out=$(env -u OPENBLAS_CORETYPE -u MER_OPENBLAS_FALLBACK LD_PRELOAD="$T/shim.so" "$MER_BIN" version) || fail "mer version"
grep -q "core $want, chosen by mer; OpenBLAS picked Prescott" <<<"$out" || fail "not corrected: $(grep OpenBLAS <<<"$out")"

# the choice reaches the engine: the thread description of `mer nn bench` names it
env -u OPENBLAS_CORETYPE -u MER_OPENBLAS_FALLBACK LD_PRELOAD="$T/shim.so" "$MER_BIN" nn bench --model resnet18 \
    --size 32 --batch 1 --threads 1 --iters 1 >"$T/bench" 2>&1 || fail "bench: $(tail -3 "$T/bench")"
grep -q "$want kernels chosen by mer, OpenBLAS picked Prescott" "$T/bench" ||
    fail "bench log does not name the family: $(grep -i kernel "$T/bench" | head -2)"

# a family the user set is respected, and the narrower one is warned about
env -u MER_OPENBLAS_FALLBACK OPENBLAS_CORETYPE=Prescott LD_PRELOAD="$T/shim.so" "$MER_BIN" nn bench --model resnet18 \
    --size 32 --batch 1 --threads 1 --iters 1 >"$T/user" 2>&1 || fail "bench with user family: $(tail -3 "$T/user")"
grep -q "Prescott kernels" "$T/user" || fail "user's OPENBLAS_CORETYPE not kept: $(grep -i kernel "$T/user" | head -2)"
grep -q "chosen by mer" "$T/user" && fail "mer overrode the user's OPENBLAS_CORETYPE"
grep -q "OPENBLAS_CORETYPE keeps OpenBLAS on narrower kernels" "$T/user" || fail "no warning for the narrow family"
echo "OK: generic family replaced by $want; a user-set family kept with a warning"
