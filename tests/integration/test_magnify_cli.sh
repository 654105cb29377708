#!/bin/bash
# mer magnify (sequence mode: images -> enhanced sequence) and mer convert-tf from the command line:
# outputs, printed factor lists, exit codes and messages. The network path runs only when the official
# MagNet checkpoint is available ($MER_MAGNET_CKPT prefix or $MER_SHARED/magnet/); its numerics are
# tested in tests/unit/test_magnet*.c.
set -u
MER=${MER_BIN:?MER_BIN not set}
T=$(mktemp -d /tmp/mer_magnify_cli_XXXXXX)
trap 'rm -rf "$T"' EXIT
fail=0
check() { # check DESCRIPTION COMMAND...
    local what=$1; shift
    if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fail=1; fi
}

# two 24x20 RGB images (binary PPM), the second a shifted gradient
ppm() { # ppm FILE SHIFT
    local w=24 h=20 s=$2 hex="" x y
    for ((y = 0; y < h; y++)); do
        for ((x = 0; x < w; x++)); do
            hex+=$(printf '\\x%02x\\x%02x\\x%02x' $(((x + s) * 10 % 256)) $((y * 12)) $(((x + y + s) * 5 % 256)))
        done
    done
    { printf 'P6\n%d %d\n255\n' $w $h; printf "$hex"; } > "$1"
}
LC_ALL=C ppm "$T/a.ppm" 0
LC_ALL=C ppm "$T/b.ppm" 1

out=$("$MER" magnify --onset "$T/a.ppm" --apex "$T/b.ppm" --method linear --out "$T/lin" 2>"$T/err")
check "linear: exit 0" test $? -eq 0
check "linear: 32 frames (default schedule)" test "$(ls "$T/lin" | grep -c '^frame_[0-9]*\.png$')" -eq 32
check "linear: patent schedule with 1 + alpha printed" grep -q "factors: 2 2.375 2.75 .* 13.25 13.625$" <<<"$out"

out=$("$MER" magnify --onset "$T/a.ppm" --apex "$T/b.ppm" --method none --schedule end:1:13:4 --factor alpha \
      --out "$T/none" 2>>"$T/err")
check "none: end form, alpha" grep -q "4 frames (none), factors: 1 5 9 13$" <<<"$out"
check "none: 4 frames" test "$(ls "$T/none" | wc -l)" -eq 4

"$MER" magnify --onset "$T/a.ppm" --apex "$T/b.ppm" --out "$T/net" 2>"$T/err"
check "network without weights: exit 1" test $? -eq 1
check "network without weights: says how to get them" grep -q "convert-tf" "$T/err"

"$MER" magnify --onset "$T/a.ppm" --apex "$T/b.ppm" --schedule ramp:1 --method linear --out "$T/x" 2>"$T/err"
check "bad schedule: exit 1 with message" bash -c "test $? -eq 1 && grep -q 'step:START:STEP:COUNT' '$T/err'"
"$MER" magnify --bogus 2>/dev/null
check "unknown option: exit 2" test $? -eq 2
"$MER" magnify --onset "$T/a.ppm" --out "$T/x" 2>/dev/null
check "missing --apex: exit 2" test $? -eq 2
"$MER" magnify --input p.h5 --onset "$T/a.ppm" 2>/dev/null
check "both modes: exit 2" test $? -eq 2
"$MER" magnify --help | grep -q -- "--schedule"
check "help documents --schedule" test $? -eq 0

"$MER" convert-tf "$T/nothing" "$T/o.h5" 2>"$T/err"
check "convert-tf missing checkpoint: exit 1" test $? -eq 1
check "convert-tf names the file" grep -q "nothing.index" "$T/err"
"$MER" convert-tf --list 2>/dev/null
check "convert-tf --list without prefix: exit 2" test $? -eq 2

ckpt=${MER_MAGNET_CKPT:-${MER_SHARED:-}/magnet/o3f_hmhm2_bg_qnoise_mix4_nl_n_t_ds3-259002}
if [ -r "${ckpt%.index}.index" ]; then
    out=$("$MER" convert-tf "$ckpt" "$T/magnet.h5")
    check "convert-tf official checkpoint: 42 kernels, 918928 parameters" \
        grep -q "42 float tensors (918928 parameters) and 1 other" <<<"$out"
    out=$("$MER" magnify --weights "$T/magnet.h5" --onset "$T/a.ppm" --apex "$T/b.ppm" --schedule list:2,4,8 \
          --factor alpha --out "$T/net" 2>>"$T/err")
    check "network: 3 frames" test "$(ls "$T/net" 2>/dev/null | wc -l)" -eq 3
else
    echo "note: official MagNet checkpoint not found at $ckpt; network mode not exercised here"
fi
exit $fail
