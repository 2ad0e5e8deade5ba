"""Statistics on hand-made runs tables whose answers are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from scipy import stats as st
from statsmodels.stats.multitest import multipletests

from synthtl import stats

# Exactly normal-shaped samples: normal quantiles (Shapiro–Wilk p close to 1).
Q10 = st.norm.ppf(np.linspace(0.05, 0.95, 10))
Q5 = st.norm.ppf(np.linspace(0.1, 0.9, 5))


def runs_table(cells: dict, baselines: dict, hp: str = "lr0.001-bs16-ep2") -> pd.DataFrame:
    """A runs table: cells maps (dataset, generator, fraction) -> finetune scores per seed; baselines dataset -> scores.

    One synthetic set per cell (gan_seed 0)."""
    rows = []
    common = {"model": "fcn", "family": "cnn", "hp": hp, "learning_rate": 0.001, "log10_learning_rate": -3.0,
              "batch_size": 16, "epochs": 2, "strategy": None}
    for dataset, scores in baselines.items():
        for seed, value in enumerate(scores):
            rows.append({**common, "dataset": dataset, "arm": "baseline", "generator": None, "fraction": np.nan,
                         "train_fraction": 1.0, "regime": None, "seed": seed, "f1_macro": value, "accuracy": value})
    for (dataset, generator, fraction), scores in cells.items():
        for seed, value in enumerate(scores):
            rows.append({**common, "dataset": dataset, "arm": "finetune", "generator": generator, "fraction": fraction,
                         "train_fraction": 1.0, "regime": "full", "strategy": "full", "seed": seed, "gan_seed": 0,
                         "f1_macro": value, "accuracy": value, "tstr_accuracy": 0.5, "discriminative_score": 0.2})
    return pd.DataFrame(rows)


def one_cell(finetune, baseline, **kw) -> pd.Series:
    table = stats.cell_tests(runs_table({("D", "wgan", 0.5): finetune}, {"D": baseline}), ["f1_macro"],
                             alpha=0.05, min_seeds=3)
    assert len(table) == 1
    return table.iloc[0]


def test_equal_variances_choose_student():
    x, y = 0.80 + 0.02 * Q10, 0.75 + 0.021 * Q10[::-1]
    row = one_cell(x, y)
    assert row["normal"] and row["equal_var"] and row["test"] == "Student t"
    assert row["p_value"] == pytest.approx(st.ttest_ind(x, y, equal_var=True).pvalue, rel=1e-12)
    assert "Levene" in row["chosen_by"] and "Student" in row["chosen_by"]


def test_unequal_variances_choose_welch_even_with_equal_group_sizes():
    x, y = 0.80 + 0.002 * Q10, 0.75 + 0.08 * Q10
    row = one_cell(x, y)
    assert row["normal"] and not row["equal_var"] and row["levene_p"] < 0.05
    assert row["test"] == "Welch t"
    assert row["p_value"] == pytest.approx(st.ttest_ind(x, y, equal_var=False).pvalue, rel=1e-12)
    assert row["dof"] < 18  # Welch–Satterthwaite degrees of freedom, not n1 + n2 - 2


def test_non_normal_group_chooses_mann_whitney():
    skewed = 0.6 + 0.05 * np.array([0, 0, 0, 0, 0.1, 0.1, 0.2, 0.3, 2.0, 6.0])
    x = 0.80 + 0.02 * Q10
    row = one_cell(x, skewed)
    assert row["shapiro_p_baseline"] < 0.05 and not row["normal"]
    assert row["test"] == "Mann–Whitney U"
    assert row["p_value"] == pytest.approx(st.mannwhitneyu(x, skewed, alternative="two-sided").pvalue, rel=1e-12)


def test_paired_tests_hedges_g_and_ratio_of_means():
    y = 0.70 + 0.03 * Q10
    x = y + 0.05 + 0.01 * Q10[[3, 1, 4, 0, 5, 9, 2, 6, 8, 7]]
    row = one_cell(x, y)
    assert row["paired_t_p"] == pytest.approx(st.ttest_rel(x, y).pvalue, rel=1e-12)
    assert row["wilcoxon_p"] == pytest.approx(st.wilcoxon(x, y).pvalue, rel=1e-12)
    pooled = np.sqrt(((x.var(ddof=1) + y.var(ddof=1)) / 2))
    d = (x.mean() - y.mean()) / pooled
    g = d * (1 - 3 / (4 * 18 - 1))
    assert row["hedges_g"] == pytest.approx(g, rel=1e-6)
    assert row["hedges_g_ci_low"] < g < row["hedges_g_ci_high"]
    assert row["ratio_of_means_pct"] == pytest.approx(100 * (x.mean() / y.mean() - 1))
    # one synthetic set (gan_seed 0 for every seed): the primary test is on the seed-matched differences
    assert row["unit"].startswith("seed") and "conditional" in row["unit"]
    assert row["unit_p"] == pytest.approx(st.ttest_1samp(x - y, 0).pvalue, rel=1e-12)


def test_primary_cell_test_uses_synthetic_sets_as_units():
    y = 0.70 + 0.03 * Q10[:6]
    x = y + np.array([0.02, 0.05, 0.01, 0.03, 0.06, 0.00])
    runs = runs_table({("D", "wgan", 0.5): x}, {"D": y})
    runs.loc[runs["arm"] == "finetune", "gan_seed"] = runs.loc[runs["arm"] == "finetune", "seed"] % 3
    row = stats.cell_tests(runs, ["f1_macro"], alpha=0.05, min_seeds=3).iloc[0]
    set_means = [np.mean((x - y)[[k, k + 3]]) for k in range(3)]  # seeds 0,3 -> set 0; 1,4 -> 1; 2,5 -> 2
    assert row["unit"] == "synthetic set" and row["n_units"] == 3 and row["unit_dof"] == 2
    assert row["unit_p"] == pytest.approx(st.ttest_1samp(set_means, 0).pvalue, rel=1e-12)
    half = st.t.ppf(0.975, 2) * np.std(set_means, ddof=1) / np.sqrt(3)
    assert row["unit_ci_low"] == pytest.approx(np.mean(set_means) - half)


def test_tests_that_cannot_reach_alpha_say_so_instead_of_a_p_value():
    skewed = [0.50, 0.50, 0.90]  # not normal: Mann–Whitney U, whose smallest p with 3 vs 3 is 0.1
    row = one_cell([0.9, 0.95, 0.91], skewed)
    assert row["test"] == "cannot reach alpha" and pd.isna(row["p_value"]) and pd.isna(row["p_holm"])
    assert row["reason"] == "cannot reach 0.05 with 3 vs 3 (Mann–Whitney U): min p 0.1"
    assert stats.min_p_mann_whitney(3, 3) == pytest.approx(0.1)
    assert stats.min_p_wilcoxon(5) == pytest.approx(0.0625) and stats.min_p_wilcoxon(6) < 0.05
    assert st.mannwhitneyu([0.9, 0.95, 0.91], [0.1, 0.2, 0.3]).pvalue == pytest.approx(0.1)  # the bound is attained


def test_too_few_seeds_and_constant_scores_say_so():
    row = one_cell([0.8, 0.9], [0.7, 0.75])
    assert row["test"] == "not run" and row["reason"] == "2 seeds < 3" and pd.isna(row["p_value"])
    assert row["paired_test"] == "not run" and pd.isna(row["p_holm"])
    row = one_cell([1.0, 1.0, 1.0], [1.0, 1.0, 1.0])
    assert row["test"] == "not run" and "no variance" in row["reason"]


def test_corrections_across_cells_match_statsmodels_and_scipy():
    rng = np.random.default_rng(1)
    cells = {("D", "wgan", f): 0.7 + shift + 0.02 * rng.standard_normal(6)
             for f, shift in zip([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [0.0, 0.01, 0.02, 0.04, 0.06, 0.1])}
    cells[("D", "jitter", 0.5)] = [0.7, 0.8]  # too few seeds: excluded from the corrections
    table = stats.cell_tests(runs_table(cells, {"D": 0.7 + 0.02 * rng.standard_normal(6)}), ["f1_macro"],
                             alpha=0.05, min_seeds=3)
    tested = table[table["test"] != "not run"]
    assert len(tested) == 6 and table.loc[table["test"] == "not run", "p_holm"].isna().all()
    p = tested["p_value"].to_numpy(float)
    np.testing.assert_allclose(tested["p_holm"].astype(float), multipletests(p, method="holm")[1], rtol=1e-12)
    np.testing.assert_allclose(tested["p_bh"].astype(float), st.false_discovery_control(p, method="bh"), rtol=1e-12)
    reject, holm = pg.multicomp(p, alpha=0.05, method="holm")
    np.testing.assert_allclose(tested["p_holm"].astype(float), holm, rtol=1e-12)
    assert (tested["reject_holm"].astype(bool).to_numpy() == reject).all()


def test_friedman_posthoc_and_ranks():
    rng = np.random.default_rng(0)
    datasets = [f"D{i}" for i in range(8)]
    base = {d: 0.6 + 0.05 * rng.standard_normal(3) for d in datasets}
    cells = {}
    for d in datasets:
        cells[(d, "wgan", 0.5)] = base[d] + 0.08  # clearly best on every dataset
        cells[(d, "jitter", 0.5)] = base[d] + 0.01 * rng.standard_normal(3)
    runs = runs_table(cells, base)
    tests, posthoc, ranks = stats.friedman(runs, "f1_macro", alpha=0.05, min_datasets=5)
    assert tests.iloc[0]["test"] == "Friedman" and tests.iloc[0]["p_value"] < 0.05
    rank = ranks.set_index("arm")["mean_rank"]
    assert rank["wgan@0.5"] == 1.0 and rank.sum() == pytest.approx(6.0)
    scores = stats.arm_scores(runs, "f1_macro").droplevel(0)
    ref = st.friedmanchisquare(scores["baseline"], scores["jitter@0.5"], scores["wgan@0.5"])
    assert tests.iloc[0]["p_value"] == pytest.approx(ref.pvalue)
    p = [st.wilcoxon(scores[a], scores[b]).pvalue for a, b in zip(posthoc["arm_a"], posthoc["arm_b"])]
    np.testing.assert_allclose(posthoc["p_holm"].astype(float), multipletests(p, method="holm")[1])
    few, few_posthoc, _ = stats.friedman(runs[runs["dataset"].isin(["D0", "D1"])], "f1_macro", 0.05, 5)
    assert few.iloc[0]["test"] == "not run" and few.iloc[0]["reason"] == "2 datasets < 5"
    assert (few_posthoc["test"] == "not run").all()
    # 5 datasets, 3 arms: Holm over 3 Wilcoxon pairs cannot go below 3 x 2/2^5 = 0.1875
    five, five_posthoc, _ = stats.friedman(runs[runs["dataset"].isin(datasets[:5])], "f1_macro", 0.05, 5)
    assert five.iloc[0]["test"] == "Friedman"
    assert (five_posthoc["test"] == "cannot reach alpha").all() and five_posthoc["p_value"].isna().all()
    assert five_posthoc["reason"].iloc[0] == ("cannot reach 0.05 with 5 datasets after Holm over 3 pairs "
                                              "(Wilcoxon signed-rank): min p 0.188")


def test_scarce_regime_compares_with_the_baseline_on_the_same_fraction():
    runs = runs_table({("D", "wgan", 0.5): 0.60 + 0.02 * Q5, ("D", "wgan", 1.0): 0.91 + 0.02 * Q5[::-1]},
                      {"D": 0.90 + 0.02 * Q5})
    scarce_base = runs[runs["arm"] == "baseline"].assign(train_fraction=0.5, f1_macro=0.50 + 0.02 * Q5,
                                                         accuracy=0.5)
    runs = pd.concat([runs, scarce_base], ignore_index=True)
    runs.loc[runs["arm"] == "finetune", "train_fraction"] = runs.loc[runs["arm"] == "finetune", "fraction"]
    runs.loc[runs["arm"] == "finetune", "regime"] = "scarce"
    table = stats.cell_tests(runs, ["f1_macro"], alpha=0.05, min_seeds=3).set_index("fraction")
    assert table.loc[0.5, "mean_baseline"] == pytest.approx(0.50) and table.loc[0.5, "mean_diff"] == pytest.approx(0.10)
    assert table.loc[1.0, "mean_baseline"] == pytest.approx(0.90) and table.loc[1.0, "mean_diff"] == pytest.approx(0.01)
    _, _, ranks = stats.friedman(runs, "f1_macro", 0.05, 5)
    assert set(zip(ranks["train_fraction"], ranks["arm"])) == {("0.5", "baseline"), ("0.5", "wgan@0.5"),
                                                                ("1", "baseline"), ("1", "wgan@1")}
