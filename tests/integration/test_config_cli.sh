#!/usr/bin/env bash
# mer CLI smoke tests and `mer config`: exit codes (0 ok, 1 bad config, 2 usage), located errors on
# stderr, --print round trip, --points, --keys, the example config.
set -u
MER=${MER_BIN:?MER_BIN not set}
SRC=${MER_SRC:?MER_SRC not set}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
# expect_rc WANT NAME CMD...: run CMD, stdout -> out, stderr -> err, check the exit status
expect_rc() {
    local want=$1 name=$2
    shift 2
    "$@" >out 2>err
    local rc=$?
    if [ "$rc" = "$want" ]; then ok "$name (exit $rc)"; else bad "$name: exit $rc, want $want"; sed 's/^/     /' err; fi
}
has() { if grep -qF -- "$2" "$3"; then ok "$1"; else bad "$1: '$2' not in $3"; sed 's/^/     /' "$3"; fi; }

# ---- the mer CLI
expect_rc 0 "mer --help" "$MER" --help
has "--help lists config" "config" out
expect_rc 0 "mer --version" "$MER" --version
has "--version names mer" "mer " out
has "--version names libyaml" "libyaml" out
expect_rc 2 "unknown command" "$MER" no-such-command
has "unknown command message" "unknown command 'no-such-command'" err
expect_rc 2 "no command" "$MER"

# ---- mer config usage
expect_rc 0 "config --help" "$MER" config --help
has "config --help documents --points" "--points" out
has "config --help documents --print" "--print" out
has "config --help documents --keys" "--keys" out
expect_rc 2 "config unknown option" "$MER" config --frobnicate x.yaml
has "unknown option message" "mer config: unknown option '--frobnicate'" err
expect_rc 2 "config without file" "$MER" config
expect_rc 2 "two config files" "$MER" config a.yaml b.yaml
expect_rc 0 "config --keys" "$MER" config --keys
has "--keys lists n_rounds" "model.attention.n_rounds" out
has "--keys shows ranges" "(0, 10]" out

# ---- valid and invalid configs
printf 'train:\n  lr: 3e-4\nsweep:\n  model.attention.n_rounds: [3, 4]\n  seeds: [0, 1, 2]\n' > good.yaml
expect_rc 0 "valid config" "$MER" config good.yaml
has "summary line" "good.yaml: ok (2 points x 3 seeds)" out
printf 'model:\n  attention:\n    n_round: 3\ntrain:\n  lr: fast\n' > bad.yaml
expect_rc 1 "invalid config" "$MER" config bad.yaml
cat > want <<'W'
bad.yaml:3:5: unknown key 'n_round' (did you mean 'n_rounds'?)
    n_round: 3
    ^
bad.yaml:5:7: 'fast' is not a number for 'train.lr'
  lr: fast
      ^
W
if diff -u want err; then ok "errors on stderr, exact"; else bad "errors on stderr"; fi
expect_rc 1 "bad override" "$MER" config good.yaml train.lr=abc
has "override message" "override 'train.lr=abc': 'abc' is not a number for 'train.lr'" err
expect_rc 1 "missing file" "$MER" config missing.yaml
has "missing file message" "missing.yaml: cannot open config" err

# ---- --print round trip and --points
expect_rc 0 "--print" "$MER" config good.yaml train.epochs=7 --print
cp out p1.yaml
has "--print has defaults" "  cascade: /usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml" p1.yaml
has "--print has the override" "  epochs: 7" p1.yaml
has "--print has the sweep" "  model.attention.n_rounds: [3, 4]" p1.yaml
expect_rc 0 "--print of the printed config" "$MER" config p1.yaml --print
if cmp -s p1.yaml out; then ok "print -> load -> print identical"; else bad "round trip"; diff p1.yaml out; fi
expect_rc 0 "--points" "$MER" config good.yaml --points
cp out points1
if [ "$(grep -c $'^[0-9]\+\t[0-9a-f]\{16\}\t' points1)" = 2 ]; then ok "two points listed"; else bad "points"; cat points1; fi
has "point 0 params" $'\tmodel.attention.n_rounds=3' points1
has "seeds listed" "seeds: 0 1 2" points1
"$MER" config p1.yaml --points > points2 2>/dev/null
if "$MER" config good.yaml train.epochs=7 --points | cmp -s - points2; then ok "printed config has the same point ids"
else bad "point ids differ after round trip"; fi

# ---- the example config documents every key and is valid
expect_rc 0 "configs/example.yaml is valid" "$MER" config "$SRC/configs/example.yaml"
"$MER" config --keys | awk 'NR > 1 && $1 !~ /^sweep/ {print $1}' > keys
missing=0
while read -r k; do
    leaf=${k##*.}
    grep -qE "^ *${leaf}:" "$SRC/configs/example.yaml" || { echo "     example.yaml lacks $k"; missing=1; }
done < keys
if [ $missing = 0 ]; then ok "example.yaml mentions every key"; else bad "example.yaml misses keys"; fi

echo "$fails failed"
[ $fails = 0 ]
