#!/usr/bin/env bash
# ResNet-18 training (or, with --eval, inference) throughput of mer against PyTorch on this machine, measured alternately
# (mer, torch, mer, torch, ...) so that both see the same machine state. Not a test: a benchmark.
#
#   tests/ref/bench_resnet18.sh [--mer build/mer] [--threads "1 2"] [--rounds 5] [--size 112] [--batch 32] [--eval]
#
# Prints every pass time, then per thread count the medians, the ratio torch/mer (> 1: mer is faster),
# mer's GFLOP/s as a fraction of the OpenBLAS sgemm rate it measured, and the peak RSS of both.
# Needs Debian's python3-torch and python3-torchvision (/usr/bin/python3). Measure on an idle machine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mer=${MER_BIN:-$here/../../build/mer} threads="1 2" rounds=5 size=112 batch=32 mode=train
while [ $# -gt 0 ]; do
  case $1 in
    --mer) mer=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --eval) mode=eval; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "bench_resnet18.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$mer" ] || { echo "bench_resnet18.sh: $mer is not an executable (build first or pass --mer)" >&2; exit 2; }
/usr/bin/python3 -c "import torch, torchvision" 2>/dev/null ||
  { echo "bench_resnet18.sh: needs python3-torch and python3-torchvision" >&2; exit 2; }

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) CPUs;" \
     "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-<unset>}"
"$mer" --version 2>/dev/null | grep -i -E "openblas" | head -1 || true
train_flag=$([ "$mode" = train ] && echo --train || true)
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
for t in $threads; do
  m_times="" t_times="" m_rss="" t_rss="" peak="" mflops=""
  for r in $(seq "$rounds"); do
    out=$("$mer" nn bench --model resnet18 --size "$size" --batch "$batch" --threads "$t" ${train_flag} --iters 3 2>/dev/null)
    m=$(echo "$out" | awk '/^per pass/ {print $3}')
    m_rss=$(echo "$out" | sed -n 's/.*peak RSS \([0-9]*\) MB.*/\1/p')
    peak=$(echo "$out" | sed -n 's/^sgemm .*: \([0-9.]*\) GFLOP\/s/\1/p')
    mflops=$(echo "$out" | sed -n 's/^resnet18 .* img\/s, \([0-9.]*\) GFLOP\/s/\1/p')
    out=$(/usr/bin/python3 "$here/torch_bench.py" --size "$size" --batch "$batch" --threads "$t" ${train_flag} --iters 3)
    p=$(echo "$out" | sed -n 's/.*per pass \([0-9.]*\) s.*/\1/p')
    t_rss=$(echo "$out" | sed -n 's/.*peak RSS \([0-9]*\) MB.*/\1/p')
    echo "threads $t round $r: mer $m s/pass, torch $p s/pass"
    m_times="$m_times $m" t_times="$t_times $p"
  done
  mm=$(echo "$m_times" | median) tm=$(echo "$t_times" | median)
  # GFLOP per pass = last round's GFLOP/s x its pass time; the fraction uses the median pass time
  awk -v t="$t" -v mm="$mm" -v tm="$tm" -v b="$batch" -v s="$size" -v pk="$peak" -v mf="$mflops" -v ml="$m" \
      -v mr="$m_rss" -v tr="$t_rss" -v mode="$mode" 'BEGIN {
    printf "resnet18 %s %dx%d batch %d threads %d: mer %.1f img/s, torch %.1f img/s, ratio %.2f (medians);", mode, s, s, b, t, b/mm, b/tm, tm/mm
    printf " mer %.0f GFLOP/s = %.0f%% of its sgemm rate (%s GFLOP/s); peak RSS mer %s MB, torch %s MB\n", mf*ml/mm, 100*mf*ml/mm/pk, pk, mr, tr }'
done
