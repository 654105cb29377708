#!/bin/bash
# One run per output folder. While a run is active: a second `mer run`, and a `--slice` of an array, refuse
# at once naming the holder (host, pid, start time) and change nothing; `mer status` shows the holder.
# Slices of one array share a folder; a slice of another array does not. A hold left by a SIGKILLed run
# (this host: its process is gone) and one from another host whose heartbeat is old are taken over with a
# notice; one from another host with a fresh heartbeat is respected.
source "$MER_SRC/tests/integration/runner_common.sh"
D=$T/run
host=$(hostname)
export MER_TEST_TASK_MS=150
snapshot() { (cd "$D" && find . -printf '%p %s %T@\n' | sort); }
wait_holder() { # FILE
    local i
    for i in $(seq 300); do [ -s "$1" ] && return 0; sleep 0.1; done
    fail "no holder file $1"
}

# 1. a whole run holds the folder
"$MER_BIN" run "$T/run.yaml" --stages test output.dir="$D" >>"$T/log" 2>&1 &
first=$!
wait_holder "$D/ledger.tsv.holder"
pid=$(cut -f2 "$D/ledger.tsv.holder")
[ "$pid" = "$first" ] || fail "holder pid $pid, want $first"
snapshot >"$T/before.txt"
for args in "" "--slice 0/2"; do
    t0=$(date +%s)
    rc=0; "$MER_BIN" run "$T/run.yaml" --stages test output.dir="$D" $args >"$T/second.txt" 2>&1 || rc=$?
    [ "$rc" = 1 ] || fail "a second run ($args) on a held folder exited $rc: $(tail -3 "$T/second.txt")"
    [ $(( $(date +%s) - t0 )) -lt 20 ] || fail "the refusal took more than 20 s"
    grep -q "another mer run is using this output folder: host $host, pid $first, started 20" "$T/second.txt" ||
        fail "the refusal does not name host, pid and start: $(cat "$T/second.txt")"
done
snapshot >"$T/after.txt"
# the first run's own progress changes files; the refused runs must not add any
[ -z "$(comm -13 <(cut -d' ' -f1 "$T/before.txt") <(cut -d' ' -f1 "$T/after.txt") | grep -v '\.h5$\|\.tmp$')" ] ||
    fail "a refused run added files: $(comm -13 <(cut -d' ' -f1 "$T/before.txt") <(cut -d' ' -f1 "$T/after.txt"))"
"$MER_BIN" status "$D" >"$T/status.txt"
grep -q "(running now)" "$T/status.txt" && grep -q "^held by host $host, pid $first, started" "$T/status.txt" ||
    fail "status does not show the holder: $(cat "$T/status.txt")"

# 2. SIGKILL: the stale hold is recognised, shown as such, and taken over with a notice
kill -KILL "$first"; wait "$first" 2>/dev/null || true
"$MER_BIN" status "$D" >"$T/status.txt"
grep -q "(not running)" "$T/status.txt" && grep -q "^stale hold" "$T/status.txt" ||
    fail "status after the kill: $(cat "$T/status.txt")"
: >"$T/log"
run_mer "$D" 1 || fail "the run after the kill exited $?: $(tail -3 "$T/log")"
grep -q "taking over from a run that is gone (host $host, pid $first" "$T/log" || fail "no take-over notice: $(grep -v info "$T/log" | head -3)"
[ ! -e "$D/ledger.tsv.holder" ] || fail "the holder file outlived its run"

# 3. another host: a fresh heartbeat is respected, an old one taken over
now=$(date +%s)
printf 'farhost\t4242\t%s\t%s\trun\t0123456789abcdef\n' "$now" "$now" >"$D/ledger.tsv.holder"
rc=0; run_mer "$D" 1 || rc=$?
[ "$rc" = 1 ] && grep -q "host farhost, pid 4242" "$T/log" || fail "a fresh hold from another host was not respected ($rc)"
printf 'farhost\t4242\t%s\t%s\trun\t0123456789abcdef\n' "$((now - 900))" "$((now - 600))" >"$D/ledger.tsv.holder"
: >"$T/log"
run_mer "$D" 1 || fail "an old hold from another host was not taken over: $(tail -3 "$T/log")"
grep -q "taking over from a run that is gone (host farhost" "$T/log" || fail "no notice for the old foreign hold"

# 4. slices: one array shares the folder, another array does not
E=$T/slices
"$MER_BIN" run "$T/run.yaml" --stages test output.dir="$E" --slice 0/2 >"$T/s0.txt" 2>&1 &
s0=$!
wait_holder "$E/ledger-slice-0-of-2.tsv.holder"
rc=0; "$MER_BIN" run "$T/run.yaml" --stages test output.dir="$E" --slice 0/3 >"$T/other.txt" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "pid $s0" "$T/other.txt" || fail "a slice of another array was let in ($rc): $(tail -2 "$T/other.txt")"
rc=0; "$MER_BIN" run "$T/run.yaml" --stages test output.dir="$E" >"$T/whole.txt" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "a whole run was let into a folder a slice holds"
"$MER_BIN" run "$T/run.yaml" --stages test output.dir="$E" --slice 1/2 >"$T/s1.txt" 2>&1 ||
    fail "slice 1/2 next to slice 0/2: $(tail -3 "$T/s1.txt")"
wait "$s0" || fail "slice 0/2: $(tail -3 "$T/s0.txt")"
echo "OK: second runs and foreign slices refused naming the holder; stale holds (killed, old foreign) taken over"
