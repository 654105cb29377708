#!/usr/bin/env bash
# slurm/ on a real single-node Slurm started here (slurm-wlm + munge, started by tests/slow/slurm_cluster.sh):
#   A. the time-limit path: a job with --time=1 --signal=B:USR1@58 receives USR1 from Slurm; the batch
#      shell (slurm/mer.sbatch + mer_step.sh) forwards it to the step, the step exits 3 ("interrupted,
#      resumable"), the shell requeues the job, the restarted job finishes; no work unit is lost or
#      done twice. The step is a stand-in for `mer run` (a resumable shell loop), so this part runs
#      even before `mer run` exists.
#   B. `mer run` of a small sweep through slurm/mer.sbatch (2 MPI ranks, srun --mpi=pmix): completes;
#      a second submission interrupted by USR1 to the batch shell (what Slurm sends at the time limit)
#      requeues and ends with results identical to the uninterrupted one (mer report --format json).
#   C. the job-array variant (slurm/submit_array.sh, `mer run --slice i/n` + `mer collect`): same results.
# B and C need `mer run` (and --slice for C); they are reported as not run otherwise. All three runs use
# the same output.dir, one after the other (moved away in between): point and task ids hash the whole
# resolved config, output.dir included, and the runner seeds every task from its id.
# Everything started here is stopped on exit (trap): jobs cancelled, scontrol shutdown, munged by pid.
set -u
for tool in slurmctld slurmd munged sbatch scontrol srun; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool not installed (apt-get install slurm-wlm munge, or bash .ci/deps --slurm)"
    exit 77
  fi
