#!/bin/bash
# Job-array mode: `mer run --slice I/N` processes running at the same time on one output directory (each
# with its own ledger; shared prep/features tasks reused or computed by whichever slice gets there, written
# under private temporary names), then `mer collect`: the same results as one uninterrupted run.
source "$MER_SRC/tests/integration/runner_common.sh"
reference
D=$T/slices
export MER_TEST_TASK_MS=40
pids=()
for i in 0 1 2; do
    "$MER_BIN" run "$T/run.yaml" --stages test output.dir="$D" --slice "$i/3" >"$T/slice$i.log" 2>&1 &
    pids+=($!)
done
for i in 0 1 2; do wait "${pids[$i]}" || fail "slice $i exited with $?: $(grep -E "warn|error" "$T/slice$i.log" | head -5)"; done
[ "$(ls "$D"/ledger-slice-*-of-3.tsv | wc -l)" = 3 ] || fail "want one ledger per slice"
[ ! -e "$D/results.h5" ] || fail "a slice wrote results.h5 (the collect job does)"
"$MER_BIN" collect "$D" >/dev/null || fail "collect"
same_as_reference "$D"
check_h5 "$D/results.h5"
ls "$D"/tasks/*/*.tmp 2>/dev/null && fail "temporary files left behind"
# every train task ran in exactly one slice
n=$(cat "$D"/ledger-slice-*.tsv | awk -F'\t' '$3=="train" && $4=="done"' | wc -l)
[ "$n" = 16 ] || fail "want 16 train runs over the slices, got $n"
"$MER_BIN" status "$D" | grep -Eq '^train +16 +0 +0 +0 +0' || fail "status: $("$MER_BIN" status "$D")"
# a re-run of a slice has nothing left to do
n1=$(cat "$D"/ledger-slice-*.tsv | awk -F'\t' '$4=="start"' | wc -l)
"$MER_BIN" run "$T/run.yaml" --stages test output.dir="$D" --slice 1/3 >>"$T/log" 2>&1 || fail "slice re-run"
n2=$(cat "$D"/ledger-slice-*.tsv | awk -F'\t' '$4=="start"' | wc -l)
[ "$n1" = "$n2" ] || fail "the re-run started $((n2 - n1)) tasks"
echo "OK: 3 concurrent slices + collect = the reference"
