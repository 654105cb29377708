#!/bin/bash
# The installed tree works on its own: `cmake --install` into a temporary prefix, then, in a private mount
# namespace where the source and build trees are hidden under empty tmpfs mounts, from another folder:
# mer --version and --share, mer config on the installed demo config, a two-rank tiny demo run and
# mer report, man -l on the pages (every command has one, with its options), and the bash completion.
set -euo pipefail
: "${MER_BIN:?MER_BIN not set (run through ctest)}"
fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] && command -v unshare >/dev/null || { echo "SKIP: needs root and unshare to hide the source tree"; exit 77; }
command -v man >/dev/null || { echo "SKIP: man not found (apt-get install man-db)"; exit 77; }
command -v mpirun >/dev/null || { echo "SKIP: mpirun not found (apt-get install openmpi-bin)"; exit 77; }
unshare -m true 2>/dev/null || { echo "SKIP: unshare -m not permitted here"; exit 77; }
T=$(mktemp -d /tmp/mer_install_XXXXXX); trap 'rm -rf "$T"' EXIT
P=$T/prefix
cmake --install "$MER_BUILD" --prefix "$P" >"$T/install.log" 2>&1 || fail "cmake --install: $(tail -3 "$T/install.log")"
for f in bin/mer share/mer/configs/demo.yaml share/mer/slurm/mer.sbatch share/mer/slurm/mer_step.sh \
         share/mer/ref/torch_bench.py share/man/man1/mer.1 share/man/man1/mer-run.1 \
         share/bash-completion/completions/mer share/doc/mer/README.md share/doc/mer/LICENSE \
         share/doc/mer/CITATION.cff share/mer/modulefiles/mer.lua; do
    [ -e "$P/$f" ] || fail "not installed: $f"
done
grep -q "local prefix = \"$P\"" "$P/share/mer/modulefiles/mer.lua" || fail "module file has no prefix"

cat > "$T/inside.sh" <<'INSIDE'
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
mount -t tmpfs none "$MER_SRC"
case "$MER_BUILD/" in "$MER_SRC"/*) ;; *) mount -t tmpfs none "$MER_BUILD" ;; esac
[ -z "$(ls -A "$MER_SRC")" ] || fail "source tree still visible"
export PATH="$P/bin:$PATH" MANPATH="$P/share/man"
unset MER_SHARE MER_BIN MER_SRC_HIDDEN
mkdir -p "$T/work" && cd "$T/work"
mer --version >v.txt || fail "mer --version"
grep -q "^mer " v.txt || fail "no version line: $(head -1 v.txt)"
[ "$(mer version --share)" = "$P/share/mer" ] || fail "share folder: $(mer version --share) (want $P/share/mer)"
MER_SHARE=/elsewhere mer version --share >/dev/null 2>&1 && fail "a missing MER_SHARE was accepted"
mer config "$P/share/mer/configs/demo.yaml" >cfg.txt 2>&1 || fail "mer config on the installed demo: $(tail -3 cfg.txt)"
mpirun --oversubscribe -n 2 mer run "$P/share/mer/configs/demo.yaml" dataset.synth.subjects=3 \
    dataset.synth.per_class=1 dataset.min_class_samples=0 dataset.root=data preprocess.size=32 \
    magnify.schedule.count=3 model.attention.d=16 model.head.hidden=8 train.epochs=2 'sweep.seeds=[0]' \
    'model.input=frames' 'magnify.method=linear' output.dir=out >run.log 2>&1 ||
    fail "two-rank demo run: $(tail -5 run.log)"
mer report out --no-plots >report.md 2>&1 || fail "mer report: $(tail -3 report.md)"
grep -qi "accuracy" report.md || fail "report has no accuracy: $(head -5 report.md)"
# man pages: one per command of `mer --help`, each holding the command's options
for cmd in $(mer --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p'); do
    page=$(MANWIDTH=200 man -l "$P/share/man/man1/mer-$cmd.1" 2>/dev/null) || fail "no man page for mer $cmd"
    for opt in $(mer "$cmd" --help </dev/null 2>&1 | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
        grep -q -- "$opt" <<<"$page" || fail "mer-$cmd(1) lacks $opt"
    done
done
MANWIDTH=200 man mer-run 2>/dev/null | grep -q -- "--dry-run" || fail "man mer-run through MANPATH"
# completion: registered, completes commands, options, yaml files and config keys
source "$P/share/bash-completion/completions/mer"
complete -p mer | grep -q "_mer" || fail "completion not registered"
cp "$P/share/mer/configs/demo.yaml" my.yaml
comp() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _mer; printf '%s\n' "${COMPREPLY[@]}"; }
comp mer r | grep -qx run || fail "command completion: $(comp mer r | tr '\n' ' ')"
comp mer run --dr | grep -qx -- --dry-run || fail "option completion: $(comp mer run --dr | tr '\n' ' ')"
comp mer run my | grep -qx my.yaml || fail "config file completion: $(comp mer run my | tr '\n' ' ')"
comp mer run my.yaml train.ep | grep -qx "train.epochs=" || fail "config key completion: $(comp mer run my.yaml train.ep | tr '\n' ' ')"
comp mer report o | grep -qx out || fail "run folder completion: $(comp mer report o | tr '\n' ' ')"
compgen -W "$(_mer_commands)" -- sta | grep -qx status || fail "compgen over the command list"
echo "inside OK"
INSIDE
P="$P" T="$T" unshare -m bash "$T/inside.sh" >"$T/inside.log" 2>&1 || fail "$(tail -5 "$T/inside.log")"
grep -q "inside OK" "$T/inside.log" || fail "the hidden-tree checks did not finish: $(tail -3 "$T/inside.log")"
echo "OK: installed tree runs with the source and build trees hidden"
