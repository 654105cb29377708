#!/bin/bash
# Every case of tests/fixtures/face/opencv_boxes.txt (cv2.CascadeClassifier.detectMultiScale on the fixture
# images: 6 cascades, grouped and raw candidates, min/max sizes) through `mer face detect --raw`: the boxes
# must be identical to OpenCV's (as sets; OpenCV's order depends on its threads). Release-speed companion of
# tests/unit/test_cascade.c, which checks a subset so that it stays fast under ASan. Needs opencv-data.
set -u
MER=${MER_BIN:?}; FIX=${MER_FIXTURES:?}/face
[ -r /usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml ] || { echo "SKIP: opencv-data missing"; exit 77; }
cases=0; bad=0
while read -r img cas sf mn mins maxs n rest; do
  [ "${img:0:1}" = "#" ] && continue
  case "$cas" in lbp*) dir=/usr/share/opencv4/lbpcascades ;; *) dir=/usr/share/opencv4/haarcascades ;; esac
  want=$(echo "$rest" | xargs -n 4 2>/dev/null | sort)
  got=$("$MER" face detect --raw --cascade "$dir/$cas" --scale "$sf" --neighbors "$mn" --min-size "$mins" \
        --max-size "$maxs" "$FIX/$img" | grep -o '"box": \[[0-9, -]*\]' | tr -d '"box:[],' | sed 's/^ *//' | sort)
  cases=$((cases + 1))
  if [ "$want" != "$got" ]; then
    bad=$((bad + 1))
    echo "FAIL $img $cas sf=$sf mn=$mn min=$mins max=$maxs: $(echo "$got" | grep -c .) boxes, OpenCV $n"
    diff <(echo "$want") <(echo "$got") | head -6
  fi
done < "$FIX/opencv_boxes.txt"
echo "$cases cases, $((cases - bad)) identical to OpenCV"
[ "$cases" -ge 124 ] || { echo "FAIL: expected >= 124 cases"; exit 1; }
[ "$bad" -eq 0 ]
