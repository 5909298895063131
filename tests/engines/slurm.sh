#!/usr/bin/env bash
# A one-node Slurm cluster on localhost (munged, slurmctld, slurmd as this user, 2 CPUs,
# proctrack/linuxproc, task/none), the job array `harness sweep --emit slurm` writes for 4 tiny
# seeds submitted to it and waited for, then harness table must report 4 seeds. Every daemon is
# stopped by its pid on exit. Prints the wall times.
source "$(dirname "$0")/common.sh" "$1" "$2" slurm-wlm munge
node=$(hostname -s)
me=$(id -un)
t_start=$(date +%s.%N)
# munge: a fresh key and socket of this test's own, not the system's
mkdir -p "$work/munge"
chmod 700 "$work/munge"
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$work/munge/munge.key"
munged --foreground --force --key-file="$work/munge/munge.key" --socket="$work/munge/munge.socket" \
  --pid-file="$work/munge/munged.pid" --seed-file="$work/munge/seed" > "$work/munge.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$work/munge/munge.socket" ] && break; sleep 0.1; done
[ -S "$work/munge/munge.socket" ] || { echo "engines: munged did not start"; exit 1; }
# ports of this test's own, so a system Slurm on the machine is left alone
port=$(( 20000 + $$ % 20000 ))
mkdir -p "$work/state" "$work/spool"
cat > "$work/slurm.conf" <<CONF
ClusterName=hxtest
SlurmctldHost=$node(127.0.0.1)
SlurmUser=$me
SlurmdUser=$me
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
AuthInfo=socket=$work/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
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
NodeName=$node NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=hx Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$work/slurm.conf"
slurmctld -D -i -f "$SLURM_CONF" > "$work/slurmctld.out.log" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" -N "$node" > "$work/slurmd.out.log" 2>&1 &
pids+=($!)
for _ in $(seq 150); do
  sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)' && break
  sleep 0.2
done
sinfo -h -o '%T' | grep -qE '^(idle|mixed|allocated)' || { echo "engines: the Slurm node did not come up"; sinfo; exit 1; }
t_up=$(date +%s.%N)
echo "engines: Slurm up in $(elapsed "$t_start" "$t_up") s"
"$harness" sweep configs/tiny.ini --seeds 4 --jobs 2 --emit slurm --out sweep.sbatch
t0=$(date +%s.%N)
timeout 150 sbatch --wait sweep.sbatch > sbatch.log 2>&1 || { echo "engines: the job array failed"; cat sbatch.log; exit 1; }
t1=$(date +%s.%N)
check_four_seeds
echo "engines: Slurm job array ran 4 runs in $(elapsed "$t0" "$t1") s wall (2-CPU node)"
