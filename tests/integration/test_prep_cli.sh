#!/usr/bin/env bash
# mer prep and mer face align end to end on a small synthetic dataset (mer synth): mer prep fills the PREP
# task cache of `mer run` (its --dry-run shows the hits), a failure recorded with its reason, re-run from the
# cache, --limit, other files per preprocess setting, exit 1 when nothing can be processed; mer face align
# on a face and on a blank image.
set -u
MER=${MER_BIN:?MER_BIN not set}
CASCADE=/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml
SHAPE=/usr/share/dlib/shape_predictor_68_face_landmarks.dat
for f in "$CASCADE" "$SHAPE"; do
  [ -r "$f" ] || { echo "SKIP: $f missing (Debian packages opencv-data, libdlib-data)"; exit 77; }
done
command -v h5ls >/dev/null || { echo "SKIP: h5ls (hdf5-tools) missing"; exit 77; }
command -v ffprobe >/dev/null || { echo "SKIP: ffprobe (ffmpeg) missing"; exit 77; }
T=$(mktemp -d /tmp/mer_test_prep_cli_XXXXXX)
trap 'rm -rf "$T"' EXIT
fail=0
check() { if eval "$1"; then echo "ok   $2"; else echo "FAIL $2"; fail=1; fi; }

"$MER" synth "$T/ds" --subjects 2 --per-class 1 --classes happiness,surprise --size 320x240 >/dev/null 2>&1 ||
  { echo "FAIL mer synth"; exit 1; }
cat > "$T/cfg.yaml" <<EOC
dataset:
  format: casme2
  root: $T/ds
  annotations: $T/ds/coding.csv
  classes: [happiness, surprise]
  min_class_samples: 0
output:
  dir: $T/out
EOC
# break one sample: remove its onset frame
row=$(sed -n 2p "$T/ds/coding.csv")
subj=$(printf 'sub%02d' "$(echo "$row" | cut -d, -f1)"); clipn=$(echo "$row" | cut -d, -f2); onset=$(echo "$row" | cut -d, -f3)
rm "$T/ds/$subj/$clipn/img$onset.jpg"
# and the apex frame of another: dataset.apex annotated (the default) spots it instead, with a warning
arow=$(sed -n 5p "$T/ds/coding.csv")
asub=$(printf 'sub%02d' "$(echo "$arow" | cut -d, -f1)"); aclip=$(echo "$arow" | cut -d, -f2); aapex=$(echo "$arow" | cut -d, -f4)
rm "$T/ds/$asub/$aclip/img$aapex.jpg"
# and a third has no apex in the sheet (CASME II writes '/')
mrow=$(sed -n 4p "$T/ds/coding.csv")
msub=$(printf 'sub%02d' "$(echo "$mrow" | cut -d, -f1)"); mclip=$(echo "$mrow" | cut -d, -f2)
awk -F, -v OFS=, 'NR == 4 {$4 = "/"} {print}' "$T/ds/coding.csv" > "$T/ds/c2" && mv "$T/ds/c2" "$T/ds/coding.csv"

"$MER" prep "$T/cfg.yaml" > "$T/run1.txt" 2> "$T/run1.err"; rc=$?
cat "$T/run1.txt"
check '[ $rc -eq 0 ]' "mer prep exit 0 (rc $rc)"
check 'grep -q "4 samples: 3 ok (3 computed, 0 from the cache), 1 failed" "$T/run1.txt"' "summary of the first run"
check 'grep -q "  $subj/$clipn: .*no frame number $onset" "$T/run1.txt"' "failure reason names the sample and the frame"
check 'grep -q "sample $asub/$aclip: annotated apex $aapex is not a frame of the clip.*spotted apex" "$T/run1.err"' \
  "an apex missing on disk is spotted, with a warning naming the sample"
check 'grep -q "1 sample(s) have no apex and get a spotted one ($msub/$mclip;" "$T/run1.err"' \
  "an apex missing in the sheet: a warning naming the sample"
"$MER" data check "$T/cfg.yaml" > "$T/check.txt" 2>&1
check 'grep -A1 "apex spotted" "$T/check.txt" | grep -q "$msub/$mclip" && grep -A1 "apex spotted" "$T/check.txt" | grep -q "$asub/$aclip"' \
  "mer data check lists the samples whose apex will be spotted"
