#!/bin/sh
# A Snakemake --precommand for tests/test_slurm.py: the first cluster job that runs it
# takes MARKER away and fails (exit 1) before Snakemake starts inside the job, so the
# workflow must resubmit that job; every later job finds no marker and goes on. `mv` is
# atomic, so exactly one job fails, once. Nothing of the workflow itself is touched.
marker=${1:?usage: fail_once.sh MARKER}
if mv "$marker" "$marker.taken" 2>/dev/null; then
    echo "fail_once.sh: took $marker, failing this attempt on purpose" >&2
    exit 1
fi
exit 0