done
if [ "$(id -u)" != 0 ]; then echo "SKIP: the private Slurm runs as root (SlurmUser=root)"; exit 77; fi
SRC=${MER_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
MER=${MER_BIN:-$SRC/build/mer}
# shellcheck source=tests/slow/slurm_cluster.sh
. "$SRC/tests/slow/slurm_cluster.sh"

T=$(mktemp -d /tmp/mer_test_slurm.XXXXXX)
fail=0
ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; fail=1; }
cleanup() {
  slurm_stop
  if [ "$fail" = 0 ] && [ -z "${MER_TEST_KEEP:-}" ]; then rm -rf "$T"; else echo "(files kept in $T)"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

t_start=$SECONDS
slurm_start "$T/slurm" || { bad "private Slurm did not start"; exit 1; }
ok "slurmctld + slurmd + munged up in $((SECONDS - t_start)) s ($(sinfo -h -o '%P %D %T'))"
export MER_SLURM_DIR=$SRC/slurm
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

restarts_of() { scontrol show job "$1" 2>/dev/null | sed -n 's/.*Restarts=\([0-9]*\).*/\1/p' | head -1; }

# ---- A: Slurm's time-limit signal -> forward -> exit 3 -> requeue -> finish ----------------------
cat > "$T/fake_mer" <<'FAKE'
#!/usr/bin/env bash
# Stand-in for `mer run CONFIG output.dir=DIR`: numbered work units recorded in DIR/ledger, skipped when
# already there (resume); USR1 stops at the next unit boundary with exit 3. The first run works slowly
# (until Slurm's time-limit signal arrives), a restarted one quickly.
[ "$1" = run ] || exit 2
dir=
for a in "$@"; do case $a in output.dir=*) dir=${a#output.dir=} ;; esac; done
mkdir -p "$dir"
stop=0
trap 'stop=1' USR1
echo "start restart=${SLURM_RESTART_COUNT:-0} threads=${OMP_NUM_THREADS:-} args=$*" >>"$dir/starts"
pause=0.25
[ "${SLURM_RESTART_COUNT:-0}" -gt 0 ] && pause=0.01
for t in $(seq 1 300); do
  grep -qx "$t" "$dir/ledger" 2>/dev/null && continue
  if [ $stop = 1 ]; then echo "interrupted before unit $t" >>"$dir/starts"; exit 3; fi
  sleep "$pause"
  echo "$t $((t * t % 7))" >>"$dir/results"
  echo "$t" >>"$dir/ledger"
done
exit 0
FAKE
chmod +x "$T/fake_mer"
ja=$(cd "$T" && MER_BIN="$T/fake_mer" MER_SRUN_MPI='' sbatch --parsable --time=1 --signal=B:USR1@58 -n 1 -c 1 \
  -o "$T/a.out" "$SRC/slurm/mer.sbatch" cfg.yaml "output.dir=$T/a")
st=$(slurm_wait_job "$ja" 120 release)
if [ "$st" = COMPLETED ]; then ok "A: time-limited job $ja completed"; else bad "A: job $ja ended $st"; fi
r=$(restarts_of "$ja")
if [ "${r:-0}" -ge 1 ]; then ok "A: requeued $r time(s)"; else bad "A: not requeued (Restarts=${r:-?})"; fi
grep -q "USR1: time limit near" "$T/a.out" && ok "A: batch shell got Slurm's USR1 and forwarded it" ||
  bad "A: no USR1 in the job output"
grep -q "interrupted and can resume (exit 3): requeueing" "$T/a.out" && ok "A: exit 3 -> scontrol requeue" ||
  bad "A: no requeue after exit 3"
grep -q "interrupted before unit" "$T/a/starts" && ok "A: the step stopped at a unit boundary" ||
  bad "A: the step was not interrupted"
[ "$(grep -c '^start' "$T/a/starts")" -ge 2 ] && ok "A: the step ran again after the requeue (output appended)" ||
  bad "A: no second start"
grep -q "threads=1 args=run cfg.yaml runtime.threads=1 output.dir=" "$T/a/starts" &&
  ok "A: threads from SLURM_CPUS_PER_TASK passed as runtime.threads and OMP_NUM_THREADS" || bad "A: thread settings: $(head -1 "$T/a/starts")"
if [ "$(sort -n "$T/a/results" | uniq | wc -l)" = 300 ] && [ "$(wc -l <"$T/a/results")" = 300 ] &&
   diff <(sort -n "$T/a/results") <(for t in $(seq 1 300); do echo "$t $((t * t % 7))"; done) >/dev/null; then
  ok "A: all 300 units done exactly once, values as in an uninterrupted run"
else
  bad "A: units lost or repeated ($(wc -l <"$T/a/results") lines)"
fi
echo "     (part A took $((SECONDS - t_start)) s so far)"

# ---- B/C: real `mer run` ---------------------------------------------------------------------
if ! "$MER" run --help >/dev/null 2>&1; then
  echo "NOT RUN - B, C: '$MER run' is not available"
  exit $fail
fi
# A small sweep (2 points x 2 seeds x 4 LOSO folds) on the runner's deterministic test stages (pseudo-work
# of MER_TEST_TASK_MS each): this tests the Slurm plumbing, not the numerics (other tests do those).
cat > "$T/tiny.yaml" <<YAML
dataset:
  format: synth
  root: $T/data
  synth: {subjects: 4, per_class: 2, width: 96, height: 96}
magnify: {method: linear, schedule: {count: 4}}
train: {epochs: 2}
output: {dir: $T/unused}
sweep:
  model.attention.n_rounds: [3, 4]
  seeds: [0, 1]
YAML
export MER_BIN="$MER" MER_RUN_ARGS="--stages test" MER_TEST_TASK_MS=150
report_points() { "$MER" report "$1" --format json --no-plots 2>/dev/null | sed -n '/^ "points"/,$p'; }

tb=$SECONDS
jb=$(cd "$T" && sbatch --parsable -n 2 -c 1 -o "$T/b1.out" "$SRC/slurm/mer.sbatch" "$T/tiny.yaml" "output.dir=$T/b")
st=$(slurm_wait_job "$jb" 120)
mv "$T/b" "$T/b1"
if [ "$st" = COMPLETED ] && [ -f "$T/b1/results.h5" ]; then
  ok "B: sweep through slurm/mer.sbatch (2 MPI ranks via srun --mpi=pmix) completed in $((SECONDS - tb)) s"
else
  bad "B: job $jb ended $st"; tail -n 20 "$T/b1.out"
fi
grep -q "plan: 2 points x 2 seeds x 4 folds" "$T/b1.out" && ok "B: one run of 2 ranks (one plan logged)" ||
  bad "B: unexpected plan/launch: $(grep -c 'plan:' "$T/b1.out") plan lines"
[ "$(grep -c 'plan:' "$T/b1.out")" = 1 ] || bad "B: ranks ran as separate singletons"
ref=$(report_points "$T/b1")
[ -n "$ref" ] && ok "B: mer report reads the results" || bad "B: mer report failed on $T/b1"

# the same sweep, interrupted by USR1 to the batch shell (Slurm's time-limit warning) once a few tasks
# are done: the step stops, the job requeues itself and the restarted run resumes
tb=$SECONDS
jr=$(cd "$T" && sbatch --parsable -n 2 -c 1 -o "$T/b2.out" "$SRC/slurm/mer.sbatch" "$T/tiny.yaml" "output.dir=$T/b")
for _ in $(seq 240); do
  n=$(grep -c $'\tdone\t' "$T/b/ledger.tsv" 2>/dev/null)
  [ "${n:-0}" -ge 8 ] && break
  sleep 0.25
done
scancel --signal=USR1 --batch "$jr"
st=$(slurm_wait_job "$jr" 150 release)
[ "$st" = COMPLETED ] && ok "B: interrupted job $jr completed after requeue ($((SECONDS - tb)) s)" || bad "B: job $jr ended $st"
r=$(restarts_of "$jr")
[ "${r:-0}" -ge 1 ] && ok "B: requeued $r time(s)" || bad "B: not requeued"
grep -q "interrupted and can resume (exit 3): requeueing" "$T/b2.out" && ok "B: mer run exited 3 and the job was requeued" ||
  bad "B: no exit-3 requeue in $T/b2.out"
grep -Eq "cache hits at start: prep [1-9]" "$T/b2.out" && ok "B: the restarted run skipped finished tasks" ||
  bad "B: no sign of a resume in the output"
if [ -n "$ref" ] && [ "$(report_points "$T/b")" = "$ref" ]; then
  ok "B: results after signal + requeue identical to the uninterrupted run"
else
  bad "B: results differ"; diff <(echo "$ref") <(report_points "$T/b") | head -20
fi
mv "$T/b" "$T/b2"

# ---- C: job array + dependent collect ---------------------------------------------------------
if ! "$MER" run --help 2>/dev/null | grep -q -- '--slice'; then
  echo "NOT RUN - C: 'mer run' has no --slice option yet (slurm/mer_array.sbatch needs it)"
else
  tc=$SECONDS
  out=$(cd "$T" && "$SRC/slurm/submit_array.sh" -n 2 -o "$T/b" -c 1 "$T/tiny.yaml")
  echo "     $out"
  jc=$(echo "$out" | sed -n 's/.*collect job \([0-9]*\).*/\1/p')
  st=$(slurm_wait_job "$jc" 150)
  [ "$st" = COMPLETED ] && ok "C: array + collect completed ($((SECONDS - tc)) s)" || bad "C: collect job ended $st"
  if [ -n "$ref" ] && [ "$(report_points "$T/b")" = "$ref" ]; then ok "C: array results identical to the MPI run"
  else bad "C: array results differ"; diff <(echo "$ref") <(report_points "$T/b") | head -20; fi
  [ -f "$T/b/report.md" ] && ok "C: report written by the collect job" || bad "C: no $T/b/report.md"
  for s in 0 1; do
    grep -q "slice $s/2" "$T"/mer-*_"$s".out && ok "C: array task $s ran slice $s/2" || bad "C: array task $s log"
  done
fi
echo "     (total $((SECONDS - t_start)) s)"
exit $fail
