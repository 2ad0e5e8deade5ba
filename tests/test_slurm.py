"""A real single-node SLURM cluster: the smallest experiment runs through workflow/profiles/slurm,
one job fails once and is resubmitted with more memory and time, and every result equals a
local run of the same config."""

from __future__ import annotations

import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import REPO, tiny_config
from synthtl import memory

pytestmark = [pytest.mark.workflow, pytest.mark.slurm]

SLURM = REPO / "tests" / "slurm"
PROFILE = REPO / "workflow" / "profiles" / "slurm"
CPUS = min(2, os.cpu_count() or 1)  # threads per job, in both runs: TF's thread pools then match
SLURM_RUN_LIMIT_S = 480  # `timeout -s KILL` on each run: a lost job can never hang CI
# Columns and keys that hold clocks or hosts, not results, are left out of the comparison;
# so is run.json's `fingerprint`, a hash of input files' bytes, and .keras files (zips) carry
# their save time in their bytes: for them the models' config and weights are compared.
NOT_RESULTS = re.compile(r"(^|_)(time|seconds|duration|start|end|date|host|elapsed|at|fingerprint)(_|s?$)", re.I)


@pytest.fixture(scope="module")
def cluster():
    """Start munged, slurmctld and slurmd (installing them when missing); stop them all afterwards."""
    if os.geteuid() != 0:
        pytest.skip("starting a SLURM cluster needs root (CI runs as root)")
    scratch = Path(tempfile.mkdtemp(prefix="synthtl-slurm-"))
    try:
        started = subprocess.run([str(SLURM / "start.sh"), str(scratch)], capture_output=True, text=True,
                                 timeout=420)
        assert started.returncode == 0, f"tests/slurm/start.sh failed:\n{started.stdout}\n{started.stderr}"
        yield scratch
    finally:
        subprocess.run([str(SLURM / "stop.sh"), str(scratch)], capture_output=True, timeout=120)
        left = [p.name for p in scratch.glob("*.pid")]
        shutil.rmtree(scratch, ignore_errors=True)
        assert not left, f"daemons not stopped: {left}"


def slurm_jobs() -> list[dict[str, str]]:
    """Every job slurmctld remembers (MinJobAge=300 keeps finished ones), as key=value fields."""
    out = subprocess.run(["scontrol", "show", "job", "-o"], capture_output=True, text=True, timeout=30, check=True)
    return [dict(re.findall(r"(\w+)=(\S*)", line)) for line in out.stdout.splitlines() if line.startswith("JobId=")]


def minutes(limit: str) -> int:
    days, _, clock = limit.rpartition("-")
    h, m, s = (int(x) for x in clock.split(":"))
    return (int(days or 0) * 24 + h) * 60 + m + (s > 0)


def sized(profile: dict, rule: str, key: str, attempt: int, job: dict | None = None, workdir: Path | None = None) -> int:
    """A resource of `rule` on `attempt` as the SLURM profile sets it (expressions in `attempt`); train_gan's
    mem_mb is the rule's own, from the job's data and settings (synthtl.memory; the tiny config's jitter)."""
    if rule == "train_gan" and key == "mem_mb":
        dataset, generator, fraction, _ = job["Comment"].split("_wildcards_")[1].split("_")
        assert generator == "jitter", f"the tiny config trains only jitter, not {generator}"
        meta = json.loads((workdir / "results" / "data" / dataset / "meta.json").read_text())
        need = memory.generator_mb(generator, math.ceil(float(fraction) * meta["n_train"]), meta["length"],
                                   meta["n_channels"], {})
        return memory.request_mb(need, attempt)
    expression = profile["set-resources"].get(rule, {}).get(key, profile["default-resources"][key])
    return int(eval(str(expression), {"__builtins__": {}}, {"attempt": attempt}))  # noqa: S307


