#!/bin/bash
# mer face detect / landmarks from the command line: JSON shape, OpenCV's box on the astronaut fixture,
# exit codes (0 ok, 1 failure naming the file, 2 usage). Needs opencv-data and libdlib-data.
set -u
MER=${MER_BIN:?}; FIX=${MER_FIXTURES:?}/face
[ -r /usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml ] || { echo "SKIP: opencv-data missing"; exit 77; }
[ -r /usr/share/dlib/shape_predictor_68_face_landmarks.dat ] || { echo "SKIP: libdlib-data missing"; exit 77; }
fail=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

"$MER" face detect "$FIX/astronaut.png" > "$tmp/a.json"; rc=$?
check "detect exit 0" '[ $rc -eq 0 ]'
check "detect box as OpenCV" 'grep -q "\"box\": \[177, 66, 95, 95\]" "$tmp/a.json"'
check "68 landmarks" '[ "$(grep -o "\[[0-9.]*, [0-9.]*\]" "$tmp/a.json" | wc -l)" -eq 68 ]'
if [ -x /usr/bin/python3 ]; then
  check "valid JSON" '/usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert len(d[\"faces\"][0][\"landmarks\"])==68" "$tmp/a.json"'
fi
"$MER" face detect --raw --scale 1.2 --neighbors 5 "$FIX/scene.png" > "$tmp/s.json"; rc=$?
check "raw exit 0" '[ $rc -eq 0 ]'
check "raw: 3 boxes, no landmarks" '[ "$(grep -c "\"box\"" "$tmp/s.json")" -eq 3 ] && ! grep -q landmarks "$tmp/s.json"'
"$MER" face detect "$FIX/coffee.png" > "$tmp/c.json"; rc=$?
check "non-face image: exit 0, no faces" '[ $rc -eq 0 ] && grep -q "\"faces\": \[\]" "$tmp/c.json"'
"$MER" face landmarks "$FIX/astronaut.png" --box 179,75,266,162 > "$tmp/l.json"; rc=$?
check "landmarks exit 0" '[ $rc -eq 0 ] && grep -q "\"rect\": \[179, 75, 266, 162\]" "$tmp/l.json"'
"$MER" face detect "$tmp/missing.png" 2> "$tmp/err"; rc=$?
check "missing image: exit 1, named" '[ $rc -eq 1 ] && grep -q missing.png "$tmp/err"'
printf 'garbage' > "$tmp/bad.xml"
"$MER" face detect --cascade "$tmp/bad.xml" "$FIX/astronaut.png" 2> "$tmp/err"; rc=$?
check "bad cascade: exit 1, named" '[ $rc -eq 1 ] && grep -q bad.xml "$tmp/err"'
"$MER" face detect --scale 0.9 "$FIX/astronaut.png" 2>/dev/null; rc=$?
check "--scale 0.9: usage error" '[ $rc -eq 2 ]'
"$MER" face detect --bogus "$FIX/astronaut.png" 2>/dev/null; rc=$?
check "unknown option: exit 2" '[ $rc -eq 2 ]'
"$MER" face landmarks "$FIX/astronaut.png" --box 1,2,3 2>/dev/null; rc=$?
check "bad --box: exit 2" '[ $rc -eq 2 ]'
"$MER" face detect --help > /dev/null; rc=$?
check "--help exit 0" '[ $rc -eq 0 ]'
exit $fail
