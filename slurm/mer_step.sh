# Shared by the sbatch scripts in slurm/ (sourced, not run). Runs one job step in the background so the
# batch shell can catch Slurm's early-warning signal, forwards it, waits, and requeues the job when
# `mer run` reports "interrupted, resumable".
#
#   mer_run_step CMD [ARGS...]     returns CMD's exit status
#
# Exit statuses of `mer run` (runner/signals.h): 0 done, 1 failure, 2 usage, 3 interrupted and
# resumable (signal or --max-walltime), 4 finished with failed tasks.
# Environment: MER_EXIT_INTERRUPTED (default 3), MER_MAX_REQUEUES (default 20: stop requeueing after that
# many restarts of this job, SLURM_RESTART_COUNT).

mer_log() {
  echo "[mer-slurm $(date -u +%Y-%m-%dT%H:%M:%SZ) job ${SLURM_JOB_ID:-?}${SLURM_ARRAY_TASK_ID:+ array task $SLURM_ARRAY_TASK_ID} restart ${SLURM_RESTART_COUNT:-0}] $*"
}

mer_run_step() {
  local pid rc signalled=0
  "$@" &
  pid=$!
  # Slurm signals only the batch shell (--signal=B:USR1@N). srun and mpirun forward USR1 to every rank;
  # `mer run` then stops handing out work, lets tasks stop at a safe point, flushes, exits 3.
  trap 'signalled=1; mer_log "USR1: time limit near, forwarding to the job step (pid $pid)"; kill -USR1 "$pid" 2>/dev/null' USR1
  # TERM (scancel, preemption) goes to the step from Slurm directly; just keep waiting for it.
  trap 'signalled=1; mer_log "TERM received"' TERM
  while :; do
    wait "$pid"
    rc=$?
    # a trapped signal interrupts `wait` with a status > 128 while the step still runs: wait again
    if [ "$rc" -gt 128 ] && [ "$signalled" = 1 ]; then
      signalled=0
      continue
    fi
    break
  done
  trap - USR1 TERM
  case "$rc" in
    0) mer_log "mer finished" ;;
    "${MER_EXIT_INTERRUPTED:-3}")
      if [ "${SLURM_RESTART_COUNT:-0}" -lt "${MER_MAX_REQUEUES:-20}" ] && [ -n "${SLURM_JOB_ID:-}" ]; then
        mer_log "mer was interrupted and can resume (exit $rc): requeueing job $SLURM_JOB_ID"
        scontrol requeue "$SLURM_JOB_ID" || mer_log "scontrol requeue failed: resubmit the same command to resume"
      else
        mer_log "mer was interrupted (exit $rc) but the job was requeued ${SLURM_RESTART_COUNT:-0} times already (MER_MAX_REQUEUES=${MER_MAX_REQUEUES:-20}): resubmit to resume"
      fi ;;
    4) mer_log "mer finished, but some tasks failed (see: mer status DIR)" ;;
    *) mer_log "mer exited with status $rc" ;;
  esac
  return "$rc"
}

# The mer executable: MER_BIN, else `mer` on PATH, else build/mer under the submission directory.
mer_find_bin() {
  if [ -n "${MER_BIN:-}" ]; then echo "$MER_BIN"
  elif command -v mer >/dev/null 2>&1; then command -v mer
  elif [ -x "${SLURM_SUBMIT_DIR:-.}/build/mer" ]; then echo "${SLURM_SUBMIT_DIR:-.}/build/mer"
  else echo "mer"; fi
}

# "runtime.threads=T" unless the caller's overrides already set runtime.threads.
mer_threads_override() {
  local threads=$1 a
  shift
  for a in "$@"; do case "$a" in runtime.threads=*) return 0 ;; esac; done
  echo "runtime.threads=$threads"
}
