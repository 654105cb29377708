#!/bin/bash
# The runner gives identical predictions and metrics with 1, 2 and 4 ranks; shared stages are computed
# once per cache key (a sweep over n_rounds with a frozen backbone computes the features once) and are
# reused by a later run of a bigger sweep.
source "$MER_SRC/tests/integration/runner_common.sh"

reference
for n in 2 4; do
    run_mer "$T/n$n" "$n" || fail "-n $n exited with $?: $(tail -5 "$T/log")"
    same_as_reference "$T/n$n"
    check_h5 "$T/n$n/results.h5"
done

# 2 points x 2 seeds share every prep and features task: 24 preps and 12 feature chunks ran, once each.
[ "$(count_events "$T/n4" prep done)" = 24 ] || fail "prep ran $(count_events "$T/n4" prep done) times, want 24"
[ "$(count_events "$T/n4" features done)" = 12 ] || fail "features ran $(count_events "$T/n4" features done) times, want 12"
[ "$(count_events "$T/n4" train done)" = 16 ] || fail "train ran $(count_events "$T/n4" train done) times, want 16"
npred=$(h5dump -H -d /predictions/pred "$T/n4/results.h5" | grep -o 'SIMPLE { ( [0-9]* )' | grep -o '[0-9]*')
[ "$npred" = 96 ] || fail "want 96 prediction rows (24 samples x 4 variants), got $npred"

# A later run with a new n_rounds value (the override narrows the sweep to it): the dry run shows every prep/features task as a cache hit,
# and the run executes only the 8 new train tasks.
"$MER_BIN" run "$T/run.yaml" --stages test output.dir="$T/n4" model.attention.n_rounds=5 --dry-run >"$T/dry.txt"
grep -Eq '^prep +48 requested, +24 unique, +24 cache hits' "$T/dry.txt" || { cat "$T/dry.txt" | tail -4; fail "dry run: prep not all cached"; }
grep -Eq '^features +24 requested, +12 unique, +12 cache hits' "$T/dry.txt" || { tail -4 "$T/dry.txt"; fail "dry run: features not all cached"; }
grep -Eq '^train +8 requested, +8 unique, +0 cache hits' "$T/dry.txt" || { tail -4 "$T/dry.txt"; fail "dry run: train"; }
run_mer "$T/n4" 2 model.attention.n_rounds=5 || fail "second sweep failed"
[ "$(count_events "$T/n4" prep done)" = 24 ] || fail "prep re-ran in the second sweep"
[ "$(count_events "$T/n4" features done)" = 12 ] || fail "features re-ran in the second sweep"
[ "$(count_events "$T/n4" train done)" = 24 ] || fail "want 8 new train runs"
check_h5 "$T/n4/results.h5"
echo "OK: identical results for 1/2/4 ranks; features computed once per key (12 for 4 variants), reused by a later sweep"
