#!/usr/bin/env bash
# Submit a mer run as a Slurm job array plus a dependent collect job.
#
#   slurm/submit_array.sh -n SLICES -o DIR [-- SBATCH_OPTIONS ...] CONFIG [key=value ...]
#
#   -n SLICES   number of array tasks (each runs `mer run CONFIG --slice i/SLICES output.dir=DIR`)
#   -o DIR      the run's output directory (passed as output.dir=DIR, then collected)
#   -p PART     partition, -A ACCOUNT account, -t TIME time limit per array task, -c CPUS per task
#   -m MAX      at most MAX array tasks at once (--array=0-(n-1)%MAX)
# Prints the two job ids. Environment variables of slurm/mer.sbatch apply (MER_BIN, MER_THREADS, ...).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
n='' dir='' max='' extra=() site=()
while getopts "n:o:p:A:t:c:m:h" opt; do
  case $opt in
    n) n=$OPTARG ;;
    o) dir=$OPTARG ;;
    p) site+=(--partition="$OPTARG") ;;
    A) site+=(--account="$OPTARG") ;;
    t) extra+=(--time="$OPTARG") ;;
    c) extra+=(--cpus-per-task="$OPTARG") ;;
    m) max=$OPTARG ;;
    h) sed -n '2,12p' "$0"; exit 0 ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ -z "$n" ] || [ -z "$dir" ] || [ $# -lt 1 ]; then sed -n '2,12p' "$0" >&2; exit 2; fi
export MER_SLURM_DIR=${MER_SLURM_DIR:-$here}
array="0-$((n - 1))${max:+%$max}"
job=$(sbatch --parsable --export=ALL ${site[@]+"${site[@]}"} ${extra[@]+"${extra[@]}"} --array="$array" "$here/mer_array.sbatch" "$@" "output.dir=$dir")
job=${job%%;*}
collect=$(sbatch --parsable --export=ALL ${site[@]+"${site[@]}"} --dependency="afterany:$job" \
  "$here/mer_collect.sbatch" "$dir")
echo "array job $job (${n} slices), collect job ${collect%%;*}"
