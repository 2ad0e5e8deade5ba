"""The data stage (download -> prepare) run by the real `snakemake` in a temporary folder."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest
import yaml

from conftest import snakemake, tiny_config
from synthtl.data import fraction_index, load_classes, load_split

pytestmark = pytest.mark.workflow

MIRRORED = ["BasicMotions", "ERing"]  # ERing is not shipped with aeon: only a mirror or the archive has it


def targets(*datasets: str) -> list[str]:
    return [f"results/data/{name}/prepared.npz" for name in datasets]


def job_counts(text: str) -> dict[str, int]:
    """The 'Job stats' table of a Snakemake run: rule -> jobs."""
    return {job: int(n) for job, n in re.findall(r"^(\w+)\s+(\d+)$", text, re.MULTILINE)}


def published(shared_uea) -> tuple[dict, dict]:
    with open(shared_uea / "metadata.csv") as handle:
        sizes = {row["Dataset"]: row for row in csv.DictReader(handle)}
    lines = (shared_uea / "SHA256SUMS").read_text().split("\n")
    sums = {name.removesuffix(".zip"): digest for digest, name in (line.split() for line in lines if line.strip())}
    return sizes, sums


def test_data_stage_from_a_mirror_folder(tmp_path, shared_uea):
    sizes, sums = published(shared_uea)
    config = tiny_config(datasets=MIRRORED, fractions=[0.25, 0.5, 1.0],
                         source={"kind": "mirror", "mirror": str(shared_uea), "sha256": {"ERing": sums["ERing"]}})
    snakemake(tmp_path, "--cores", "2", *targets(*MIRRORED), config=config)

    for name in MIRRORED:
        raw = tmp_path / "resources" / "uea" / name
        assert sorted(p.name for p in raw.iterdir()) == sorted([f"{name}_TRAIN.ts", f"{name}_TEST.ts", "source.json"])
        record = json.loads((raw / "source.json").read_text())
        assert record["source"] == "mirror" and record["zip_sha256"] == sums[name]
        assert record["url"] == str(shared_uea / f"{name}.zip")

        meta = json.loads((tmp_path / "results" / "data" / name / "meta.json").read_text())
        row = sizes[name]
        assert meta["dataset"] == name and meta["source"] == record
        assert meta["n_train"] + meta["n_val"] == int(row["TrainSize"]) and meta["n_test"] == int(row["TestSize"])
        assert (meta["n_classes"], meta["n_channels"], meta["length"]) == \
            (int(row["NumberClasses"]), int(row["Channels"]), int(row["Length"]))
        assert meta["settings"]["seed"] == 0 and meta["settings"]["val_fraction"] == 0.2  # schema defaults filled in

        npz = tmp_path / "results" / "data" / name / "prepared.npz"
        X, y = load_split(npz, "train")
        assert X.shape == (meta["n_train"], meta["length"], meta["n_channels"]) and X.dtype == np.float32
        X_half, _ = load_split(npz, "train", 0.5)
        quarter, half, full = (set(fraction_index(npz, f)) for f in (0.25, 0.5, 1))
        assert quarter < half < full == set(range(meta["n_train"])) and len(X_half) == len(half)
        assert list(load_classes(npz)) == meta["classes"]
        for step in ("download", "prepare"):
            assert (tmp_path / "logs" / step / f"{name}.log").is_file()
    # nothing but the datasets' folders below resources/uea (no staging folders)
    assert sorted(p.name for p in (tmp_path / "resources" / "uea").iterdir()) == sorted(MIRRORED)

    again = snakemake(tmp_path, "-n", *targets(*MIRRORED))
    assert "Nothing to be done" in again.stdout + again.stderr

    # a changed preparation setting reruns prepare only, not the downloads
    config["prepare"] = {"seed": 1}
    changed = snakemake(tmp_path, "-n", *targets(*MIRRORED), config=config)
    planned = job_counts(changed.stdout)
    assert planned == {"prepare": 2, "total": 2}, planned


def test_data_stage_of_the_default_experiment(tmp_path, repo, shared_uea):
    """The repository's own config/config.yaml: aeon's embedded datasets, no network."""
    config = yaml.safe_load((repo / "config" / "config.yaml").read_text())
    sizes, _ = published(shared_uea)
    snakemake(tmp_path, "--cores", "2", *targets(*config["datasets"]), config=config)
    for name in config["datasets"]:
        meta = json.loads((tmp_path / "results" / "data" / name / "meta.json").read_text())
        assert meta["source"]["source"] == "embedded" and meta["source"]["url"].startswith("aeon ")
        assert meta["n_train"] + meta["n_val"] == int(sizes[name]["TrainSize"])
        assert meta["n_test"] == int(sizes[name]["TestSize"])
        if not int(sizes[name]["Length"]):  # JapaneseVowels: harmonised
            assert not meta["equal_length"] and meta["original_min_length"] < meta["original_max_length"]


def test_a_failed_download_stops_the_run_and_leaves_nothing(tmp_path, shared_uea):
    empty_mirror = tmp_path / "mirror"
    empty_mirror.mkdir()
    work = tmp_path / "work"
    config = tiny_config(datasets=["ERing"], source={"kind": "mirror", "mirror": str(empty_mirror)})
    result = snakemake(work, "--cores", "1", *targets("ERing"), config=config, check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "ERing.zip: no such file in the mirror" in output
    assert list((work / "resources" / "uea").rglob("*.ts")) == []
    assert list((work / "resources" / "uea").rglob("source.json")) == []
    assert not (work / "results").exists()


BAD = {
    "unknown dataset name": (
        {"datasets": ["BasicMotions", "JapaneseVowel"], "source": {"kind": "archive"}},
        ["datasets[1]", "'JapaneseVowel' is not a UEA multivariate dataset", "JapaneseVowels",
         "ArticularyWordRecognition", "source.kind=mirror"]),
    "bad enum value": (
        {"prepare": {"length": "stretch"}},
        ["prepare.length", "'stretch' is not allowed", "allowed values: resample, pad, truncate"]),
    "unknown key": (
        {"transfers": {"regime": "full"}},
        ["transfers: unknown key", "known keys:", "transfer"]),
    "embedded source with a non-embedded dataset": (
        {"datasets": ["ERing"], "source": {"kind": "embedded"}},
        ["config key datasets", "'ERing' is not shipped with aeon", "BasicMotions, JapaneseVowels"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_config_is_rejected_before_any_job(tmp_path, case):
    overrides, expected = BAD[case]
    config = tiny_config(**overrides)
    result = snakemake(tmp_path, "--cores", "1", *targets("BasicMotions"), config=config, check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    for text in expected:
        assert text in output, f"{text!r} not in:\n{output[-3000:]}"
    for folder in ("results", "resources", "logs"):
        assert not (tmp_path / folder).exists(), folder
