#!/bin/bash
# Man pages from the same text as --help, at build time (never edited by hand):
#   mkman.sh MER_BIN OUTDIR VERSION
# writes OUTDIR/mer.1 (from `mer --help`) and OUTDIR/mer-CMD.1 for every command `mer --help` lists
# (from `mer CMD --help`), plus mer-CMD-SUB.1 for commands with actions (face, data, nn) whose
# `mer CMD SUB --help` is its own text. Help text is kept verbatim in a no-fill block.
set -euo pipefail
mer=$1 out=$2 version=$3
mkdir -p "$out"
date=$(date -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}" +%Y-%m-%d)

# roff-escape a help text: backslashes, and lines starting with . or '
esc() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }

# page NAME SUMMARY HELPTEXT-FILE
page() {
    local name=$1 summary=$2 text=$3 up
    up=$(tr '[:lower:]' '[:upper:]' <<<"$name")
    {
        printf '.TH %s 1 "%s" "mer %s" "mer manual"\n' "$up" "$date" "$version"
        printf '.SH NAME\n%s \\- %s\n' "$name" "$(esc <<<"$summary")"
        printf '.SH SYNOPSIS\n.nf\n'
        { grep -m1 '^usage:' "$text" || echo "$name"; } | sed 's/^usage: *//' | esc
        printf '.fi\n.SH DESCRIPTION\n.nf\n'
        awk 'NR == 1 && /^usage:/ { next } { print }' "$text" | esc
        printf '.fi\n'
        if [ "$name" = mer ]; then
            printf '.SH FILES\n.nf\nPREFIX/share/mer/configs     demo and per-dataset configs\n'
            printf 'PREFIX/share/mer/slurm       sbatch scripts\nPREFIX/share/mer/ref         reference and benchmark scripts\n.fi\n'
            printf '.SH ENVIRONMENT\n.nf\nMER_SHARE    the share folder (default: PREFIX/share/mer next to PREFIX/bin/mer)\n'
            printf 'MER_THREADS  threads per rank when runtime.threads and SLURM_CPUS_PER_TASK are unset\n.fi\n'
        fi
        printf '.SH SEE ALSO\n'
        if [ "$name" = mer ]; then
            sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p' "$T/mer" | sed 's/.*/.BR mer-& (1)/' | paste -sd, - | sed 's/,/,\n/g'
        else
            printf '.BR mer (1)\n'
        fi
    } >"$out/$name.1"
}

T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
"$mer" --help </dev/null >"$T/mer"
page mer "micro-expression recognition experiments at HPC scale" "$T/mer"
# the command table of `mer --help`: "  NAME   summary"
sed -n '/^Commands:/,/^$/p' "$T/mer" | sed -n 's/^  \([a-z][a-z-]*\) \+\(.*\)/\1\t\2/p' | while IFS=$'\t' read -r cmd summary; do
    "$mer" "$cmd" --help </dev/null >"$T/$cmd" 2>&1 || true
    page "mer-$cmd" "$summary" "$T/$cmd"
    # commands with actions list them under "Commands:" or "Actions:" with their own --help
    sed -n '/^\(Commands\|Actions\):/,/^$/p' "$T/$cmd" | sed -n 's/^  \([a-z][a-z-]*\) \+\(.*\)/\1\t\2/p' |
        while IFS=$'\t' read -r sub ssum; do
            "$mer" "$cmd" "$sub" --help </dev/null >"$T/$cmd-$sub" 2>&1 || continue
            cmp -s "$T/$cmd-$sub" "$T/$cmd" && continue # the action has no help of its own
            grep -q '^usage:' "$T/$cmd-$sub" || continue
            page "mer-$cmd-$sub" "$ssum" "$T/$cmd-$sub"
        done
done
