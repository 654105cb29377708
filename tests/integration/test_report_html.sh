#!/usr/bin/env bash
# `mer report --format html` on a results.h5 of the real runner (`--stages test` pseudo-work, the demo's
# three swept keys, so the sweep legends are as long as the demo's): one self-contained page with every
# table of the Markdown report, every figure inline, the config and the versions. Then in a real browser
# (Debian's chromium, headless; the test is skipped with 77 when it is absent): the tables and figures are
# in the DOM, no element is wider than the page at 1024 and 800 px, no SVG text leaves its figure
# (the sweep legend used to run off the right edge).
SRC=${MER_SRC:?MER_SRC not set}
source "$(dirname "$0")/report_common.sh"
tiny_config "$T/demoish.yaml" "model.input: [frames, difference]" "model.attention.type: [lsh, none]" \
  "magnify.method: [linear, none]" "seeds: [0, 1]"
# the MEGC2019 protocol: the test stage's subjects then name their dataset, so the per-dataset table is on the page
sed -i 's/^dataset:/eval: {protocol: megc2019}\ndataset:/' "$T/demoish.yaml"
MER_TEST_TASK_MS=1 "$MER" run "$T/demoish.yaml" --stages test >"$T/run.log" 2>&1 ||
  { bad "mer run failed: $(tail -3 "$T/run.log")"; exit 1; }

"$MER" report "$T/out" --plots "$T/plots" >"$T/report.md" || bad "mer report (md)"
"$MER" report "$T/out" --format html --no-plots --out "$T/report.html" || bad "mer report --format html"
n_md_tables=$(grep -c '^|-' "$T/report.md")
n_figures=$(find "$T/plots" -name '*.svg' | wc -l)
n_tables=$(grep -c '<table>' "$T/report.html")
n_svgs=$(grep -c '<svg ' "$T/report.html")
# the HTML adds one table: the versions
[ "$n_tables" = $((n_md_tables + 1)) ] && ok "$n_tables tables: the Markdown report's $n_md_tables and the versions" ||
  bad "$n_tables tables in the HTML, $n_md_tables in the Markdown"
[ "$n_svgs" -ge 12 ] && [ "$n_svgs" = "$n_figures" ] && ok "$n_svgs figures inline (as many as --plots writes)" ||
  bad "$n_svgs inline figures, --plots wrote $n_figures"
grep -q '<h2>Per dataset</h2>' "$T/report.html" && ok "the per-dataset table is on the page" || bad "no per-dataset table"
grep -Eiq '<script|<link|<img|src=|href=|@import|url\(' "$T/report.html" && bad "the page refers to something outside itself" ||
  ok "self-contained: no script, link, image or url"
grep -q '<?xml' "$T/report.html" && bad "an XML declaration left inside the page" || ok "no XML declaration inside the page"
version=$(sed -n 's/^mer version: \([^;]*\);.*/\1/p' "$T/report.md")
grep -q "<tr><th>mer</th><td>$version</td></tr>" "$T/report.html" && ok "version $version" || bad "no version row"
grep -q "root: $T/data" "$T/report.html" && ok "the config is in the page" || bad "no config"
# the sweep legend fits its figure: the labels are ~47 characters of 12 px DejaVu Sans (at least 6.5 px each)
svg="$T/plots/sweep_model.input.svg"
width=$(sed -n 's/.*<svg [^>]* width="\([0-9]*\)".*/\1/p' "$svg" | head -1)
longest=$(sed -n 's/^<text x="622.0" y="[0-9.]*">\(.*\)<\/text>$/\1/p' "$svg" | awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }')
[ "$longest" -gt 30 ] && [ "$width" -ge $((622 + longest * 13 / 2)) ] &&
  ok "sweep legend: ${longest}-character labels in a ${width} px figure" || bad "sweep legend: $longest characters, width $width"

if ! command -v chromium >/dev/null 2>&1; then
  echo "SKIP: chromium is not installed (apt-get install chromium): the browser checks did not run"
  [ $fail = 0 ] && exit 77 || exit 1
fi
{ sed '/<\/body>/d;/<\/html>/d' "$T/report.html"; echo '<script>'; cat "$SRC/tests/integration/report_html_check.js"
  echo '</script></body></html>'; } >"$T/check.html"
for w in 1024 800; do
  mkdir -p "$T/profile$w"
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --user-data-dir="$T/profile$w" \
    --window-size=$w,900 --dump-dom "file://$T/check.html" >"$T/dom$w.html" 2>"$T/chromium$w.err"
  line=$(grep -o 'MER-CHECK tables=[0-9]* svgs=[0-9]* page=[0-9]* scroll=[0-9]* bad=[0-9]*' "$T/dom$w.html")
  if [ -z "$line" ]; then
    bad "chromium at $w px wrote no result: $(tail -3 "$T/chromium$w.err")"
    continue
  fi
  echo "     $w px: $line"
  [[ $line == "MER-CHECK tables=$n_tables svgs=$n_svgs "* ]] && ok "$w px: all $n_tables tables and $n_svgs figures in the DOM" ||
    bad "$w px: $line (want tables=$n_tables svgs=$n_svgs)"
  [[ $line == *" bad=0" ]] && ok "$w px: nothing outside the page width, no figure text outside its figure" ||
    bad "$w px: $(grep -A8 'MER-CHECK' "$T/dom$w.html" | tail -n +2 | head -8)"
done
exit $fail
