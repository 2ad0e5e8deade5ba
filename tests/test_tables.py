"""tables.aggregate on hand-made metrics, meta and quality files; then the stats and figures on its output."""

from __future__ import annotations

import json
from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthtl import plots, stats, tables
from synthtl.naming import gan_seed_for, parse_run, run_path

META = {"BasicMotions": dict(length=100, n_channels=6, n_classes=4, n_train=32, n_val=8, n_test=40,
                             original_min_length=100, original_max_length=100),
        "JapaneseVowels": dict(length=29, n_channels=12, n_classes=9, n_train=216, n_val=54, n_test=370,
                               original_min_length=7, original_max_length=29)}
RUNS = [run_path("baseline", "1")] + [run_path(arm, f, g, *(("full", "full") if arm == "finetune" else ()))
                                      for arm, g, f in product(["pretrain", "finetune"], ["wgan", "jitter"], ["0.5", "1"])]


def write_files(root: Path, seeds=(0, 1, 2), gan_seeds=(0, 1)) -> tuple[list[Path], list[Path], list[Path]]:
    """Metrics, meta and quality files in the workflow's layout, with scores that depend on the arm.

    Classifier seed s of a transfer run descends from GAN seed gan_seeds[s % len(gan_seeds)].
    """
    rng = np.random.default_rng(0)
    metrics, metas, qualities = [], [], []
    for dataset, meta in META.items():
        path = root / "data" / dataset / "meta.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({"dataset": dataset, **meta, "classes": ["a", "b"]}))
        metas.append(path)
        for generator, fraction, gan_seed in product(["wgan", "jitter"], ["0.5", "1"], gan_seeds):
            path = root / "synthetic" / dataset / generator / f"frac{fraction}" / f"gseed{gan_seed}" / "quality.json"
            path.parent.mkdir(parents=True)
            path.write_text(json.dumps({"tstr_accuracy": 0.6 + 0.1 * float(fraction) + 0.01 * gan_seed,
                                        "discriminative_score": 0.25, "n_synthetic": 64, "per_class": {"a": 1}}))
            qualities.append(path)
        for model, run in product(["fcn", "gru"], RUNS):
            info = parse_run(run)
            rows = []
            for seed in seeds:
                lift = {"baseline": 0.0, "pretrain-only": -0.2, "finetune": 0.05 if info["generator"] == "wgan" else 0.0}
                f1 = float(np.clip(0.7 + lift[info["arm"]] + 0.02 * rng.standard_normal(), 0, 1))
                gan_seed = None if info["arm"] == "baseline" else gan_seed_for(seed, gan_seeds)
                rows.append({"dataset": dataset, "model": model, "family": "cnn" if model == "fcn" else "rnn",
                             "hp": "lr0.001-bs16-ep2", "learning_rate": 0.001, "batch_size": 16, "epochs": 2,
                             **info, "gan_seed": gan_seed, "seed": seed, "accuracy": f1 + 0.01, "f1_macro": f1, "f1_weighted": f1,
                             "precision_macro": f1, "recall_macro": f1, "balanced_accuracy": f1, "roc_auc_ovr_macro": 0.9,
                             "log_loss": 0.5, "confusion_matrix": json.dumps([[1, 0], [0, 1]]), "epochs_run": 2,
                             "best_epoch": 2, "train_time_s": 1.5, "tensorflow": "2.21.0", "keras": "3.15.1",
                             **{f"val_{m}": f1 - 0.05 for m in ("accuracy", "f1_macro", "log_loss")},
                             "n_train_run": 64 if info["arm"] == "pretrain-only" else meta["n_train"],
                             "n_val_run": meta["n_val"]})
            path = root / "metrics" / dataset / model / "lr0.001-bs16-ep2" / run / "metrics.tsv"
            path.parent.mkdir(parents=True)
            pd.DataFrame(rows).to_csv(path, sep="\t", index=False)
            metrics.append(path)
    return metrics, metas, qualities


def test_aggregate_joins_dataset_factors_and_quality(tmp_path):
    metrics, metas, qualities = write_files(tmp_path)
    out = tmp_path / "tables" / "runs.tsv"
    tables.aggregate(metrics, metas, qualities, out)
    runs = pd.read_csv(out, sep="\t")  # plain pandas
    assert len(runs) == 2 * 2 * len(RUNS) * 3
    assert set(runs["arm"]) == {"baseline", "pretrain-only", "finetune"}
    jv = runs[runs["dataset"] == "JapaneseVowels"].iloc[0]
    assert (jv["length"], jv["n_channels"], jv["n_classes"], jv["n_train"]) == (29, 12, 9, 216)
    finetune = runs[(runs["arm"] == "finetune") & (runs["fraction"] == 0.5)]
    # each row joins the quality of ITS synthetic set: (dataset, generator, fraction, gan_seed)
    assert np.allclose(finetune["tstr_accuracy"], 0.65 + 0.01 * finetune["gan_seed"])
    assert (finetune["quality_n_synthetic"] == 64).all()
    transfer = runs[runs["arm"] != "baseline"]
    assert (transfer["gan_seed"] == transfer["seed"] % 2).all()  # seeds 0, 1, 2 on GAN seeds 0, 1, 0
    assert runs.loc[runs["arm"] == "baseline", "gan_seed"].isna().all()
    columns = list(runs.columns)
    assert columns.index("gan_seed") == columns.index("fraction") + 1
    for column in ["val_accuracy", "val_f1_macro", "val_log_loss", "n_train_run", "n_val_run", "n_train", "n_val"]:
        assert column in columns, column
    assert np.allclose(runs["val_f1_macro"], runs["f1_macro"] - 0.05)
    assert (runs.loc[runs["arm"] == "pretrain-only", "n_train_run"] == 64).all()
    assert (jv["n_train_run"], jv["n_val_run"]) == (216, 54)
    assert runs.loc[runs["arm"] == "baseline", "tstr_accuracy"].isna().all()
    assert (runs.loc[runs["arm"] == "finetune", "train_fraction"] == 1).all()
    assert runs.loc[runs["arm"] == "pretrain-only", "train_fraction"].isna().all()
    assert "quality_per_class" not in runs.columns
    for column in ["learning_rate", "log10_learning_rate", "batch_size", "epochs", "regime", "strategy", "seed",
                   "train_time_s", "roc_auc_ovr_macro", "keras"]:
        assert column in runs.columns


