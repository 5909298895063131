# A one-node Slurm cluster on localhost, of its own (sourced by scripts/slurm_local.sh and
# tests/engines/slurm.sh): munged with a fresh key and socket, slurmctld and slurmd as this user
# on ports of their own (a system Slurm on the machine is left alone), proctrack/linuxproc,
# task/none, one node of the given CPUs. Needs Debian's slurm-wlm and munge
# (scripts/install_deps.sh --engines).
#   slurm_node_up DIR CPUS   starts the daemons with their files in DIR, appends their pids to the
#                            array `pids` (stop them by pid), exports SLURM_CONF; 1 if one fails
slurm_node_up() {
  local dir=$1 cpus=$2 node me port
  node=$(hostname -s)
  me=$(id -un)
  mkdir -p "$dir/munge" "$dir/state" "$dir/spool"
  chmod 700 "$dir/munge"
  rm -f "$dir/munge/munge.key"
  dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$dir/munge/munge.key"
  munged --foreground --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
    --pid-file="$dir/munge/munged.pid" --seed-file="$dir/munge/seed" > "$dir/munge.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do [ -S "$dir/munge/munge.socket" ] && break; sleep 0.1; done
  [ -S "$dir/munge/munge.socket" ] || { echo "slurm node: munged did not start (see $dir/munge.log)"; return 1; }
  port=$(( 20000 + $$ % 20000 ))
  cat > "$dir/slurm.conf" <<CONF
ClusterName=hxlocal
SlurmctldHost=$node(127.0.0.1)
SlurmUser=$me
SlurmdUser=$me
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SlurmdTimeout=30
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=hx Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF="$dir/slurm.conf"
  slurmctld -D -i -f "$SLURM_CONF" > "$dir/slurmctld.out.log" 2>&1 &
  pids+=($!)
  slurmd -D -f "$SLURM_CONF" -N "$node" > "$dir/slurmd.out.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 150); do
    sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)' && return 0
    sleep 0.2
  done
  echo "slurm node: the node did not come up (see $dir/slurmctld.log, $dir/slurmd.log)"
  sinfo
  return 1
}
