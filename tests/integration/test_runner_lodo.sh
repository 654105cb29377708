#!/usr/bin/env bash
# eval.protocol lodo through the runner (`mer run --stages test`, whose samples carry the composite's
# dataset prefixes under lodo): one fold per dataset, each held out once; then the report's per-dataset
# figures (JSON per_dataset) against an independent computation (awk, below) from the per-sample
# predictions that `mer report --megc-log` exports.
source "$(dirname "$0")/report_common.sh"
tiny_config "$T/lodo.yaml" "seeds: [0]"
sed -i 's/^dataset:/eval: {protocol: lodo}\ndataset:/; s/subjects: 4/subjects: 6/' "$T/lodo.yaml"
"$MER" run "$T/lodo.yaml" --stages test --dry-run >"$T/dry.txt" 2>&1 || { bad "dry run: $(tail -3 "$T/dry.txt")"; exit 1; }
for ds in casme2 samm smic; do
  grep -Eq "fold [0-9]+ $ds " "$T/dry.txt" && ok "a fold holds out $ds" || bad "no fold for $ds"
done
grep -Eq "x 3 folds;" "$T/dry.txt" && ok "3 folds" || bad "fold count: $(grep folds "$T/dry.txt")"
MER_TEST_TASK_MS=1 "$MER" run "$T/lodo.yaml" --stages test >"$T/run.log" 2>&1 || { bad "mer run: $(tail -3 "$T/run.log")"; exit 1; }
"$MER" report "$T/out" --no-plots --format json --out "$T/report.json" --megc-log "$T/log.txt" 2>"$T/report.err" ||
  bad "mer report: $(cat "$T/report.err")"
"$MER" report "$T/out" --no-plots >"$T/report.md" && grep -q "## Per dataset" "$T/report.md" &&
  ok "Markdown per-dataset table" || bad "no per-dataset table"

# Independent figures from the log (a fold header "dataset subject", then "sample truth prediction"):
# per dataset, accuracy; UAR over classes with a true sample; UF1 over classes that are true or predicted.
awk '
  NF == 2 { ds = $1; seen[ds] = 1; next }
  NF == 3 { n[ds]++; t[ds, $2]++; p[ds, $3]++; if ($2 == $3) { ok[ds]++; tp[ds, $2]++ }; cls[$2] = cls[$3] = 1 }
  END {
    for (d in seen) {
      ur = 0; nr = 0; uf = 0; nf = 0
      for (c in cls) {
        if (t[d, c] > 0) { ur += tp[d, c] / t[d, c]; nr++ }
        if (t[d, c] + p[d, c] > 0) { uf += 2 * tp[d, c] / (t[d, c] + p[d, c]); nf++ }
      }
      printf "%s %d %.9f %.9f %.9f\n", d, n[d], ok[d] / n[d], uf / nf, ur / nr
    }
  }' "$T/log.txt" | sort >"$T/want.txt"
# the same fields from the JSON report (one line per per_dataset entry)
tr -d '\n' <"$T/report.json" | grep -o '{"dataset": "[a-z0-9]*", "n": [0-9]*, "n_seeds": 1, "accuracy": [0-9.e-]*, "accuracy_std": [0-9.e-]*, "uf1": [0-9.e-]*, "uf1_std": [0-9.e-]*, "uar": [0-9.e-]*' |
  sed 's/[{}",:]//g' | awk '{ printf "%s %d %.9f %.9f %.9f\n", $2, $4, $8, $12, $16 }' | sort >"$T/got.txt"
[ "$(wc -l <"$T/want.txt")" = 3 ] && ok "3 held-out datasets in the log" || bad "log datasets: $(cat "$T/want.txt")"
diff "$T/want.txt" "$T/got.txt" >"$T/diff.txt" && ok "per-dataset accuracy/UF1/UAR equal the independent computation" ||
  bad "per-dataset figures differ (want < > got): $(cat "$T/diff.txt")"
grep -q '"n_folds": 3' "$T/report.json" && ok "report: 3 folds" || bad "report n_folds"
exit $fail
