"""The factor analysis recovers planted effects and does not flag null factors."""

from __future__ import annotations

from itertools import product

import numpy as np
import pandas as pd
import pytest

from synthtl import factors
from synthtl.inference import SET, UNIT

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
        row["hp"], row["train_fraction"], row["gan_seed"] = f"lr{lr:g}-bs{bs}-ep2", 1.0, 0
        cell = (d, model, lr, bs)
        shared.setdefault(cell, baseline_sd * rng.standard_normal())
        row["gain"] = effect(row) + shift[d] + shared[cell] + 0.01 * rng.standard_normal()
        rows.append(row)
    return pd.DataFrame(rows)


def test_the_dataset_intercept_is_in_the_fitted_model():
    # a planted dataset shift of SD 0.03: the model's dataset variance recovers it (the old vc-only model had none)
    data = pairs_table(list(DATASETS), lambda r: 0.0, seed=1, seeds=2, dataset_sd=0.03)
    data[["length", "n_classes", "n_channels", "n_train"]] = 1  # no dataset-level fixed effect absorbs the shift
    coefs, anova = factors.factor_analysis(data, alpha=0.05, min_datasets=5)
    assert anova["model_kind"].iloc[0].startswith("MixedLM (REML): random intercept per dataset (8)")
    variance = coefs[coefs["factor"] == "variance"].set_index("term")["estimate"]
    shifts = data.groupby("dataset")["gain"].mean()
    assert variance["dataset intercept"] == pytest.approx(shifts.var(ddof=1), rel=0.5)
    assert {"synthetic_set (variance component)", "baseline_run (variance component)", "residual"} <= set(variance.index)
    assert anova["converged"].all() and {"singular", "fit_warnings"} <= set(anova.columns)


def test_mixed_model_recovers_planted_dataset_and_generator_effects_and_not_null_ones():
    data = pairs_table(list(DATASETS), lambda r: 0.008 * r["n_classes"] + 0.02 * (r["generator"] == "wgan"),
                       seeds=2, dataset_sd=0.002)
    coefs, anova = factors.factor_analysis(data, alpha=0.05, min_datasets=5)
    tests = anova.set_index("factor")
    assert tests.loc["generator", "significant"] and tests.loc["n_classes", "significant"]
    for null in ("batch_size", "model", "log10_learning_rate"):
        assert not tests.loc[null, "significant"], null
    wgan = coefs.set_index("term").loc["C(generator)[T.wgan]"]
    assert wgan["ci_low"] < 0.02 < wgan["ci_high"]
    # each factor is tested at its own level, with containment degrees of freedom
    n_sets, n_units = len(data.drop_duplicates(SET)), len(data.drop_duplicates(UNIT))
    assert tests.loc["generator", "level"] == "synthetic set"
    assert "conditional on that generator draw" in tests.loc["generator", "reason"]  # one GAN seed here
    assert tests.loc["n_classes", "level"] == "dataset" and tests.loc["model", "level"] == "baseline run"
    dataset_terms = int((tests["level"] == "dataset").sum())
    assert tests.loc["n_classes", "df_resid"] == 8 - 1 - dataset_terms
    set_terms = int(((tests["level"] == "synthetic set") & (tests["status"] == "in model")).sum())
    assert tests.loc["generator", "df_resid"] == n_sets - 8 - set_terms
    assert tests.loc["model", "df_resid"] < n_units
    f, df = tests.loc["generator", "statistic"], tests.loc["generator", "df_resid"]
    assert tests.loc["generator", "partial_eta2"] == pytest.approx(f / (f + df))


