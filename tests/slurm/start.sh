#!/usr/bin/env bash
# Start a single-node SLURM cluster on this machine for tests: munged, slurmctld, slurmd.
#
#   tests/slurm/start.sh SCRATCH     (as root; stop it with tests/slurm/stop.sh SCRATCH)
#
# Installs Debian's slurmctld, slurmd, slurm-client and munge when missing. Keys, state,
# spool, logs and pid files live in SCRATCH; slurm.conf is written to /etc/slurm/slurm.conf
# because the jobstep plugin strips SLURM_CONF before its nested srun (an existing file is
# kept as SCRATCH/slurm.conf.orig and restored by stop.sh). The node offers every CPU, 80 %
# of the memory and one GPU per CPU: GRES "gpu" backed by character devices in SCRATCH that
# are /dev/null (no real GPU), enough for the scheduler to honour `--gpus=1` per job.
set -euo pipefail

scratch=${1:?usage: start.sh SCRATCH}
mkdir -p "$scratch"
scratch=$(cd "$scratch" && pwd)
conf=/etc/slurm/slurm.conf
marker="# written by synthtl tests/slurm/start.sh"

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null \
   || ! command -v munged >/dev/null; then
    echo "installing SLURM and munge from Debian's packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    timeout 300 apt-get update -qq
    timeout 300 apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
fi

if [ -e "$scratch/slurmctld.pid" ] || [ -e "$scratch/munged.pid" ]; then
    echo "a cluster from $scratch seems to run already; stop it first: tests/slurm/stop.sh $scratch" >&2
    exit 1
fi
if pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null; then
    echo "another slurmctld/slurmd runs on this machine; not starting a second cluster" >&2
    exit 1
fi

# munge: own key (1 KiB, mode 400, in a 700 folder) and own socket in a 755 folder.
mkdir -p "$scratch/munge-key" "$scratch/munge-run" "$scratch/state" "$scratch/spool" "$scratch/log"
chmod 700 "$scratch/munge-key"
chmod 755 "$scratch" "$scratch/munge-run"
head -c 1024 /dev/urandom >"$scratch/munge-key/munge.key"
chmod 400 "$scratch/munge-key/munge.key"
socket="$scratch/munge-run/munge.socket"
munged --force --key-file="$scratch/munge-key/munge.key" --socket="$socket" \
    --pid-file="$scratch/munged.pid" --log-file="$scratch/log/munged.log" \
    --seed-file="$scratch/munge-key/munge.seed"

# A name of its own, so stop.sh can tell this cluster's job processes from any other's.
name="synthtl$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
echo "$name" >"$scratch/cluster_name"
cpus=$(nproc)
gpus="$scratch/gpu[0-$((cpus - 1))]"
for i in $(seq 0 $((cpus - 1))); do
    [ -e "$scratch/gpu$i" ] || mknod "$scratch/gpu$i" c 1 3  # same device as /dev/null
done
mem_mb=$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.8}' /proc/meminfo)
if [ -e "$conf" ] && ! grep -qF "$marker" "$conf"; then
    cp -p "$conf" "$scratch/slurm.conf.orig"
fi
mkdir -p /etc/slurm
cat >"$conf" <<CONF
$marker for the cluster in $scratch
ClusterName=$name
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
ReturnToService=2
MinJobAge=300
GresTypes=gpu
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
StateSaveLocation=$scratch/state
SlurmdSpoolDir=$scratch/spool
SlurmctldPidFile=$scratch/slurmctld.pid
SlurmdPidFile=$scratch/slurmd.pid
SlurmctldLogFile=$scratch/log/slurmctld.log
SlurmdLogFile=$scratch/log/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb Gres=gpu:$cpus State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
cat >/etc/slurm/gres.conf <<CONF
$marker for the cluster in $scratch
NodeName=localhost Name=gpu File=$gpus
CONF

slurmctld -i
slurmd -N localhost

for _ in $(seq 300); do
    state=$(timeout 5 sinfo -h -o %t 2>/dev/null || true)
    if [ "$state" = idle ]; then
        echo "SLURM is up: node localhost, $cpus CPUs, $mem_mb MB, $cpus GPUs (GRES on /dev/null), partition debug" >&2
        exit 0
    fi
    sleep 0.1
done
echo "SLURM did not come up within 30 s (sinfo says '${state:-nothing}'); logs in $scratch/log" >&2
exit 1
