"""The factor analysis recovers planted effects and does not flag null factors."""

from __future__ import annotations

from itertools import product

import numpy as np
import pandas as pd
import pytest

from synthtl import factors

DATASETS = {  # length, classes, channels, train size
    "A": (100, 4, 6, 32), "B": (29, 9, 12, 216), "C": (60, 2, 3, 80), "D": (200, 6, 2, 120),
    "E": (45, 3, 9, 60), "F": (150, 5, 4, 40), "G": (80, 8, 7, 300), "H": (120, 7, 5, 150),
}


def pairs_table(datasets: list[str], effect, seed: int = 0, seeds: int = 4, dataset_sd: float = 0.0,
                baseline_sd: float = 0.0) -> pd.DataFrame:
    """Seed-matched pairs over a full design; gain = effect(row) + dataset shift + shared baseline noise + noise.

    Shared baseline noise: every finetune run of a (dataset, model, hp) cell is compared with the same
    baseline runs, so their baseline's noise enters every one of their gains.
    """
    rng = np.random.default_rng(seed)
    shift = {d: dataset_sd * rng.standard_normal() for d in datasets}
    shared = {}
    rows = []
    for d, lr, bs, frac, model, gen, s in product(datasets, [1e-4, 1e-3, 1e-2], [16, 64], [0.25, 0.5, 1.0],
                                                  ["fcn", "gru"], ["wgan", "jitter"], range(seeds)):
        length, classes, channels, n_train = DATASETS[d]
        row = {"dataset": d, "model": model, "generator": gen, "log10_learning_rate": np.log10(lr), "batch_size": bs,
               "fraction": frac, "length": length, "n_classes": classes, "n_channels": channels, "n_train": n_train,
               "tstr_accuracy": 0.5 + 0.1 * frac + 0.01 * (gen == "wgan"), "discriminative_score": 0.3, "seed": s}
        row["hp"], row["train_fraction"] = f"lr{lr:g}-bs{bs}-ep2", 1.0
        cell = (d, model, lr, bs)
        shared.setdefault(cell, baseline_sd * rng.standard_normal())
        row["gain"] = effect(row) + shift[d] + shared[cell] + 0.01 * rng.standard_normal()
        rows.append(row)
    return pd.DataFrame(rows)


def test_few_datasets_recover_planted_learning_rate_effect_and_ignore_batch_size():
    data = pairs_table(["A", "B"], lambda r: 0.02 * r["log10_learning_rate"])
    coefs, anova = factors.factor_analysis(data, alpha=0.05, min_datasets=5)
    assert anova["model_kind"].iloc[0].startswith("MixedLM (random intercept per baseline cell (24)")
    tests = anova.set_index("factor")
    assert tests.loc["log10_learning_rate", "significant"] and tests.loc["log10_learning_rate", "partial_eta2"] > 0.5
    assert not tests.loc["batch_size", "significant"] and not tests.loc["model", "significant"]
    assert tests.loc["discriminative_score", "status"] == "dropped"  # constant
    assert "collinear" in tests.loc["n_classes", "reason"]  # 2 datasets: one dataset factor at most
    lr = coefs.set_index("term").loc["log10_learning_rate"]
    sd = data["log10_learning_rate"].std(ddof=0)
    assert lr["ci_low"] < 0.02 * sd < lr["ci_high"]  # the effect per SD of log10 lr
    p = tests.loc[tests["status"] == "in model", "p_value"].astype(float)
    assert tests.loc[tests["status"] == "in model", "p_holm"].astype(float).ge(p - 1e-15).all()


def test_mixed_model_with_enough_datasets_recovers_dataset_and_generator_effects():
    datasets = list(DATASETS)
    data = pairs_table(datasets, lambda r: 0.004 * r["n_classes"] + 0.02 * (r["generator"] == "wgan"),
                       seeds=2, dataset_sd=0.002)
    coefs, anova = factors.factor_analysis(data, alpha=0.05, min_datasets=5)
    assert anova["model_kind"].iloc[0].startswith("MixedLM (random intercept per dataset (8)")
    tests = anova.set_index("factor")
    assert tests.loc["generator", "significant"] and tests.loc["n_classes", "significant"]
    for null in ("batch_size", "model", "log10_learning_rate"):
        assert not tests.loc[null, "significant"], null
    wgan = coefs.set_index("term").loc["C(generator)[T.wgan]"]
    assert wgan["ci_low"] < 0.02 < wgan["ci_high"]


def test_ols_when_too_few_datasets_and_cells():
    data = pairs_table(["A", "B"], lambda r: 0.02 * (r["generator"] == "wgan"))
    data = data[(data["log10_learning_rate"] == -3) & (data["batch_size"] == 16)]
    coefs, anova = factors.factor_analysis(data, alpha=0.05, min_datasets=5)
    assert anova["model_kind"].iloc[0].startswith("OLS (2 datasets and 4 baseline cells < 5")
    tests = anova.set_index("factor")
    assert tests.loc["generator", "significant"] and not tests.loc["fraction", "significant"]
    assert tests.loc["generator", "test"] == "F (type II)"


def test_shared_baseline_noise_does_not_flag_null_hyperparameters():
    # Only noise, most of it shared by the runs compared with one baseline; no factor has an effect.
    data = pairs_table(list(DATASETS), lambda r: 0.0, seed=3, seeds=2, baseline_sd=0.02)
    _, anova = factors.factor_analysis(data, alpha=0.05, min_datasets=5)
    assert "per baseline cell within dataset (96)" in anova["model_kind"].iloc[0]
    flagged = anova.loc[anova["significant"].fillna(False).astype(bool), "factor"].tolist()
    assert flagged == []


def test_too_few_pairs_say_not_run():
    data = pairs_table(["A"], lambda r: 0.0, seeds=1).head(6)
    coefs, anova = factors.factor_analysis(data, alpha=0.05, min_datasets=5)
    assert coefs.empty
    assert (anova.loc[anova["status"] != "dropped", "status"] == "not run").all()
    assert anova.loc[anova["status"] == "not run", "reason"].str.contains("pairs <").all()


@pytest.mark.parametrize("column", ["gain"])
def test_constant_gain_is_not_a_model(column):
    data = pairs_table(["A", "B"], lambda r: 0.0, seeds=1)
    data[column] = 0.0
    _, anova = factors.factor_analysis(data, alpha=0.05, min_datasets=5)
    assert set(anova["status"]) <= {"not run", "dropped"}
    assert anova.loc[anova["status"] == "not run", "reason"].eq("no variance in the gain").all()
