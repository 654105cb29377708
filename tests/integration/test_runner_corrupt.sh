#!/bin/bash
# Corrupt task files are never used. The ledger records a checksum of every finished task file. After a
# finished run, a train task file is truncated and a prep task file gets one flipped byte: `mer collect`
# refuses naming the file; the same `mer run` command reports both, recomputes exactly those two tasks and
# ends with the results of an uninterrupted run.
source "$MER_SRC/tests/integration/runner_common.sh"
reference
D=$T/run
run_mer "$D" 1 || fail "the first run: $(tail -5 "$T/log")"
grep -q $'\tdone\t.*\tfnv1a64:[0-9a-f]\{16\}$' "$D/ledger.tsv" || fail "no checksums in the ledger"
train=$(ls "$D"/tasks/train/*.h5 | head -1)
prep=$(ls "$D"/tasks/prep/*.h5 | head -1)
truncate -s $(( $(stat -c %s "$train") / 2 )) "$train"
size=$(stat -c %s "$prep")
at=$(( size - 200 ))
byte=$(od -An -tu1 -j "$at" -N1 "$prep" | tr -d ' ')
printf "$(printf '\\%03o' $(( byte ^ 1 )))" | dd of="$prep" bs=1 seek="$at" conv=notrunc status=none
[ "$(stat -c %s "$prep")" = "$size" ] || fail "the byte flip changed the size"

rc=0; "$MER_BIN" collect "$D" >"$T/collect.txt" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "$(basename "$train") does not match the checksum" "$T/collect.txt" ||
    fail "collect used or did not name the truncated file ($rc): $(cat "$T/collect.txt")"

lines=$(wc -l <"$D/ledger.tsv")
: >"$T/log"
run_mer "$D" 1 || fail "the resume exited $?: $(tail -5 "$T/log")"
for f in "$train" "$prep"; do
    grep -q "$(basename "$f") does not match the checksum" "$T/log" || fail "no report of $(basename "$f")"
done
ran=$(tail -n +$((lines + 1)) "$D/ledger.tsv" | awk -F'\t' '$4=="start" {print $2}' | sort -u)
want=$(printf '%s\n' "$(basename "$train" .h5)" "$(basename "$prep" .h5)" | sort)
[ "$ran" = "$want" ] || fail "re-ran [$ran], want exactly the two corrupt tasks [$want]"
same_as_reference "$D"
"$MER_BIN" collect "$D" >/dev/null || fail "collect after the recompute"
echo "OK: a truncated and a bit-flipped task file reported and recomputed (2 tasks re-run); results identical"