def test_few_datasets_test_within_dataset_factors_and_refuse_dataset_ones():
    data = pairs_table(["A", "B"], lambda r: 0.02 * r["log10_learning_rate"])
    coefs, anova = factors.factor_analysis(data, alpha=0.05, min_datasets=5)
    tests = anova.set_index("factor")
    assert tests.loc["log10_learning_rate", "significant"] and tests.loc["log10_learning_rate", "partial_eta2"] > 0.5
    assert not tests.loc["batch_size", "significant"] and not tests.loc["model", "significant"]
    assert tests.loc["discriminative_score", "status"] == "dropped"  # constant
    for factor in ("length", "n_classes", "n_channels", "n_train"):  # never a stand-in for "dataset"
        assert tests.loc[factor, "status"] == "not run", factor
        assert tests.loc[factor, "reason"].startswith("dataset-level factor: 2 datasets"), factor
    lr = coefs.set_index("term").loc["log10_learning_rate"]
    sd = data["log10_learning_rate"].std(ddof=0)
    assert lr["ci_low"] < 0.02 * sd < lr["ci_high"]  # the effect per SD of log10 lr
    ran = tests["status"] == "in model"
    assert tests.loc[ran, "p_holm"].astype(float).ge(tests.loc[ran, "p_value"].astype(float) - 1e-15).all()


def test_five_datasets_are_not_enough_for_four_dataset_level_terms():
    data = pairs_table(list(DATASETS)[:5], lambda r: 0.0, seeds=2)
    _, anova = factors.factor_analysis(data, alpha=0.05, min_datasets=5)
    tests = anova.set_index("factor")
    assert tests.loc["length", "status"] == "in model" and tests.loc["length", "df_resid"] == 3
    assert tests.loc["n_classes", "status"] == "not run" and "needs ≥ 6" in tests.loc["n_classes", "reason"]


def test_shared_baseline_noise_does_not_flag_null_hyperparameters():
    # Only noise, most of it shared by the runs compared with one baseline; no factor has an effect.
    data = pairs_table(list(DATASETS), lambda r: 0.0, seed=3, seeds=2, baseline_sd=0.02)
    _, anova = factors.factor_analysis(data, alpha=0.05, min_datasets=5)
    flagged = anova.loc[anova["significant"].fillna(False).astype(bool), "factor"].tolist()
    assert flagged == []


@pytest.mark.parametrize("column", ["gain"])
def test_constant_gain_is_not_a_model(column):
    data = pairs_table(["A", "B"], lambda r: 0.0, seeds=1)
    data[column] = 0.0
    _, anova = factors.factor_analysis(data, alpha=0.05, min_datasets=5)
    assert set(anova["status"]) <= {"not run", "dropped"}
    assert anova.loc[anova["status"] == "not run", "reason"].eq("no variance in the gain").all()


def test_a_level_with_every_unit_alone_in_its_block_is_not_run_and_says_why():
    # one generator, and every fraction trained on its own real subset: each synthetic set is alone in its
    # block (dataset x GAN seed x real fraction), so nothing compares sets within a block
    data = pairs_table(["A", "B"], lambda r: 0.0, seeds=2)
    data = data[data["generator"] == "wgan"].copy()
    data["train_fraction"] = data["fraction"]
    data["discriminative_score"] = 0.2 + 0.1 * data["fraction"] + 0.05 * (data["dataset"] == "A")
    _, anova = factors.factor_analysis(data, alpha=0.05, min_datasets=5)
    tests = anova.set_index("factor")
    assert tests.loc["discriminative_score", "status"] == "not run"
    assert "sharing a block" in tests.loc["discriminative_score", "reason"]
    assert tests.loc["log10_learning_rate", "status"] == "in model"  # other levels still fit
    # no level can be fitted: the table still has its columns, every factor says why
    one_unit = data[(data["log10_learning_rate"] == -3) & (data["batch_size"] == 16) & (data["model"] == "fcn")]
    _, anova = factors.factor_analysis(one_unit, alpha=0.05, min_datasets=5)
    assert {"p_value", "p_holm", "significant"} <= set(anova.columns)
    assert set(anova["status"]) <= {"not run", "dropped"} and anova["reason"].str.len().gt(0).all()
