"""A real snakemake run of the baseline arm and its evaluation for one small cell."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import scheduled, snakemake, tiny_config
from synthtl import metrics, training

CELL = "BasicMotions/fcn/lr0.001-bs16-ep2"


@pytest.mark.workflow
def test_baseline_cell_trains_every_seed_and_evaluates_it(tmp_path):
    config = tiny_config()
    config["classifier"]["seeds"] = [0, 3]
    target = f"results/metrics/{CELL}/baseline/frac1/metrics.tsv"
    plan = scheduled(snakemake(tmp_path, "-n", target, config=config))
    assert plan == {"download": 1, "prepare": 1, "baseline": 1, "evaluate": 1}, plan  # one job for both seeds
    console = snakemake(tmp_path, "--cores", "2", target)

    table = pd.read_csv(tmp_path / target, sep="\t")
    assert list(table.columns) == metrics.COLUMNS
    assert table["seed"].tolist() == [0, 3]
    assert set(table["arm"]) == {"baseline"} and set(table["family"]) == {"cnn"}
    assert table["train_fraction"].tolist() == [1, 1] and table["generator"].isna().all()
    assert table["accuracy"].between(0, 1).all() and (table["log_loss"] > 0).all()
    for seed in (0, 3):
        folder = tmp_path / f"results/models/{CELL}/baseline/frac1/seed{seed}"
        history = pd.read_csv(folder / "history.tsv", sep="\t")
        record = json.loads((folder / "run.json").read_text())
        assert list(history.columns) == training.HISTORY_COLUMNS and history["epoch"].tolist() == [1, 2]
        assert record["seed"] == seed and record["epochs_run"] == 2 and 1 <= record["best_epoch"] <= 2
        assert len(record["fingerprint"]) == 64 and record["versions"]["keras"]
        assert record["settings"]["hyper"] == {"learning_rate": 0.001, "batch_size": 16, "epochs": 2, "patience": 2}
        assert (folder / "model.keras").stat().st_size > 0
        row = table[table["seed"] == seed].iloc[0]
        assert (row["epochs_run"], row["best_epoch"], row["train_time_s"]) == (
            record["epochs_run"], record["best_epoch"], record["train_time_s"])
    log = (tmp_path / f"logs/baseline/{CELL}/frac1.log").read_text()
    assert "seed 3 epoch 2/2 loss" in log  # per-epoch progress in the job's log
    assert "seed 3: trained 2 epochs" in log.splitlines()[-1]  # flushed before logs.finish() ends the job
    # TensorFlow's C++ start-up lines (printed whatever TF_CPP_MIN_LOG_LEVEL says) go to the log, not the console
    assert "oneDNN custom operations" in log
    assert "oneDNN" not in console.stdout + console.stderr and "absl::" not in console.stdout + console.stderr
    bench = pd.read_csv(tmp_path / f"results/benchmarks/baseline/{CELL}/frac1.tsv", sep="\t")
    assert bench.loc[0, "s"] > 0
    assert scheduled(snakemake(tmp_path, "-n", target)) == {}
