#!/bin/bash
# A full disk (small tmpfs mounts, as root, in a private mount namespace; skipped otherwise) hit while
# writing the prep cache, a train task file, the ledger, and results.h5. Each time: exit 1, the message names
# the path and "No space left on device", no MPI_ABORT, no task recorded as failed or retried, no torn
# ledger line, every *.h5 under the output folder opens (no half-written file under a finished name), no
# .tmp file left; after the space is freed the same command resumes and ends with the results of an
# uninterrupted run.
source "$MER_SRC/tests/integration/runner_common.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (tmpfs mounts)"; exit 77; }
command -v unshare >/dev/null && unshare -m true 2>/dev/null || { echo "SKIP: unshare -m not permitted"; exit 77; }
reference

cat >"$T/inside.sh" <<'INSIDE'
set -euo pipefail
source "$MER_SRC/tests/integration/runner_common.sh" # a fresh T inside; the reference is passed in
trap 'for m in $(findmnt -rn -o TARGET | grep "^$T/" | sort -r); do umount "$m"; done; cleanup' EXIT
export MER_TEST_TASK_MS=20
check_stop() { # DIR LOG RC PATH-PATTERN: a clean stop for lack of space while writing PATH
    local d=$1 log=$2 rc=$3 pat=$4
    [ "$rc" = 1 ] || fail "$pat: exit $rc, want 1: $(tail -5 "$log")"
    grep -Eq "$pat.*No space left on device" "$log" || fail "no message naming $pat and the reason: $(grep -v info "$log" | head -5)"
    ! grep -q "MPI_ABORT" "$log" || fail "$pat: the run ended in MPI_ABORT"
    [ ! -s "$d/ledger.tsv" ] || [ "$(tail -c1 "$d/ledger.tsv" | od -An -c | tr -d ' ')" = '\n' ] ||
        fail "$pat: torn last ledger line"
    ! awk -F'\t' '$4=="failed" || $4=="retry"' "$d/ledger.tsv" | grep -q . ||
        fail "$pat: a transient fault was recorded as a task failure: $(awk -F'\t' '$4=="failed" || $4=="retry"' "$d/ledger.tsv")"
    find "$d" -name '*.h5' | while read -r f; do h5dump -H "$f" >/dev/null 2>&1 || fail "$f does not open"; done
    [ -z "$(find "$d" -name '*.tmp')" ] || fail "temporary files left: $(find "$d" -name '*.tmp')"
}
resume_same() { # DIR N: the same command after freeing space finishes with the reference results
    run_mer "$1" "$2" || fail "the resume after freeing space exited with $?: $(tail -5 "$T/log")"
    results_of "$1" >"$T/cmp.txt"
    cmp -s "$REF" "$T/cmp.txt" || fail "$1: results after the resume differ from the reference"
    "$MER_BIN" status "$1" | grep -Eq '^train +16 +0 +0 +0 +0' || fail "status after the resume: $("$MER_BIN" status "$1")"
}
fill() { # DIR FREE_KB: leave about FREE_KB free on DIR's file system
    local avail; avail=$(df -k --output=avail "$1" | tail -1)
    [ "$avail" -gt "$2" ] || fail "$1 has only $avail KiB"
    head -c $(( (avail - $2) * 1024 )) /dev/zero >"$1/filler" 2>/dev/null || true
}

# 1, 2: the prep cache (3 ranks: a worker's write fails), then the train task files (one process): a small
# tmpfs at out/tasks/<stage>
for stage in prep train; do
    n=3; [ "$stage" = prep ] || n=1
    D=$T/$stage; mkdir -p "$D/tasks/$stage"
    mount -t tmpfs -o size=2m tmpfs "$D/tasks/$stage" || { echo "SKIP: mount failed"; exit 77; }
    fill "$D/tasks/$stage" 64
    rc=0; run_mer "$D" "$n" || rc=$?
    cp "$T/log" "$T/$stage.log"; : >"$T/log"
    check_stop "$D" "$T/$stage.log" "$rc" "$D/tasks/$stage/"
    rm "$D/tasks/$stage/filler"
    resume_same "$D" "$n"
    echo "ok: full $stage cache: clean stop, resumed identical"
done

# 3, 4: the ledger, then results.h5: a small tmpfs for the run folder, tasks/ on a roomy one
D=$T/ledger; mkdir -p "$D"
mount -t tmpfs -o size=1m tmpfs "$D" || { echo "SKIP: mount failed"; exit 77; }
mkdir -p "$D/tasks" && mount -t tmpfs -o size=16m tmpfs "$D/tasks"
fill "$D" $((PLAN_KB + 8)) # room for the holder file, plan.h5 and at most a page of ledger lines
rc=0; run_mer "$D" 3 || rc=$?
cp "$T/log" "$T/ledger.log"; : >"$T/log"
check_stop "$D" "$T/ledger.log" "$rc" "$D/ledger.tsv"
rm "$D/filler"
resume_same "$D" 3
echo "ok: full ledger: clean stop, resumed identical"
cp "$D/results.h5" "$T/results.before"
fill "$D" 0
rc=0; "$MER_BIN" collect "$D" >"$T/collect.log" 2>&1 || rc=$?
check_stop "$D" "$T/collect.log" "$rc" "$D/results.h5"
cmp -s "$D/results.h5" "$T/results.before" || fail "a failed collect changed results.h5"
rm "$D/filler"
"$MER_BIN" collect "$D" >/dev/null || fail "collect after freeing space"
results_of "$D" >"$T/cmp.txt"; cmp -s "$REF" "$T/cmp.txt" || fail "results.h5 after the second collect differs"
echo "ok: full disk at collect: results.h5 kept, rebuilt after freeing space"
INSIDE
cp "$T/ref.txt" "$T/ref.keep"
PLAN_KB=$(( ($(stat -c %s "$T/ref/plan.h5") + 4095) / 4096 * 4 )) REF=$T/ref.keep unshare -m --propagation private bash "$T/inside.sh" || exit $?
echo "OK: full disk in the prep cache, a train task file, the ledger and results.h5: clean stops, identical resumes"
