#!/usr/bin/env bash
# Build the libFuzzer targets (clang, ASan + UBSan), replay every committed corpus
# (tests/fuzz/seeds_<target>/), then fuzz each target for FUZZ_SECONDS (default 30), nproc targets at a
# time. Fails on any crash, leak, UBSan report or hang; the input that did it is printed (hex) and kept
# in FUZZ_ARTIFACTS (default build-fuzz/artifacts). FUZZ_TARGETS="config dataset" runs only those.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-30}
build=${FUZZ_BUILD:-build-fuzz}
jobs=$(nproc)
CC=${FUZZ_CC:-clang} cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DMER_FUZZ=ON -DMER_WERROR=ON >/dev/null
cmake --build "$build" -j "$jobs" --target fuzz >/dev/null
art=${FUZZ_ARTIFACTS:-$build/artifacts}
mkdir -p "$art"
art=$(cd "$art" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TMPDIR=$work   # the harnesses' scratch folders
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# longest input per target (the seed corpora hold longer files; those are replayed whole)
declare -A maxlen=([cascade]=4096 [dat]=2048 [config]=8192 [dataset]=2048 [tfckpt]=1024 [report]=1024 [plan]=1024
                   [pth]=8192)
# seeds kept elsewhere (test fixtures), replayed too
declare -A extra=([pth]=tests/fixtures/pth)
targets=${FUZZ_TARGETS:-$(cd tests/fuzz && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')}

one() { # target: replay, then fuzz; writes $work/$t.log and $work/$t.status
    local t=$1 bin="$build/fuzz_$1" seeds=()
    [ -d "tests/fuzz/seeds_$t" ] && seeds+=("tests/fuzz/seeds_$t")
    [ -n "${extra[$t]:-}" ] && seeds+=("${extra[$t]}")
    mkdir -p "$work/corpus_$t"
    if ! "$bin" -runs=0 -timeout=25 -artifact_prefix="$art/$t-" "${seeds[@]}" >"$work/$t.log" 2>&1; then
        echo "replay" >"$work/$t.status"
        return
    fi
    if ! "$bin" -max_total_time="$secs" -timeout=25 -max_len="${maxlen[$t]:-4096}" -print_final_stats=1 \
        -artifact_prefix="$art/$t-" "$work/corpus_$t" "${seeds[@]}" >>"$work/$t.log" 2>&1; then
        echo "fuzz" >"$work/$t.status"
        return
    fi
    echo ok >"$work/$t.status"
}

running=0
for t in $targets; do
    one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait

fail=0 n_ok=0 n_bad=0
printf '%-8s %10s %6s %7s %s\n' target execs cov ft result
for t in $targets; do
    st=$(cat "$work/$t.status" 2>/dev/null || echo "?")
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$work/$t.log" | tail -1 || true)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log" | tail -1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
    printf '%-8s %10s %6s %7s %s\n' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$st"
    if [ "$st" = ok ]; then n_ok=$((n_ok + 1)); else n_bad=$((n_bad + 1)); fi
    if [ "$st" != ok ]; then
        fail=1
        echo "---- fuzz_$t ($st) log tail:"
        tail -60 "$work/$t.log"
        for a in "$art/$t-"*; do
            [ -f "$a" ] || continue
            echo "---- input $a:"
            head -c 4096 "$a" | od -An -tx1 | head -64
        done
    fi
done
echo "fuzz: $n_ok passed, $n_bad failed"
exit $fail
