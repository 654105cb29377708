# A private single-node Slurm for tests (sourced by tests/slow/test_slurm.sh).
#
#   slurm_start DIR     start munged (own socket), slurmctld and slurmd for this host, with every
#                       state/spool/log/pid file and the config in DIR; exports SLURM_CONF
#   slurm_stop          cancel jobs, `scontrol shutdown`, end munged by its pid, wait for all of them
#                       (kill -9 by pid if they linger); safe to call twice
#
# Everything runs as root (SlurmUser=root) with proctrack/linuxproc and task/none (no cgroups), on
# random ports and a private munge socket, so it cannot collide with a site Slurm or another test.
# Only processes started here are ever signalled, by the pids recorded here.

SLURM_PIDS=()
MUNGED_PID=

slurm_start() {
  local dir=$1 host ports
  host=$(hostname -s)
  mkdir -p "$dir/state" "$dir/spool" "$dir/log" "$dir/munge"
  chmod 700 "$dir/munge"
  cp /etc/munge/munge.key "$dir/munge/munge.key" 2>/dev/null || {
    dd if=/dev/urandom bs=1 count=1024 of="$dir/munge/munge.key" 2>/dev/null; }
  chmod 600 "$dir/munge/munge.key"
  munged -F --force --socket="$dir/munge/munge.sock" --key-file="$dir/munge/munge.key" \
    --pid-file="$dir/munge/munged.pid" --seed-file="$dir/munge/seed" --log-file="$dir/log/munged.log" \
    >>"$dir/log/munged.stdout" 2>&1 &
  MUNGED_PID=$!
  for _ in $(seq 50); do [ -S "$dir/munge/munge.sock" ] && break; sleep 0.1; done
  ports=$((20000 + RANDOM % 20000))
  cat > "$dir/slurm.conf" <<CONF
ClusterName=mertest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ports
SlurmdPort=$((ports + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.sock
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
JobRequeue=1
KillWait=5
MinJobAge=600
InactiveLimit=0
SlurmdParameters=config_overrides
NodeName=$host NodeAddr=127.0.0.1 CPUs=${SLURM_TEST_CPUS:-4} State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
  export SLURM_CONF="$dir/slurm.conf"
  slurmctld -D -i -f "$SLURM_CONF" >>"$dir/log/slurmctld.stdout" 2>&1 &
  SLURM_PIDS+=($!)
  slurmd -D -f "$SLURM_CONF" -N "$host" >>"$dir/log/slurmd.stdout" 2>&1 &
  SLURM_PIDS+=($!)
  # wait until the node is idle (up to 30 s)
  for _ in $(seq 150); do
    if sinfo -h -N -o '%T' 2>/dev/null | grep -q '^idle'; then return 0; fi
    sleep 0.2
  done
  echo "slurm_start: the node did not come up; logs in $dir/log" >&2
  tail -n 20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 2>/dev/null
  return 1
}

slurm_stop() {
  local pid alive
  if [ ${#SLURM_PIDS[@]} -gt 0 ]; then
    scancel --quiet --full --state=PENDING --state=RUNNING -u root 2>/dev/null
    scancel --quiet -u root 2>/dev/null
    scontrol shutdown >/dev/null 2>&1
    for _ in $(seq 100); do
      alive=0
      for pid in "${SLURM_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
      [ $alive = 0 ] && break
      sleep 0.1
    done
    for pid in "${SLURM_PIDS[@]}"; do kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
    SLURM_PIDS=()
  fi
  if [ -n "$MUNGED_PID" ]; then
    kill "$MUNGED_PID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$MUNGED_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$MUNGED_PID" 2>/dev/null
    wait "$MUNGED_PID" 2>/dev/null
    MUNGED_PID=
  fi
}

# Wait until job $1 reaches a final state (printed), at most $2 s. Slurm delays a requeued job by about
# two minutes (pending, Reason=BeginTime) so the previous run can be cleaned up; with $3 = release the
# wait lets it start earlier (scontrol update StartTime=now, what an admin would do), but only once the
# node is idle again and 3 s have passed (releasing sooner fails the job: "Job credential revoked").
slurm_wait_job() {
  local job=$1 timeout=${2:-120} release=${3:-} t0=$SECONDS info st held=
  while [ $((SECONDS - t0)) -lt "$timeout" ]; do
    info=$(scontrol show job "$job" 2>/dev/null)
    st=$(echo "$info" | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -1)
    case "$st" in
      COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED) echo "$st"; return 0 ;;
      PENDING)
        if [ "$release" = release ] && echo "$info" | grep -q 'Reason=BeginTime'; then
          held=${held:-$SECONDS}
          if [ $((SECONDS - held)) -ge 3 ] && sinfo -h -N -o '%T' | grep -qx idle; then
            scontrol update JobId="$job" StartTime=now >/dev/null 2>&1
          fi
        fi ;;
    esac
    sleep 0.5
  done
  echo "TIMEOUT_WAITING"
  return 1
}
