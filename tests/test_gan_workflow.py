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


def _planned_gan_memory(result) -> dict[tuple[str, str], int]:
    """(generator, fraction) -> mem_mb of each train_gan job listed by a `snakemake -n` run."""
    planned, job = {}, None
    for line in (result.stdout + result.stderr).splitlines():
        line = line.strip()
        if line.endswith("rule train_gan:"):
            job = {}
        elif job is not None and line.startswith("wildcards:"):
            job.update(part.strip().split("=") for part in line.removeprefix("wildcards:").split(","))
        elif job is not None and line.startswith("resources:"):
            mem = next(part for part in line.split(", ") if part.startswith("mem_mb="))
            planned[(job["generator"], job["fraction"])] = int(mem.split("=")[1])
            job = None
    return planned


@pytest.mark.workflow
def test_train_gan_asks_for_the_memory_its_data_need_and_stops_early_below_it(tmp_path):
    """mem_mb follows the data (synthtl.memory, from meta.json): a longer TimeGAN training length or a larger
    fraction asks for more; a job given less than its estimate fails before training, naming the cell."""
    from synthtl import gan, memory, timegan  # noqa: PLC0415

    settings = {"wgan": {"epochs": 1, "steps_per_epoch": 2, "batch_size": 128, "filters": 96},
                "timegan": {"epochs": 1, "steps_per_epoch": 2, "batch_size": 128, "hidden_dim": 48,
                            "num_layers": 3, "max_length": 32}}
    config = tiny_config(fractions=[0.5, 1.0], gan={"generators": ["wgan", "timegan", "jitter"], **settings})
    snakemake(tmp_path, "--cores", "2", "results/data/BasicMotions/prepared.npz", config=config)
    meta = json.loads((tmp_path / "results/data/BasicMotions/meta.json").read_text())
    planned = _planned_gan_memory(snakemake(tmp_path, "-n", config=config))

    estimate = {"wgan": gan.estimate_memory_mb, "timegan": timegan.estimate_memory_mb,
                "jitter": lambda n, length, channels, _: memory.generator_mb("jitter", n, length, channels, {})}
    expected = {
        (name, fraction): memory.request_mb(estimate[name](
            int(np.ceil(float(fraction) * meta["n_train"])), meta["length"], meta["n_channels"],
            settings.get(name, {})))
        for name in estimate for fraction in ("0.5", "1")
    }
    assert planned == expected
    assert planned[("timegan", "1")] > planned[("wgan", "1")] > planned[("jitter", "1")] >= memory.MIN_REQUEST_MB
    longer = {**settings, "timegan": {**settings["timegan"], "max_length": 100}}
    longer_plan = _planned_gan_memory(snakemake(tmp_path, "-n", config=tiny_config(
        fractions=[0.5, 1.0], gan={"generators": ["wgan", "timegan", "jitter"], **longer})))
    assert longer_plan[("timegan", "1")] > planned[("timegan", "1")]
    assert longer_plan[("wgan", "1")] == planned[("wgan", "1")]

    target = "results/gan/BasicMotions/timegan/frac1/gseed0/history.tsv"
    result = snakemake(tmp_path, "--cores", "1", target, "--set-resources", "train_gan:mem_mb=300",
                       config=config, check=False)
    assert result.returncode != 0
    assert "BasicMotions/timegan/frac1/gseed0: timegan on" in result.stderr
    assert "the job may use 300 MB" in result.stderr and "lower gan.timegan.max_length" in result.stderr
    assert not (tmp_path / target).exists()
    assert not (tmp_path / "results/gan/BasicMotions/timegan/frac1/gseed0/model").exists()
