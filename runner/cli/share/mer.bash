# bash completion for mer: commands, their options (read from `mer CMD --help`), config files (*.yaml),
# run folders (those holding plan.h5) and config keys after a config argument (`mer config --keys`).
# Installed as PREFIX/share/bash-completion/completions/mer; or: source this file.

_mer_commands() { mer --help 2>/dev/null </dev/null | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p'; }
_mer_options() { mer "$@" --help 2>/dev/null </dev/null | grep -o -- '--[a-z][a-z0-9-]*' | sort -u; }
_mer_run_dirs() { # folders below the current word's folder that hold a plan.h5
    local d
    for d in "${1}"*/; do [ -f "${d}plan.h5" ] && printf '%s\n' "${d%/}"; done 2>/dev/null
}

_mer() {
    local cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[1]:-} i config=""
    COMPREPLY=()
    if [ "$COMP_CWORD" -eq 1 ]; then
        mapfile -t COMPREPLY < <(compgen -W "$(_mer_commands) --help --version" -- "$cur")
        return
    fi
    for ((i = 2; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in *.yaml | *.yml) config=${COMP_WORDS[i]} ;; esac
    done
    case $cur in
    -*)
        local sub=""
        case $cmd in face | nn | data) sub=${COMP_WORDS[2]:-} ;; esac
        [ "$sub" = "$cur" ] && sub=""
        mapfile -t COMPREPLY < <(compgen -W "$(_mer_options "$cmd" $sub)" -- "$cur")
        return
        ;;
    esac
    case $cmd in
    config | run | prep | data)
        if [ -n "$config" ]; then # key=value overrides
            local keys
            keys=$(mer config --keys 2>/dev/null </dev/null | awk 'NR > 1 { print $1 "=" }')
            mapfile -t COMPREPLY < <(compgen -W "$keys" -- "$cur")
            compopt -o nospace 2>/dev/null
            return
        fi
        [ "$cmd" = data ] && [ "$COMP_CWORD" -eq 2 ] && { mapfile -t COMPREPLY < <(compgen -W check -- "$cur"); return; }
        mapfile -t COMPREPLY < <(compgen -f -X '!*.yaml' -- "$cur"; compgen -f -X '!*.yml' -- "$cur"; compgen -d -S / -- "$cur")
        compopt -o nospace 2>/dev/null
        ;;
    status | collect | report | export)
        mapfile -t COMPREPLY < <(_mer_run_dirs "$cur"; compgen -d -S / -- "$cur")
        compopt -o nospace 2>/dev/null
        ;;
    face | nn)
        if [ "$COMP_CWORD" -eq 2 ]; then
            mapfile -t COMPREPLY < <(compgen -W "$(mer "$cmd" --help 2>/dev/null </dev/null |
                sed -n '/^\(Commands\|Actions\):/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')" -- "$cur")
        else
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        fi
        ;;
    *) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
    esac
}
complete -F _mer mer
