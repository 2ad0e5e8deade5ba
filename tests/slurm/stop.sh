#!/usr/bin/env bash
# Stop the cluster tests/slurm/start.sh started in SCRATCH: cancel its jobs, then end
# slurmd, slurmctld and munged by their pid files; restore /etc/slurm as it was.
set -uo pipefail

scratch=${1:?usage: stop.sh SCRATCH}
marker="# written by synthtl tests/slurm/start.sh"

if [ -e "$scratch/slurmctld.pid" ]; then
    timeout 10 scancel --full --partition=debug 2>/dev/null
    for _ in $(seq 50); do  # up to 5 s for the job steps to end
        [ -z "$(timeout 5 squeue -h -t running,pending,completing -o %i 2>/dev/null)" ] && break
        sleep 0.1
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
