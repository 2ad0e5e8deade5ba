"""config/paper.yaml's shape at tiny budgets over ten datasets, for real (the `paper_smoke` fixture; what
runs and why it is split in two: tests/paper_smoke.py)."""

from __future__ import annotations

import json
from itertools import product

import numpy as np
import pandas as pd
import pytest

from paper_smoke import BREADTH_GENERATORS, DATASETS, DEPTH, EXTREMES, FRACTION, synthetic_set
from synthtl.budget import Budget

pytestmark = pytest.mark.workflow


def test_every_target_of_both_parts_is_produced(paper_smoke):
    assert paper_smoke["left"] == {"breadth": {}, "depth": {}}


def test_every_dataset_and_generator_is_scored_on_cases_the_generator_never_saw(paper_smoke):
    workdir, config = paper_smoke["workdir"], paper_smoke["configs"]["breadth"]
    assert config["gan"]["wgan"]["n_critic"] == 5 and config["gan"]["wgan"]["learning_rate"] == 1e-4  # paper.yaml's
    sets = list(product(DATASETS, BREADTH_GENERATORS)) + [(name, "jitter") for name in EXTREMES]
    for dataset, generator in sets:
        meta = json.loads((workdir / f"results/data/{dataset}/meta.json").read_text())
        folder = workdir / synthetic_set(dataset, generator)
        quality = json.loads((folder / "quality.json").read_text())
        where = f"{dataset}/{generator}"
        assert quality["tstr_heldout_n"] == meta["n_val"] + meta["n_train"] - quality["n_real_seen"] > 0, where
        assert 0 <= quality["tstr_accuracy"] <= 1 and 0 <= quality["discriminative_score"] <= 0.5, where
        with np.load(folder / "synthetic.npz") as data:
            assert data["X"].shape[1:] == (meta["length"], meta["n_channels"]), where
        for figure in ("samples.png", "embedding.png"):
            assert (folder / figure).stat().st_size > 1000, where
    lengths = {name: json.loads((workdir / f"results/data/{name}/meta.json").read_text())["length"] for name in EXTREMES}
    assert lengths == {"ShortSeries": 6, "LongSeries": 2048}
    spec = json.loads((workdir / "results/gan/LongSeries/timegan/frac0.25/gseed0/model/generator.json").read_text())
    assert spec["settings"]["max_length"] == 256


def test_every_model_generator_and_arm_ran_inside_the_scarce_budget(paper_smoke):
    workdir, config = paper_smoke["workdir"], paper_smoke["configs"]["depth"]
    runs = pd.read_csv(workdir / "results/tables/runs.tsv", sep="\t")
    models, generators, seeds = config["classifier"]["models"], config["gan"]["generators"], config["classifier"]["seeds"]
    assert models == ["fcn", "resnet", "gru", "lstm"] and generators == ["wgan", "timegan", "jitter"]
    assert len(runs) == len(models) * len(seeds) * (1 + 2 * len(generators))  # baseline, pretrain-only, finetune
    assert set(runs["dataset"]) == set(DEPTH) and set(runs["regime"].dropna()) == {"scarce"}
    assert set(zip(runs["model"], runs["generator"].fillna("-"), runs["arm"])) == (
        {(m, "-", "baseline") for m in models} | set(product(models, generators, ["pretrain-only", "finetune"])))
    budget = Budget(workdir / f"results/data/{DEPTH[0]}/prepared.npz", FRACTION)
    real = runs[runs["arm"] != "pretrain-only"]
    assert (real["n_train_run"] == len(budget.train_index)).all() and (real["n_val_run"] == len(budget.val_index)).all()
    assert (real["train_fraction"] == FRACTION).all()


def test_the_effects_compare_every_generator_tuned_on_val_first(paper_smoke):
    workdir, config = paper_smoke["workdir"], paper_smoke["configs"]["depth"]
    effects = pd.read_csv(workdir / "results/stats/effects.tsv", sep="\t")
    assert effects["comparison"].iloc[0] == "tuned on VAL"
    for comparison in ("tuned on VAL", "each grid point"):
        levels = set(effects.loc[effects["comparison"] == comparison, "level"])
        assert {f"generator={g}" for g in config["gan"]["generators"]} <= levels, comparison
