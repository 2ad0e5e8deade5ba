"""A real Snakemake run of train_gan -> synthesize -> synthetic_quality for one small cell."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from conftest import snakemake, tiny_config
from synthtl.data import fraction_index

CELLS = ["BasicMotions/wgan/frac0.5", "BasicMotions/jitter/frac0.5"]


@pytest.mark.workflow
def test_train_gan_and_synthesize_for_one_cell(tmp_path):
    config = tiny_config(
        fractions=[0.5],
        gan={"generators": ["wgan", "jitter"], "seed": 0, "synthetic_multiple": 1.0,
             "wgan": {"epochs": 2, "steps_per_epoch": 3, "batch_size": 16, "latent_dim": 8, "filters": 8}},
    )
    targets = [f"results/synthetic/{cell}/quality.json" for cell in CELLS]
    snakemake(tmp_path, "--cores", "2", *targets, config=config)

    with np.load(tmp_path / "results/data/BasicMotions/prepared.npz") as data:
        X_train, classes = data["X_train"], data["classes"]
    half_index = fraction_index(tmp_path / "results/data/BasicMotions/prepared.npz", 0.5)
    for cell in CELLS:
        gan_dir = tmp_path / "results/gan" / cell
        assert (gan_dir / "model" / "generator.json").is_file()
        with open(gan_dir / "history.tsv") as handle:
            history = list(csv.DictReader(handle, delimiter="\t"))
        out = tmp_path / "results/synthetic" / cell
        with np.load(out / "synthetic.npz") as data:
            X, y = data["X"], data["y"]
        assert X.shape == X_train.shape and X.dtype == np.float32 and y.dtype == np.int64
        assert sorted(set(y.tolist())) == list(range(len(classes)))
        assert np.bincount(y).max() - np.bincount(y).min() <= 1
        report = json.loads((out / "quality.json").read_text())
        assert report["n_synthetic"] == len(X_train)
        assert 0.0 <= report["discriminative_score"] <= 0.5 and 0.0 <= report["tstr_accuracy"] <= 1.0
        for figure in ("samples.png", "embedding.png", "embedding.svg"):
            assert (out / figure).stat().st_size > 1000
        log = (tmp_path / "logs/train_gan" / f"{cell}.log").read_text()
        assert "epoch 1" in log
        if "wgan" in cell:
            assert [row["epoch"] for row in history] == ["1", "2"] and float(history[-1]["step"]) == 6
            assert "d_loss=" in log and "g_loss=" in log
        else:
            assert history[0]["n_cases"] == str(len(half_index))
    assert (tmp_path / "results/benchmarks/train_gan/BasicMotions/wgan/frac0.5.tsv").is_file()


@pytest.mark.workflow
def test_a_diverging_gan_fails_its_job_with_a_clear_error(tmp_path):
    config = tiny_config(
        fractions=[0.5],
        gan={"generators": ["wgan"], "wgan": {"epochs": 3, "steps_per_epoch": 2, "batch_size": 8, "latent_dim": 4,
                                              "filters": 4, "learning_rate": 1.0e12, "max_abs_loss": 1.0e4}},
    )
    result = snakemake(tmp_path, "--cores", "2", "results/gan/BasicMotions/wgan/frac0.5/history.tsv",
                       config=config, check=False)
    assert result.returncode != 0
    assert "BasicMotions/wgan/frac0.5: training diverged" in result.stderr + result.stdout
    log = (tmp_path / "logs/train_gan/BasicMotions/wgan/frac0.5.log").read_text()
    assert "at step " in log
    assert not (tmp_path / "results/gan/BasicMotions/wgan/frac0.5/model").exists()