def test_aggregate_names_the_bad_file(tmp_path):
    metrics, metas, qualities = write_files(tmp_path)
    bad = pd.read_csv(metrics[3], sep="\t").drop(columns=["f1_macro"])
    bad.to_csv(metrics[3], sep="\t", index=False)
    out = tmp_path / "runs.tsv"
    with pytest.raises(ValueError, match=f"{metrics[3]}: metrics table lacks column\\(s\\) f1_macro"):
        tables.aggregate(metrics, metas, qualities, out)
    assert not out.exists()
    metrics, metas, qualities = write_files(tmp_path / "again")
    with pytest.raises(ValueError, match="no quality.json given for 4 synthetic set"):
        tables.aggregate(metrics, metas, [q for q in qualities if "wgan/frac0.5" not in str(q)], out)
    with pytest.raises(ValueError, match="no quality.json given for 1 synthetic set.*fraction=1 gan_seed=1"):
        tables.aggregate(metrics, metas, [q for q in qualities if "JapaneseVowels/jitter/frac1/gseed1" not in str(q)],
                         out)
    flat = qualities[0].parent.parent / "quality.json"
    flat.write_text(qualities[0].read_text())
    with pytest.raises(ValueError, match="expected .*/frac\\{fraction\\}/gseed\\{gan_seed\\}/quality.json"):
        tables.aggregate(metrics, metas, [*qualities, flat], out)
    unseeded = pd.read_csv(metrics[1], sep="\t").assign(gan_seed=None)
    unseeded.to_csv(metrics[1], sep="\t", index=False)
    with pytest.raises(ValueError, match="3 pretrain-only/finetune row\\(s\\) without a gan_seed"):
        tables.aggregate(metrics, metas, qualities, out)
    metrics, metas, qualities = write_files(tmp_path / "thrice")
    with pytest.raises(ValueError, match="duplicated run rows"):
        tables.aggregate(metrics + metrics[:1], metas, qualities, out)
    with pytest.raises(ValueError, match="no meta.json given for dataset\\(s\\) JapaneseVowels"):
        tables.aggregate(metrics, metas[:1], qualities, out)


def test_stats_and_figures_from_the_runs_table(tmp_path):
    metrics, metas, qualities = write_files(tmp_path)
    tables.aggregate(metrics, metas, qualities, tmp_path / "runs.tsv")
    keys = ["effects", "tuned_epochs", "cells", "pairs", "aggregations", "headline", "friedman", "posthoc", "ranks",
            "factor_coefficients", "factor_anova"]
    out = {k: tmp_path / "stats" / f"{k}.tsv" for k in keys}
    result = stats.write_stats(str(tmp_path / "runs.tsv"), out, "f1_macro", ["accuracy"], 0.05, 3, 5, 200, 0,
                               ["generator", "fraction"], ["dataset", "model", "fraction", "generator"])
    cells = pd.read_csv(out["cells"], sep="\t")
    assert len(cells) == 2 * 2 * 4 * 2  # datasets x models x (generator, fraction) x metrics
    assert set(cells["metric"]) == {"f1_macro", "accuracy"} and cells["test"].notna().all()
    assert pd.read_csv(out["friedman"], sep="\t")["reason"].eq("2 datasets < 5").all()
    anova = result["factor_anova"].set_index("factor")
    assert anova["model_kind"].iloc[0].startswith("MixedLM (REML): random intercept per dataset (2)")
    assert anova.loc["length", "status"] == "not run" and "2 datasets" in anova.loc["length", "reason"]
    effects = pd.read_csv(out["effects"], sep="\t")
    overall = effects[(effects["comparison"] == "tuned on VAL") & (effects["grouping"] == "all")].iloc[0]
    assert overall["scope"] == "these datasets" and overall["n_pairs"] == 48 and overall["n_unpaired"] == 0
    assert overall["ci_low"] < overall["mean_gain"] < overall["ci_high"]
    assert set(pd.read_csv(out["tuned_epochs"], sep="\t")["arm"]) >= {"baseline", "finetune"}
    figures = {k: tmp_path / "figures" / f"{k}.png" for k in
               ["boxplots", "heatmap", "cd_diagram", "factor_effects", "gain_vs_quality", "learning_curves"]}
    history = tmp_path / "models" / "BasicMotions" / "fcn" / "lr0.001-bs16-ep2" / "finetune" / "wgan" / "frac0.5" / \
        "full" / "full" / "seed0" / "history.tsv"
    history.parent.mkdir(parents=True)
    pd.DataFrame({"epoch": [1, 2], "loss": [1.0, 0.5], "accuracy": [0.5, 0.7], "val_loss": [1.1, 0.6],
                  "val_accuracy": [0.4, 0.6]}).to_csv(history, sep="\t", index=False)
    plots.make_figures({"runs": tmp_path / "runs.tsv", **out}, [str(history)], figures, "f1_macro", 0.05)
    for png in figures.values():
        assert png.stat().st_size > 5000 and png.with_suffix(".svg").read_text().startswith("<?xml")
