#!/usr/bin/env bash
# `mer synth` and `mer data check`: exit codes (0 ok / usable, 1 failure / not usable, 2 usage), a generated
# dataset that checks, byte-identical regeneration, line-numbered problems of a damaged coding sheet,
# include/exclude from the command line, and dataset.format = synth generating on first use.
set -u
MER=${MER_BIN:?MER_BIN not set}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
expect_rc() {
    local want=$1 name=$2
    shift 2
    "$@" >out 2>err
    local rc=$?
    if [ "$rc" = "$want" ]; then ok "$name (exit $rc)"; else bad "$name: exit $rc, want $want"; sed 's/^/     /' out err; fi
}
has() { if grep -qF -- "$2" "$3"; then ok "$1"; else bad "$1: '$2' not in $3"; sed 's/^/     /' "$3"; fi; }

# ---- usage
expect_rc 0 "synth --help" "$MER" synth --help
has "synth --help documents --per-class" "--per-class" out
expect_rc 2 "synth without OUT_DIR" "$MER" synth
expect_rc 2 "synth bad size" "$MER" synth x --size 10x10
expect_rc 2 "synth unknown option" "$MER" synth x --frobnicate 3
expect_rc 1 "synth unknown class" "$MER" synth x --classes happiness,joy
has "unknown class named" "'joy'" err
expect_rc 0 "data --help" "$MER" data --help
expect_rc 2 "data without subcommand" "$MER" data
expect_rc 2 "data check without config" "$MER" data check

# ---- generate twice: identical bytes
expect_rc 0 "synth small" "$MER" synth ds --subjects 2 --per-class 1 --size 128x96 --seed 3
expect_rc 0 "synth again" "$MER" synth ds2 --subjects 2 --per-class 1 --size 128x96 --seed 3
if diff -r ds ds2 >/dev/null; then ok "same seed, identical files"; else bad "same seed gave different files"; fi
expect_rc 0 "synth other seed" "$MER" synth ds3 --subjects 2 --per-class 1 --size 128x96 --seed 4
if diff -rq ds ds3 >/dev/null; then bad "another seed gave the same files"; else ok "another seed, other files"; fi
expect_rc 1 "synth refuses an existing dataset" "$MER" synth ds --subjects 2 --per-class 1

cat > casme.yaml <<YAML
dataset:
  format: casme2
  root: ds
  annotations: ds/coding.csv
  min_class_samples: 0
YAML
expect_rc 0 "data check of generated data" "$MER" data check casme.yaml
has "reports usable" "usable: 10 samples, 2 subjects, 5 classes" out
has "per-class counts" "happiness" out

# ---- damage the sheet: line-numbered problems, not usable; exclude makes it usable again
cp ds/coding.csv ds/good.csv
awk -F, 'NR==3{$3="abc"} NR==5{$7="joy"} {print}' OFS=, ds/good.csv > ds/coding.csv
line3=$(sed -n 3p ds/coding.csv | cut -d, -f1,2 | sed 's/^/sub0/; s/,/\//')
line5=$(sed -n 5p ds/coding.csv | cut -d, -f1,2 | sed 's/^/sub0/; s/,/\//')
expect_rc 1 "data check of a damaged sheet" "$MER" data check casme.yaml
has "line 3 named" "coding.csv:3: error:" out
has "line 5 named" "coding.csv:5: error:" out
has "unknown emotion" "unknown emotion 'joy'" out
has "verdict" "NOT USABLE" out
expect_rc 0 "exclude the damaged samples" "$MER" data check casme.yaml "dataset.exclude=[$line3, $line5]"
has "8 samples left" "usable: 8 samples" out
rm -r ds/sub01
expect_rc 1 "missing frame folders" "$MER" data check casme.yaml
has "missing folder reported" "sub01/" out

# ---- video clips: SUBJ/CLIP.avi with 0-based frame numbers, read back through the CASME II reader
expect_rc 0 "synth --format video" "$MER" synth vid --subjects 2 --per-class 1 --size 96x96 --format video
if ls vid/sub01/*.avi >/dev/null 2>&1; then ok "videos written"; else bad "no vid/sub01/*.avi"; fi
if awk -F, 'NR>1 && $3 != 0 {exit 1}' vid/coding.csv; then ok "video onsets are frame 0"; else bad "video onsets not 0"; fi
sed 's/root: ds/root: vid/; s/annotations: ds/annotations: vid/' casme.yaml > vid.yaml
expect_rc 0 "data check of video clips" "$MER" data check vid.yaml
has "video dataset usable" "usable: 10 samples" out

# ---- dataset.format = synth generates on first use, then reads
cat > synth.yaml <<YAML
dataset:
  format: synth
  root: gen
  min_class_samples: 0
  synth:
    subjects: 2
    per_class: 1
    width: 96
    height: 96
YAML
expect_rc 0 "synth format generates and checks" "$MER" data check synth.yaml
has "generated" "usable: 10 samples, 2 subjects, 5 classes" out
if [ -f gen/coding.csv ]; then ok "gen/coding.csv written"; else bad "gen/coding.csv missing"; fi

echo "$fails failure(s)"
[ "$fails" = 0 ]
