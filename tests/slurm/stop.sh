#!/usr/bin/env bash
# Stop the cluster tests/slurm/start.sh started in SCRATCH: cancel its jobs, then end
# slurmd, slurmctld and munged by their pid files; restore /etc/slurm as it was.
set -uo pipefail

scratch=${1:?usage: stop.sh SCRATCH}
marker="# written by synthtl tests/slurm/start.sh"

if [ -e "$scratch/slurmctld.pid" ]; then
    timeout 10 scancel --full --partition=debug 2>/dev/null
    for _ in $(seq 150); do  # up to 15 s for the job steps to end
        [ -z "$(timeout 5 squeue -h -t running,pending,completing -o %i 2>/dev/null)" ] && break
        sleep 0.1
    done
fi

# Job processes that outlived their job step (proctrack/linuxproc follows parent links
# only, so a process whose parent died escapes scancel): found by this cluster's name in
# their environment, ended by pid.
if [ -e "$scratch/cluster_name" ]; then
    name=$(cat "$scratch/cluster_name")
    for environ in /proc/[0-9]*/environ; do
        pid=${environ#/proc/}
        pid=${pid%/environ}
        if { tr '\0' '\n' <"$environ"; } 2>/dev/null | grep -qx "SLURM_CLUSTER_NAME=$name"; then
            echo "stop.sh: ending leftover job process $pid" >&2
            kill -9 "$pid" 2>/dev/null
        fi
    done
fi

stop() {  # stop NAME: TERM the pid in SCRATCH/NAME.pid, KILL after 10 s
    local file="$scratch/$1.pid" pid
    [ -e "$file" ] || return 0
    pid=$(cat "$file")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    fi
    rm -f "$file"
}
stop slurmd
stop slurmctld
stop munged

for file in /etc/slurm/slurm.conf /etc/slurm/gres.conf; do
    if [ -e "$file" ] && grep -qF "$marker" "$file"; then
        rm -f "$file"
    fi
done
if [ -e "$scratch/slurm.conf.orig" ]; then
    mv "$scratch/slurm.conf.orig" /etc/slurm/slurm.conf
fi
exit 0
