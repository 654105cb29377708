#!/usr/bin/env bash
# The newer datasets through the command line: `mer synth` writes a small CASME II-layout set, a few lines of
# bash rewrite it into CAS(ME)³ part A's layout (spNO.N/CLIP/color/N.jpg and the publisher's sheet, with a
# recording holding two micro-expressions and a missing apex), `mer data check` reads it; then a composite
# of the two (casme2 + casme3) is checked and planned leave-one-dataset-out (`mer run --dry-run`: 2 folds).
source "$(dirname "$0")/report_common.sh"
cd "$T"
has() { if grep -qF -- "$2" "$3"; then ok "$1"; else bad "$1: '$2' not in $3"; sed 's/^/     /' "$3"; fi; }

"$MER" synth ds --subjects 2 --per-class 1 --size 128x96 --classes disgust,surprise --seed 3 >synth.log 2>&1 ||
  { bad "mer synth: $(tail -2 synth.log)"; exit 1; }
# CASME II layout -> CAS(ME)³ part A: sub0N/CLIP/imgK.jpg -> spNO.N/c<i>/color/K.jpg; the sheet's columns
# Subject,Filename,Onset,Apex,Offset,AU,Objective class,emotion (synth's header: Subject,Filename,OnsetFrame,
# ApexFrame,OffsetFrame,Action Units,Estimated Emotion)
mkdir c3
echo "Subject,Filename,Onset,Apex,Offset,AU,Objective class,emotion" >c3/partA.csv
i=0
tail -n +2 ds/coding.csv | tr -d '\r' | while IFS=, read -r subj clip on ap off aus emo; do
  i=$((i + 1))
  n=$((10#${subj#sub}))
  mkdir -p "c3/spNO.$n/c$i/color"
  for f in ds/$(printf 'sub%02d' "$n")/"$clip"/img*.jpg; do
    k=${f##*/img}
    cp "$f" "c3/spNO.$n/c$i/color/$k"
  done
  echo "spNO.$n,c$i,$on,$ap,$off,$aus,1,$emo" >>c3/partA.csv
  # the first clip holds a second micro-expression, its apex not coded
  [ $i = 1 ] && echo "spNO.$n,c$i,$on,,$off,$aus,1,$emo" >>c3/partA.csv
done
n_rows=$(($(wc -l <c3/partA.csv) - 1))
[ "$n_rows" = 5 ] && ok "CAS(ME)³ tree written (5 rows)" || bad "$n_rows rows in the sheet"

cat >c3.yaml <<YAML
dataset: {format: casme3, root: c3, annotations: c3/partA.csv, min_class_samples: 0}
YAML
"$MER" data check c3.yaml >check.txt 2>&1 && ok "casme3 data check passes" || { bad "casme3 data check failed"; cat check.txt; }
has "5 samples, 2 subjects, 2 classes" "dataset casme3: 5 samples, 2 subjects, 2 classes" check.txt
has "the repeated recording numbered" "/c1_2: apex missing" check.txt

cat >comp.yaml <<YAML
dataset:
  format: composite
  sources: ["casme2:ds:ds/coding.csv", "casme3:c3:c3/partA.csv"]
  min_class_samples: 0
eval: {protocol: lodo}
preprocess: {size: 64}
magnify: {method: linear, schedule: {count: 4}}
output: {dir: out}
YAML
"$MER" data check comp.yaml >ccheck.txt 2>&1 && ok "composite data check passes" || { bad "composite check failed"; cat ccheck.txt; }
has "9 samples of 4 subjects, 2 MEGC classes" "dataset composite: 9 samples, 4 subjects, 2 classes" ccheck.txt
has "subjects prefixed" "casme3_spNO.1" ccheck.txt
"$MER" run comp.yaml --dry-run >dry.txt 2>&1 || { bad "dry run: $(tail -3 dry.txt)"; }
has "lodo: 2 folds" "x 2 folds;" dry.txt
exit $fail