def result_files(root: Path) -> dict[str, Path]:
    return {str(p.relative_to(root)): p for p in sorted((root / "results").rglob("*"))
            if p.is_file() and "benchmarks" not in p.parts}


def without_object_ids(config):
    """A Keras config without `shared_object_id` (the id() of a Python object in the saving process)."""
    if isinstance(config, dict):
        return {k: without_object_ids(v) for k, v in config.items() if k != "shared_object_id"}
    if isinstance(config, list):
        return [without_object_ids(v) for v in config]
    return config


def keras_weights(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """A .keras file's model config and every weight array, read without TensorFlow."""
    import h5py  # noqa: PLC0415  (installed with TensorFlow)

    with zipfile.ZipFile(path) as archive:
        config = without_object_ids(json.loads(archive.read("config.json")))
        weights = {}
        with h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as h5:
            h5.visititems(lambda name, item: weights.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset) else None)
    return config, weights


def assert_same_results(local: Path, remote: Path) -> list[str]:
    """Every array, table, JSON record and model under results/ is equal in both runs; returns the compared files."""
    mine, theirs = result_files(local), result_files(remote)
    assert set(mine) == set(theirs), f"different outputs: {sorted(set(mine) ^ set(theirs))}"
    compared = []
    for name, path in mine.items():
        other = theirs[name]
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as a, np.load(other, allow_pickle=False) as b:
                assert sorted(a.files) == sorted(b.files), name
                for key in a.files:
                    assert np.array_equal(a[key], b[key], equal_nan=a[key].dtype.kind == "f"), f"{name}: {key} differs"
        elif path.suffix in (".tsv", ".csv"):
            sep = "\t" if path.suffix == ".tsv" else ","
            a, b = pd.read_csv(path, sep=sep), pd.read_csv(other, sep=sep)
            keep = [c for c in a.columns if not NOT_RESULTS.search(str(c))]
            assert list(a.columns) == list(b.columns), name
            pd.testing.assert_frame_equal(a[keep], b[keep], check_exact=True, obj=name)
        elif path.suffix == ".json":
            a, b = (json.loads(p.read_text()) for p in (path, other))
            if isinstance(a, dict):
                a, b = ({k: v for k, v in d.items() if not NOT_RESULTS.search(k)} for d in (a, b))
            assert a == b, f"{name} differs"
        elif path.suffix == ".keras":
            (config_a, weights_a), (config_b, weights_b) = keras_weights(path), keras_weights(other)
            assert config_a == config_b and weights_a.keys() == weights_b.keys() and weights_a, name
            for key, array in weights_a.items():
                assert np.array_equal(array, weights_b[key]), f"{name}: weight {key} differs"
        else:
            continue
        compared.append(name)
    return compared


def snakemake_command(workdir: Path, limit_s: int, *args: str) -> list[str]:
    """The real workflow in `workdir`, killed (SIGKILL: a lost job leaves Snakemake deaf to TERM) after `limit_s`."""
    return ["timeout", "-s", "KILL", str(limit_s), sys.executable, "-m", "snakemake",
            "-s", str(REPO / "Snakefile"), "-d", str(workdir), *args]


