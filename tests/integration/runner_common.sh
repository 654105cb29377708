# Shared by the runner's integration tests (sourced; not a test itself).
# Runs `mer run --stages test` (deterministic pseudo-work, runner/stage_test.c) on a tiny synthetic plan:
# 4 subjects x 3 classes x 2 clips = 24 samples, sweep n_rounds [3, 4] x seeds [0, 1], LOSO ->
# 24 prep + 12 features + 16 train tasks.
set -euo pipefail
: "${MER_BIN:?MER_BIN not set (run through ctest)}"
command -v mpirun >/dev/null || { echo "SKIP: mpirun not found (apt-get install openmpi-bin)"; exit 77; }
command -v h5dump >/dev/null || { echo "SKIP: h5dump not found (apt-get install hdf5-tools)"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export HDF5_USE_FILE_LOCKING=FALSE
T=$(mktemp -d)
cleanup() {
    # only the processes this test started
    for p in $(jobs -p); do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT

cat > "$T/run.yaml" <<YAML
dataset:
  format: synth
  synth:
    subjects: 4
    per_class: 2
train:
  epochs: 4
output:
  dir: $T/out
runtime:
  retries: 1
sweep:
  model.attention.n_rounds: [3, 4]
  seeds: [0, 1]
YAML

fail() { echo "FAIL: $*" >&2; exit 1; }

# mer run on DIR with N ranks (N=1: no mpirun); extra args follow. Prints nothing; returns mer's code.
run_mer() {
    local dir=$1 n=$2; shift 2
    if [ "$n" = 1 ]; then
        "$MER_BIN" run "$T/run.yaml" --stages test output.dir="$dir" "$@" >>"$T/log" 2>&1
    else
        mpirun --oversubscribe -n "$n" "$MER_BIN" run "$T/run.yaml" --stages test output.dir="$dir" "$@" >>"$T/log" 2>&1
    fi
}

# The results that must not depend on ranks, order or resumes: predictions and pooled metrics.
results_of() {
    h5dump -g /predictions -g /metrics "$1/results.h5" | tail -n +2
}

check_h5() { h5dump -H "$1" >/dev/null || fail "$1 does not open with h5dump"; }

# Number of ledger events of a stage (done, start, ...) in DIR.
count_events() { awk -F'\t' -v s="$2" -v e="$3" '$3==s && $4==e' "$1/ledger.tsv" | wc -l; }

# Wait until DIR's ledger has at least K "done" events (timeout 40 s).
wait_done() {
    local dir=$1 k=$2 i
    for i in $(seq 400); do
        if [ -f "$dir/ledger.tsv" ] && [ "$(awk -F'\t' '$4=="done"' "$dir/ledger.tsv" | wc -l)" -ge "$k" ]; then return 0; fi
        sleep 0.1
    done
    fail "timed out waiting for $k done tasks in $dir"
}

# PID of MPI rank R among the children of mpirun PID.
rank_pid() {
    local mp=$1 r=$2 p i
    for i in $(seq 100); do
        for p in $(pgrep -P "$mp" 2>/dev/null); do
            if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$r"; then echo "$p"; return 0; fi
        done
        sleep 0.1
    done
    fail "no rank $r under mpirun $mp"
}

# The uninterrupted single-process reference.
reference() {
    MER_TEST_TASK_MS=0 run_mer "$T/ref" 1 || fail "reference run failed: $(tail -5 "$T/log")"
    results_of "$T/ref" >"$T/ref.txt"
    [ "$(grep -c 'DATASET' "$T/ref.txt")" -ge 10 ] || fail "reference results look empty"
}

same_as_reference() {
    results_of "$1" >"$T/cmp.txt"
    cmp -s "$T/ref.txt" "$T/cmp.txt" || { diff "$T/ref.txt" "$T/cmp.txt" | head -20; fail "$1: results differ from the reference"; }
}

# mer run of the real stages: CONFIG on output dir DIR with N ranks (1: no mpirun); extra args follow.
run_real_config() {
    local cfg=$1 dir=$2 n=$3; shift 3
    if [ "$n" = 1 ]; then
        "$MER_BIN" run "$cfg" output.dir="$dir" "$@" >>"$T/log" 2>&1
    else
        mpirun --oversubscribe --bind-to none -n "$n" "$MER_BIN" run "$cfg" output.dir="$dir" "$@" >>"$T/log" 2>&1
    fi
}

# A tiny real dataset for the real stages (mer synth: 3 subjects x 5 classes x 1 clip, seed $1) in $T/data;
# prints the dataset and preprocess lines of a config for it.
real_dataset() {
    "$MER_BIN" synth "$T/data" --subjects 3 --per-class 1 --size 160x120 --seed "$1" >"$T/synth.log" 2>&1 ||
        fail "mer synth: $(tail -3 "$T/synth.log")"
    printf 'dataset: {format: casme2, root: %s, annotations: %s, min_class_samples: 0}\npreprocess: {size: 32}\n' \
        "$T/data" "$T/data/coding.csv"
}