cache=$(sed -n 's/^cache: //p' "$T/run1.txt")
check '[ "$cache" = "$T/out/tasks/prep" ]' "the cache is the run's PREP task folder"
# mer run sees mer prep's files as its own PREP tasks: cache hits, except the failed sample
"$MER" run "$T/cfg.yaml" --dry-run > "$T/dry1.txt" 2>/dev/null
check '[ "$(awk '"'"'$2 == "prep" && $9 == "hit"'"'"' "$T/dry1.txt" | wc -l)" -eq 3 ]' "mer run --dry-run: 3 prep cache hits"
check 'awk '"'"'$2 == "prep" && $9 == "-"'"'"' "$T/dry1.txt" | grep -q " $subj/$clipn "' "the failed sample is no hit"
other=$(tail -n +3 "$T/ds/coding.csv" | head -1)
osub=$(printf 'sub%02d' "$(echo "$other" | cut -d, -f1)"); oclip=$(echo "$other" | cut -d, -f2)
oid=$(awk -v s="$osub/$oclip" '$2 == "prep" && $6 == s {print $3}' "$T/dry1.txt")
check '[ -n "$oid" ] && h5ls -r "$cache/$oid.h5" | grep -q "/prep/0/onset .*{112, 112, 3}"' "aligned onset 112x112x3"
check 'h5ls -r "$cache/$oid.h5" | grep -q "/prep/0/landmarks .*{68, 2}"' "68 landmarks stored"
aid=$(awk -v s="$asub/$aclip" '$2 == "prep" && $6 == s {print $3}' "$T/dry1.txt")
check '[ -n "$aid" ] && h5ls -r "$cache/$aid.h5" | grep -q "/prep/0/spot/curve"' "the spotted sample keeps its motion curve"
check '! h5ls -r "$cache/$oid.h5" | grep -q "/prep/0/spot"' "an annotated apex is used as given (no curve)"

"$MER" prep "$T/cfg.yaml" > "$T/run2.txt" 2>/dev/null; rc=$?
check '[ $rc -eq 0 ] && grep -q "4 samples: 3 ok (0 computed, 3 from the cache), 1 failed" "$T/run2.txt"' "re-run reuses the cache"
"$MER" prep "$T/cfg.yaml" --limit 2 > "$T/run2b.txt" 2>/dev/null; rc=$?
check '[ $rc -eq 0 ] && grep -q "^prep: 2 samples: " "$T/run2b.txt"' "--limit 2: two samples"

"$MER" prep "$T/cfg.yaml" preprocess.size=64 preprocess.grey=true > "$T/run3.txt" 2>/dev/null; rc=$?
check '[ $rc -eq 0 ] && grep -q "3 computed" "$T/run3.txt"' "other preprocess setting, other cache files"
"$MER" run "$T/cfg.yaml" preprocess.size=64 preprocess.grey=true --dry-run > "$T/dry3.txt" 2>/dev/null
oid3=$(awk -v s="$osub/$oclip" '$2 == "prep" && $6 == s {print $3}' "$T/dry3.txt")
check '[ -n "$oid3" ] && [ "$oid3" != "$oid" ] && h5ls -r "$cache/$oid3.h5" | grep -q "/prep/0/apex .*{64, 64, 1}"' "grey 64 px crop"

"$MER" prep "$T/cfg.yaml" preprocess.min_face=1000 runtime.retries=0 > "$T/run4.txt" 2> "$T/run4.err"; rc=$?
check '[ $rc -eq 1 ] && grep -q "no face found" "$T/run4.txt"' "nothing processed: exit 1 (rc $rc)"

"$MER" prep "$T/cfg.yaml" --bogus >/dev/null 2>&1; rc=$?
check '[ $rc -eq 2 ]' "unknown option: exit 2"
"$MER" prep --help | grep -q "usage: mer prep"; check '[ $? -eq 0 ]' "prep --help"

# mer face align
img=$(ls "$T/ds/$osub/$oclip"/*.jpg | head -1)
"$MER" face align "$img" --out "$T/crop.png" --size 96 > "$T/align.json"; rc=$?
check '[ $rc -eq 0 ] && grep -q "\"transform\": \[" "$T/align.json"' "face align JSON"
check '[ "$(ffprobe -v error -show_entries stream=width,height -of csv=p=0 "$T/crop.png")" = "96,96" ]' "crop is 96x96"
ffmpeg -nostdin -loglevel error -y -f lavfi -i color=c=gray:s=200x150 -frames:v 1 "$T/blank.png"
"$MER" face align "$T/blank.png" --out "$T/none.png" > /dev/null 2> "$T/none.err"; rc=$?
check '[ $rc -eq 1 ] && grep -q "no face" "$T/none.err" && [ ! -e "$T/none.png" ]' "no face: exit 1, no file"
"$MER" face align "$img" > /dev/null 2>&1; rc=$?
check '[ $rc -eq 2 ]' "missing --out: exit 2"
exit $fail
