#!/bin/bash
# Bad input never costs data: on the folder of a finished run, a config that fails validation, a sweep the
# plan rejects, a dataset whose annotations fail, a missing dataset, and wrong --slice arguments all stop with
# an error before anything in the output folder changes (listing, sizes, modes and contents hashed).
source "$MER_SRC/tests/integration/runner_common.sh"
D=$T/run
run_mer "$D" 1 || fail "the first run: $(tail -5 "$T/log")"
snapshot() { (cd "$D" && find . -printf '%p %s %m %T@\n' | sort && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
snapshot >"$T/before.txt"

# a casme2 layout whose annotation sheet is broken (a row without the needed columns)
mkdir -p "$T/data/sub01/EP01"
printf 'Subject,Filename,OnsetFrame,ApexFrame,OffsetFrame,Estimated Emotion\n1,EP01,x\n' >"$T/bad.csv"
n=0
try() { # WHAT EXPECTED-RC ARGS...: mer run ARGS must exit EXPECTED-RC and leave $D as it was
    local what=$1 want=$2; shift 2
    local rc=0
    "$MER_BIN" run "$@" >"$T/out.txt" 2>&1 || rc=$?
    [ "$rc" = "$want" ] || fail "$what: exit $rc, want $want: $(tail -3 "$T/out.txt")"
    snapshot >"$T/after.txt"
    cmp -s "$T/before.txt" "$T/after.txt" || { diff "$T/before.txt" "$T/after.txt" | head; fail "$what changed the output folder"; }
    n=$((n + 1))
}
Y=$T/run.yaml
try "an unknown key" 1 "$Y" --stages test output.dir="$D" train.epohcs=3
try "a value out of range" 1 "$Y" --stages test output.dir="$D" train.epochs=-1
try "a sweep over dataset keys" 1 "$Y" --stages test output.dir="$D" 'sweep.dataset.synth.subjects=[3,4]'
try "broken annotations" 1 "$Y" output.dir="$D" dataset.format=casme2 dataset.root="$T/data" dataset.annotations="$T/bad.csv"
try "a missing dataset" 1 "$Y" output.dir="$D" dataset.format=casme2 dataset.root="$T/nowhere" dataset.annotations="$T/nowhere.csv"
try "--slice 2/2" 2 "$Y" --stages test output.dir="$D" --slice 2/2
try "--slice x" 2 "$Y" --stages test output.dir="$D" --slice x
try "--slice 0/0" 2 "$Y" --stages test output.dir="$D" --slice 0/0
try "a missing config" 1 "$T/none.yaml" --stages test output.dir="$D"
echo "OK: $n kinds of bad input, each refused with the output folder unchanged"
