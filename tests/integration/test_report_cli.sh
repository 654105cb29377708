#!/usr/bin/env bash
# `mer report` on a results.h5 written by the real runner (`mer run --stages test`: the runner's
# deterministic pseudo-work, so this checks the results.h5 contract between runner and report, not the
# numerics): every format, the runner's /metrics agree with the recomputation (no warnings), figures are
# well-formed XML, the MEGC2019 log has one header per fold, a failed task is reported with its reason.
source "$(dirname "$0")/report_common.sh"
tiny_config "$T/tiny.yaml" "model.attention.n_rounds: [3, 4]" "magnify.method: [linear, none]" "seeds: [0, 1]"
MER_TEST_TASK_MS=1 MER_TEST_CORRUPT=s02/c1_0 "$MER" run "$T/tiny.yaml" --stages test >"$T/run.log" 2>&1
rc=$?
[ $rc = 4 ] && ok "runner finished with one failed task (exit 4)" || bad "mer run exit $rc (want 4): $(tail -3 "$T/run.log")"

"$MER" report "$T/out" >"$T/report.md" 2>"$T/report.err" || bad "mer report (md) failed: $(cat "$T/report.err")"
grep -q "warning" "$T/report.err" && bad "runner /metrics disagree with the recomputation: $(grep -A3 '## Warnings' "$T/report.md")"
grep -q "## Sweep points" "$T/report.md" && ok "Markdown report" || bad "no sweep table"
grep -q "### Accuracy %: model.attention.n_rounds (rows) x magnify.method (columns)" "$T/report.md" &&
  ok "pivot table n_rounds x magnify.method" || bad "no pivot table"
[ "$(grep -c '^| \* |' "$T/report.md")" = 1 ] && ok "exactly one best point marked" || bad "best marker count"
grep -q "cannot decode the video (corrupt, MER_TEST_CORRUPT)" "$T/report.md" && ok "failed task and its reason listed" ||
  bad "failed task missing"
# 23 samples per seed: 24 minus the corrupt one
grep -Eq '^\| \*? *\| [0-9a-f]{16} +\| [34] +\| (linear|none) +\|.*\| 23 +\| 4 +\| 2 +\|' "$T/report.md" &&
  ok "n = 23 samples, 4 folds, 2 seeds per point" || bad "n/folds/seeds columns: $(grep -m2 '^| \*' "$T/report.md")"

for f in sweep_model.attention.n_rounds.svg sweep_magnify.method.svg; do
  [ -s "$T/out/plots/$f" ] || bad "missing figure $f"
done
n_svg=$(find "$T/out/plots" -name '*.svg' | wc -l)
[ "$n_svg" = 7 ] && ok "7 figures (2 sweeps, 4 confusion, 1 per-subject)" || bad "$n_svg figures"
if command -v xmllint >/dev/null 2>&1; then
  xmllint --noout "$T"/out/plots/*.svg && ok "figures are well-formed XML (xmllint)" || bad "xmllint rejects a figure"
fi

"$MER" report "$T/out" --format json --no-plots --out "$T/r.json" || bad "json"
grep -q '"schema": "mer-report/1"' "$T/r.json" && [ "$(grep -c '{"id": "' "$T/r.json")" -ge 4 ] &&
  ok "JSON report with 4 points" || bad "JSON content"
"$MER" report "$T/out" --format csv --no-plots --out "$T/r.csv" || bad "csv"
[ "$(wc -l <"$T/r.csv")" = 5 ] && ok "CSV: header + 4 rows" || bad "CSV has $(wc -l <"$T/r.csv") lines"

"$MER" report "$T/out" --no-plots --megc-log "$T/megc.txt" --seed 1 >/dev/null || bad "megc log"
[ "$(grep -c '^synth s0[1-4]$' "$T/megc.txt")" = 4 ] && [ "$(grep -vc '^synth ' "$T/megc.txt")" = 23 ] &&
  ok "MEGC2019 log: 4 fold headers, 23 sample lines" || bad "MEGC log: $(head -3 "$T/megc.txt")"

"$MER" report "$T/out" --format yaml >/dev/null 2>&1
[ $? = 2 ] && ok "bad format is a usage error (2)" || bad "bad format exit code"
"$MER" report "$T/nowhere" >/dev/null 2>&1
[ $? = 1 ] && ok "missing results is an error (1)" || bad "missing results exit code"
exit $fail
