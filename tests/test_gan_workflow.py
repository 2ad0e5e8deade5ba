"""A real Snakemake run of train_gan -> synthesize -> synthetic_quality for one small cell."""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest

from conftest import scheduled, snakemake, tiny_config
from synthtl.data import fraction_index

CELLS = ["BasicMotions/wgan/frac0.5/gseed0", "BasicMotions/jitter/frac0.5/gseed0"]


@pytest.mark.workflow
def test_train_gan_and_synthesize_for_one_cell(tmp_path):
    config = tiny_config(
        fractions=[0.5],
        gan={"generators": ["wgan", "jitter"], "seeds": [0], "synthetic_multiple": 1.0,
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
        assert json.loads((gan_dir / "model" / "generator.json").read_text())["seed"] == 0
    assert (tmp_path / "results/benchmarks/train_gan/BasicMotions/wgan/frac0.5/gseed0.tsv").is_file()


@pytest.mark.workflow
def test_each_gan_seed_trains_a_generator_and_classifier_seeds_take_the_sets_in_turn(tmp_path):
    """gan.seeds [0, 1]: two generators per (dataset, generator, fraction); classifier seeds 0, 1, 2 pretrain on 0, 1, 0."""
    config = tiny_config(fractions=[0.5])
    config["gan"]["seeds"] = [0, 1]
    config["classifier"]["seeds"] = [0, 1, 2]
    config["classifier"]["grid"]["epochs"] = [1]
    cell = "BasicMotions/fcn/lr0.001-bs16-ep1"
    runs = ["pretrain/jitter/frac0.5", "finetune/jitter/frac0.5/full/full"]
    targets = [f"results/metrics/{cell}/{run}/metrics.tsv" for run in runs]
    targets += [f"results/synthetic/BasicMotions/jitter/frac0.5/gseed{g}/synthetic.npz" for g in (0, 1)]
    plan = scheduled(snakemake(tmp_path, "-n", *targets, config=config))
    assert {"train_gan": 2, "synthesize": 2, "pretrain": 1, "finetune": 1, "evaluate_transfer": 1}.items() <= plan.items()
    snakemake(tmp_path, "--cores", "2", *targets)

    sets = {}
    for gan_seed in (0, 1):
        spec = json.loads((tmp_path / f"results/gan/BasicMotions/jitter/frac0.5/gseed{gan_seed}/model/generator.json")
                          .read_text())
        assert spec["seed"] == gan_seed  # the generator got its seed from the path
        assert (tmp_path / f"logs/train_gan/BasicMotions/jitter/frac0.5/gseed{gan_seed}.log").is_file()
        with np.load(tmp_path / f"results/synthetic/BasicMotions/jitter/frac0.5/gseed{gan_seed}/synthetic.npz") as data:
            sets[gan_seed] = data["X"]
    assert not np.allclose(sets[0], sets[1])  # two generator runs, two different sets
    models = tmp_path / "results/models" / cell
    log = (tmp_path / f"logs/pretrain/{cell}/jitter/frac0.5.log").read_text()
    for seed, gan_seed in ((0, 0), (1, 1), (2, 0)):
        pre = json.loads((models / f"pretrain/jitter/frac0.5/seed{seed}/run.json").read_text())
        assert pre["gan_seed"] == gan_seed and pre["settings"]["gan_seed"] == gan_seed
        assert pre["inputs"][1] == f"results/synthetic/BasicMotions/jitter/frac0.5/gseed{gan_seed}/synthetic.npz"
        assert f"seed {seed}: synthetic set of GAN seed {gan_seed}" in log  # what the job read
        tuned = json.loads((models / f"finetune/jitter/frac0.5/full/full/seed{seed}/run.json").read_text())
        assert tuned["gan_seed"] == gan_seed
    for run in runs:
        table = pd.read_csv(tmp_path / f"results/metrics/{cell}/{run}/metrics.tsv", sep="\t")
        assert table["seed"].tolist() == [0, 1, 2] and table["gan_seed"].tolist() == [0, 1, 0]


@pytest.mark.workflow
def test_a_diverging_gan_fails_its_job_with_a_clear_error(tmp_path):
    config = tiny_config(
        fractions=[0.5],
        gan={"generators": ["wgan"], "wgan": {"epochs": 3, "steps_per_epoch": 2, "batch_size": 8, "latent_dim": 4,
                                              "filters": 4, "learning_rate": 1.0e12, "max_abs_loss": 1.0e4}},
    )
    result = snakemake(tmp_path, "--cores", "2", "results/gan/BasicMotions/wgan/frac0.5/gseed0/history.tsv",
                       config=config, check=False)
    assert result.returncode != 0
    assert "BasicMotions/wgan/frac0.5/gseed0: training diverged" in result.stderr + result.stdout
    log = (tmp_path / "logs/train_gan/BasicMotions/wgan/frac0.5/gseed0.log").read_text()
    assert "at step " in log
    assert not (tmp_path / "results/gan/BasicMotions/wgan/frac0.5/gseed0/model").exists()
