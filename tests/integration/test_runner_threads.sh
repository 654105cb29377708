#!/bin/bash
# runtime.threads above the CPUs of the process's affinity: the rank warns and uses as many threads as it
# has CPUs (OpenMP threads spin-waiting on one core would crawl), and the results equal a 1-thread run.
source "$MER_SRC/tests/integration/runner_common.sh"
command -v taskset >/dev/null || { echo "SKIP: taskset not found (util-linux)"; exit 77; }
run_mer "$T/one" 1 runtime.threads=1 || fail "1-thread run: $(tail -3 "$T/log")"
taskset -c 0 "$MER_BIN" run "$T/run.yaml" --stages test output.dir="$T/capped" runtime.threads=4 >"$T/capped.log" 2>&1 ||
    fail "capped run: $(tail -3 "$T/capped.log")"
grep -q "4 threads asked for but only 1 CPU(s) in this process's affinity: using 1" "$T/capped.log" ||
    fail "no warning about the thread cap: $(grep -i thread "$T/capped.log" | head -3)"
grep -q "1 CPU(s) in affinity, 1 thread " "$T/capped.log" || fail "the rank did not use 1 thread"
[ "$(results_of "$T/one")" = "$(results_of "$T/capped")" ] || fail "capped run gives other results"
echo "OK: threads capped at the affinity, with a warning, same results"
