#!/usr/bin/env bash
# mer convert-pth end to end: mer's ResNet-18 pattern weights saved by torch.save (tests/ref/pth_resnet18.py)
# and converted by mer must equal tests/ref/pth_to_h5.py's output exactly (h5diff without tolerance);
# --model resnet18 warns about a missing and an unexpected key; refusals exit 1 with their reason.
# Needs torch and h5py (skipped without them); the torch-free parts are in tests/unit/test_pth.c.
set -euo pipefail
: "${MER_BIN:?}" "${MER_SRC:?}" "${MER_FIXTURES:?}"
py=/usr/bin/python3
$py -c 'import torch, h5py' 2>/dev/null || { echo "SKIP: python3 torch/h5py not installed"; exit 77; }
command -v h5diff >/dev/null || { echo "SKIP: h5diff (hdf5-tools) not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fail=1; }

"$MER_BIN" nn init --model resnet18 --pattern --seed 3 --classes 10 --output "$tmp/w.h5" >/dev/null
$py "$MER_SRC/tests/ref/pth_resnet18.py" "$tmp/w.h5" "$tmp/w.pth"
$py "$MER_SRC/tests/ref/pth_to_h5.py" "$tmp/w.pth" "$tmp/ref.h5" >/dev/null
"$MER_BIN" convert-pth --model resnet18 "$tmp/w.pth" "$tmp/mer.h5" >"$tmp/out.txt" 2>"$tmp/err.txt"
cat "$tmp/out.txt"
if h5diff "$tmp/mer.h5" "$tmp/ref.h5" && h5diff "$tmp/ref.h5" "$tmp/mer.h5"; then ok "resnet18 equals pth_to_h5.py exactly"
else bad "resnet18 differs from pth_to_h5.py"; fi
h5diff "$tmp/mer.h5" "$tmp/w.h5" >/dev/null && ok "round trip to mer's own weights" || bad "round trip"
[ "$(grep -c "notice: skipping '.*num_batches_tracked' (int64" "$tmp/err.txt")" = 20 ] && ok "20 num_batches_tracked skipped" \
  || { bad "num_batches_tracked notices"; cat "$tmp/err.txt"; }
grep -q "all 102 tensors" "$tmp/out.txt" && ! grep -q warning "$tmp/err.txt" && ok "no key warnings" || bad "key check"

$py "$MER_SRC/tests/ref/pth_resnet18.py" "$tmp/w.h5" "$tmp/w2.pth" --drop layer3.1.bn2.running_var --add head.extra
"$MER_BIN" convert-pth --model resnet18 "$tmp/w2.pth" "$tmp/w2.h5" 2>"$tmp/err2.txt" >/dev/null
grep -q "missing key 'layer3.1.bn2.running_var'" "$tmp/err2.txt" && grep -q "unexpected key 'head.extra'" "$tmp/err2.txt" \
  && ok "missing and unexpected keys warned" || { bad "key warnings"; cat "$tmp/err2.txt"; }

for f in evil_global evil_stack evil_opcode; do
  rc=0; "$MER_BIN" convert-pth "$MER_FIXTURES/pth/$f.pth" "$tmp/x.h5" 2>"$tmp/e.txt" || rc=$?
  if [ $rc = 1 ] && grep -q "refusing" "$tmp/e.txt" && [ ! -e "$tmp/x.h5" ]; then ok "$f refused: $(cat "$tmp/e.txt")"
  else bad "$f not refused (rc $rc)"; fi
done
head -c 2000 "$tmp/w.pth" >"$tmp/cut.pth"
rc=0; "$MER_BIN" convert-pth "$tmp/cut.pth" "$tmp/x.h5" 2>"$tmp/e.txt" || rc=$?
[ $rc = 1 ] && grep -q "truncated" "$tmp/e.txt" && ok "truncated refused: $(cat "$tmp/e.txt")" || bad "truncated (rc $rc)"
rc=0; "$MER_BIN" convert-pth "$tmp/w.pth" 2>/dev/null || rc=$?
[ $rc = 2 ] && ok "usage error exits 2" || bad "usage error rc $rc"
exit $fail