def test_smallest_experiment_on_slurm_equals_local_run(cluster, tmp_path):
    config = tiny_config()
    profile = yaml.safe_load((PROFILE / "config.yaml").read_text())
    threads = [f"{rule}={n}" for rule, n in profile.get("set-threads", {}).items()]
    same_threads = ["--max-threads", str(CPUS), *(["--set-threads", *threads] if threads else [])]
    for name in ("local", "slurm"):
        (tmp_path / name / "config").mkdir(parents=True)
        (tmp_path / name / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    local, remote = tmp_path / "local", tmp_path / "slurm"
    marker = tmp_path / "fail-once"
    marker.touch()
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "TF_CPP_MIN_LOG_LEVEL": "2"}

    # The local reference run (default profile) goes on while the SLURM run mostly waits
    # between status checks; thread counts are the same in both.
    started = time.monotonic()
    with open(tmp_path / "local.log", "w") as local_log:
        local_run = subprocess.Popen(snakemake_command(local, SLURM_RUN_LIMIT_S, "--cores", str(CPUS), *same_threads),
                                     stdout=local_log, stderr=subprocess.STDOUT, env=env)
        try:
            run = subprocess.run(
                snakemake_command(remote, SLURM_RUN_LIMIT_S, "--workflow-profile", str(PROFILE), *same_threads,
                                  "--slurm-init-seconds-before-status-checks", "1",
                                  "--precommand", f"sh {SLURM / 'fail_once.sh'} {marker}"),
                capture_output=True, text=True, env=env, timeout=SLURM_RUN_LIMIT_S + 30)
            slurm_s = time.monotonic() - started
            local_rc = local_run.wait(timeout=SLURM_RUN_LIMIT_S + 30)
        finally:
            local_run.kill()
    jobs = slurm_jobs()
    busy_s = sum((datetime.fromisoformat(j["EndTime"]) - datetime.fromisoformat(j["StartTime"])).total_seconds()
                 for j in jobs if j.get("EndTime", "Unknown") != "Unknown")
    print(f"SLURM run {slurm_s:.0f} s (local run alongside): {len(jobs)} SLURM jobs, {busy_s:.0f} s inside jobs")
    assert local_rc == 0, f"local run failed ({local_rc}):\n{(tmp_path / 'local.log').read_text()[-6000:]}"
    assert run.returncode == 0, (
        f"SLURM run failed ({run.returncode}{', killed by timeout' if run.returncode == 137 else ''}):\n"
        f"{run.stderr[-6000:]}\n" + "\n".join(f"{j.get('JobId')} {j.get('JobState')} {j.get('Comment')}" for j in jobs))

    # One job failed once, on purpose, and was resubmitted with the resources of attempt 2.
    assert not marker.exists() and marker.with_name("fail-once.taken").exists()
    assert "Trying to restart job" in run.stderr
    failed = [j for j in jobs if j["JobState"] != "COMPLETED"]
    assert [j["JobState"] for j in failed] == ["FAILED"], [(j["Comment"], j["JobState"]) for j in failed]
    again = [j for j in jobs if j["Comment"] == failed[0]["Comment"]]
    assert [j["JobState"] for j in again] == ["FAILED", "COMPLETED"]
    rule = re.match(r"rule_(\w+?)(_wildcards_|$)", failed[0]["Comment"])[1]
    for attempt, job in enumerate(again, start=1):
        assert job["MinMemoryNode"] == f"{sized(profile, rule, 'mem_mb', attempt, job, remote)}M", job
        assert minutes(job["TimeLimit"]) == sized(profile, rule, "runtime", attempt), job

    # Every other job ran once, sized by the profile; GPU rules asked for one GPU; downloads stayed local.
    rules = set()
    for job in jobs:
        rule = re.match(r"rule_(\w+?)(_wildcards_|$)", job["Comment"])[1]
        rules.add(rule)
        if job not in again:
            assert job["MinMemoryNode"] == f"{sized(profile, rule, 'mem_mb', 1, job, remote)}M", job
            assert minutes(job["TimeLimit"]) == sized(profile, rule, "runtime", 1), job
        wants_gpu = profile["set-resources"].get(rule, {}).get("gpu", 0) == 1
        assert ("gpu:1" in job.get("TresPerJob", "")) == wants_gpu, job
        if rule in profile.get("set-threads", {}):
            assert int(job["NumCPUs"]) == min(CPUS, profile["set-threads"][rule]), job
    assert "download" not in rules and "prepare" in rules

    compared = assert_same_results(local, remote)
    assert "results/data/BasicMotions/prepared.npz" in compared
    assert any(name.endswith(".keras") for name in compared) and "results/tables/runs.tsv" in compared
