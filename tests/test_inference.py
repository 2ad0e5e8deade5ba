"""Effects, intervals, the headline and the tuned comparison on hand-made runs tables whose answers are known."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthtl import inference

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import null_calibration  # noqa: E402
from simulate_runs import simulate  # noqa: E402


def table(finetune: dict, baseline: dict, hp: str = "lr0.001-bs16-ep2", val: dict | None = None) -> pd.DataFrame:
    """Runs: finetune maps (dataset, generator, gan_seed) -> {seed: score}; baseline dataset -> {seed: score}."""
    common = {"model": "fcn", "family": "cnn", "hp": hp, "learning_rate": 0.001, "batch_size": 16, "epochs": 2,
              "train_fraction": 1.0, "epochs_run": 2}
    rows = [{**common, "dataset": d, "arm": "baseline", "generator": None, "fraction": np.nan, "gan_seed": np.nan,
             "regime": None, "strategy": None, "seed": s, "f1_macro": v} for d, scores in baseline.items()
            for s, v in scores.items()]
    rows += [{**common, "dataset": d, "arm": "finetune", "generator": g, "fraction": 1.0, "gan_seed": k,
              "regime": "full", "strategy": "full", "seed": s, "f1_macro": v}
             for (d, g, k), scores in finetune.items() for s, v in scores.items()]
    runs = pd.DataFrame(rows)
    runs["val_f1_macro"] = 0.5 if val is None else runs["arm"].map(val)
    return runs


def test_ratio_of_means_and_points_against_a_hand_computation():
    # per-pair ratios average to (0.6/0.5 + 0.9/1.0 - 2)/2 = +5 %; the ratio of means is 1.5/1.5 - 1 = 0 %
    runs = table({("A", "wgan", 0): {0: 0.6, 1: 0.9}}, {"A": {0: 0.5, 1: 1.0}})
    pairs = inference.seed_pairs(runs, "f1_macro")
    assert pairs["gain"].tolist() == pytest.approx([0.1, -0.1])
    effects = inference.effects_table(pairs, [], n_boot=200, seed=0, confidence=0.95, min_units=3, min_datasets=5)
    overall = effects.iloc[0]
    assert overall["mean_gain"] == pytest.approx(0.0) and overall["ratio_of_means_pct"] == pytest.approx(0.0)
    assert overall["error_reduction_pct"] == pytest.approx(100 * (1 - 0.25 / 0.25))
    # two seeds in one cell: fewer than 3 replicates, so no interval, and the row says why
    assert pd.isna(overall["ci_low"]) and overall["interval"].startswith("none:")


def test_unpaired_runs_are_counted_not_dropped():
    runs = table({("A", "wgan", 0): {0: 0.6, 1: 0.7, 2: 0.8}}, {"A": {0: 0.5, 1: 0.6}})  # seed 2 has no baseline
    pairs = inference.seed_pairs(runs, "f1_macro")
    assert len(pairs) == 3 and pairs["gain"].isna().sum() == 1
    effects = inference.effects_table(pairs, [], 200, 0, 0.95, 3, 5)
    assert effects.iloc[0]["n_pairs"] == 2 and effects.iloc[0]["n_unpaired"] == 1


def test_a_baseline_run_shared_by_many_cells_is_one_unit():
    # 2 baseline seeds, each paired with 10 generator cells: 20 pairs, but only 2 baseline runs (and one
    # synthetic set per cell): no interval, whatever the number of pairs.
    finetune = {("A", f"g{i}", 0): {0: 0.6 + 0.01 * i, 1: 0.62 + 0.01 * i} for i in range(10)}
    pairs = inference.seed_pairs(table(finetune, {"A": {0: 0.5, 1: 0.55}}), "f1_macro")
    row = inference.effects_table(pairs, [], 200, 0, 0.95, 3, 5).iloc[0]
    assert row["n_pairs"] == 20 and row["n_baseline_runs"] == 2 and row["df"] == 1 and pd.isna(row["ci_low"])
    # with 4 baseline seeds the interval exists, on 3 df (4 runs in one cell), and is seeded
    finetune = {key: {**scores, 2: 0.61, 3: 0.64} for key, scores in finetune.items()}
    pairs = inference.seed_pairs(table(finetune, {"A": {0: 0.5, 1: 0.55, 2: 0.52, 3: 0.58}}), "f1_macro")
    first = inference.effects_table(pairs, [], 300, 0, 0.95, 3, 5)
    assert first.iloc[0]["df"] == 3 and first.iloc[0]["ci_low"] < first.iloc[0]["mean_gain"] < first.iloc[0]["ci_high"]
    pd.testing.assert_frame_equal(first, inference.effects_table(pairs, [], 300, 0, 0.95, 3, 5))


def test_synthetic_sets_are_resampled_as_units():
    # Seeds 0..5 pretrain on sets 0,1,2,0,1,2; every finetune run of a set moves with its set effect.
    set_effect = {0: 0.10, 1: -0.05, 2: 0.01}
    finetune = {("A", "wgan", k): {s: 0.6 + set_effect[k] + 0.001 * s for s in range(6) if s % 3 == k} for k in range(3)}
    pairs = inference.seed_pairs(table(finetune, {"A": {s: 0.6 for s in range(6)}}), "f1_macro")
    row = inference.effects_table(pairs, [], 2000, 0, 0.95, 3, 5).iloc[0]
    assert row["n_synthetic_sets"] == 3 and row["df"] == 2  # 3 sets in one cell: the sets, not the 6 seeds
    set_means = pairs.groupby("gan_seed")["gain"].mean()
    se_sets = set_means.std(ddof=1) / np.sqrt(3)
    assert row["se"] == pytest.approx(se_sets, rel=0.25)  # Rao–Wu: the variance of the set means, not shrunk


def test_tuned_comparison_picks_hyperparameters_on_val_never_on_test():
    good_val = table({("A", "wgan", 0): {s: 0.70 for s in range(3)}}, {"A": {s: 0.60 for s in range(3)}},
                     hp="lr0.001-bs16-ep2", val={"baseline": 0.9, "finetune": 0.9})
    bad_val = table({("A", "wgan", 0): {s: 0.95 for s in range(3)}}, {"A": {s: 0.99 for s in range(3)}},
                    hp="lr0.01-bs16-ep2", val={"baseline": 0.1, "finetune": 0.1})  # best TEST, worst VAL
    runs = pd.concat([good_val, bad_val], ignore_index=True)
    tuned = inference.tuned_runs(runs, "f1_macro")
    assert set(tuned["hp_chosen"]) == {"lr0.001-bs16-ep2"} and set(tuned["hp"]) == {"tuned"}
    assert inference.seed_pairs(tuned, "f1_macro")["gain"].tolist() == pytest.approx([0.10] * 3)
    shuffled = runs.copy()
    shuffled["f1_macro"] = shuffled["f1_macro"][::-1].to_numpy()  # any TEST scores: the same choice
    assert inference.tuned_runs(shuffled, "f1_macro")["hp_chosen"].tolist() == tuned["hp_chosen"].tolist()
    epochs = inference.tuned_epochs(tuned)
    assert set(epochs["arm"]) == {"baseline", "finetune"} and (epochs["mean_epochs_run"] == 2).all()
    with pytest.raises(ValueError, match="val_f1_macro"):
        inference.tuned_runs(runs.drop(columns="val_f1_macro"), "f1_macro")


def test_headline_names_the_search_and_its_simultaneous_interval():
    runs = simulate(0, n_datasets=6, seeds=3)
    pairs = inference.seed_pairs(runs, "f1_macro")
    aggregated = inference.effects_table(pairs, ["dataset", "model", "generator"], 300, 0, 0.95, 3, 5)
    head = inference.headline(aggregated, "f1_macro").set_index("kind")
    largest = head.loc["largest"]
    searched = aggregated[(aggregated["grouping"] != "all") & aggregated["sim_ci_low"].notna()]
    assert largest["level"] == searched.loc[searched["mean_gain"].idxmax(), "level"]
    assert f"largest of {len(searched)} groups searched" in largest["statement"]
    assert "simultaneous 95 % interval" in largest["statement"]
    sim = (searched["sim_ci_high"] - searched["sim_ci_low"]).to_numpy()
    assert (sim >= (searched["ci_high"] - searched["ci_low"]).to_numpy() - 1e-12).all()  # never narrower
    if largest["sim_ci_low"] <= 0 <= largest["sim_ci_high"]:
        assert "includes 0" in largest["statement"]
    assert head.loc["overall", "statement"].startswith("on average")
    assert head.loc["overall", "scope"] == "across datasets"  # 6 datasets >= 5: datasets resampled


def test_fast_null_calibration():
    """A seeded, small version of benchmarks/null_calibration.py: no effect claimed under the null, and a
    large planted effect found (so the measure can fail both ways)."""
    null = [null_calibration.measure("null", rep, 200, n_datasets=6, seeds=4) for rep in range(6)]
    for name in ("headline: simultaneous interval excludes 0", "overall (tuned on VAL): interval excludes 0",
                 "per-cell primary test (units: synthetic sets): any Holm rejection"):
        assert sum(r[name] for r in null) <= 1, name
    planted = [null_calibration.measure("+3 points for wgan", rep, 200, n_datasets=6, seeds=4,
                                        generator_effect=0.15) for rep in range(3)]
    assert all(r["contrast generator=wgan (tuned on VAL): interval excludes 0"] for r in planted)
    assert all(r["factor generator: p < 0.05"] for r in planted)
