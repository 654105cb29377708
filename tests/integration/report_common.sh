# Shared by the report tests (sourced; not a test itself): a temporary directory $T, ok/bad (set $fail),
# and tiny_config FILE SWEEP-LINE...: a tiny synthetic run for `mer run --stages test` (the runner's
# deterministic pseudo-work) writing to $T/out, with the given sweep lines.
set -u
MER=${MER_BIN:?MER_BIN not set}
T=$(mktemp -d /tmp/mer_test_report.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail=0
ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; fail=1; }

tiny_config() {
    local file=$1
    shift
    {
        cat <<YAML
dataset:
  format: synth
  root: $T/data
  synth: {subjects: 4, per_class: 2, width: 96, height: 96}
magnify: {method: linear, schedule: {count: 4}}
train: {epochs: 2}
output: {dir: $T/out}
sweep:
YAML
        printf '  %s\n' "$@"
    } >"$file"
}
