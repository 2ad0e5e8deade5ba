"""Finetune vs baseline per cell: the study's assumption-checked tests, a design-respecting test, Friedman ranks.

The study's procedure (Shapiro–Wilk → Levene → Student/Welch t, else Mann–Whitney U; paired t or Wilcoxon on the
seed-matched differences) is kept and reported as such; a test that cannot reach alpha at its n says so instead
of printing a p-value. The cell's primary test treats what varies as the unit: with several synthetic sets per
cell (gan.seeds) the set means of the paired differences (one-sample t, sets − 1 df), with one set the
seed-matched differences (conditional on that one generator draw). benchmarks/null_calibration.py measures the
error rates of both.
"""

from __future__ import annotations

from itertools import combinations
from math import comb

import numpy as np
import pandas as pd
import pingouin as pg
from scipy import stats as st

from synthtl.inference import CELL, MATCH
from synthtl.inference import fmt_value as _fmt_value

# Columns of the per-cell table, in order (a test that did not run leaves its columns empty).
TEST_COLUMNS = [
    "n_finetune", "n_baseline", "mean_finetune", "mean_baseline", "sd_finetune", "sd_baseline", "mean_diff",
    "ratio_of_means_pct", "n_units", "unit", "unit_test", "unit_reason", "unit_statistic", "unit_dof", "unit_p",
    "unit_p_holm", "unit_reject_holm", "unit_ci_low", "unit_ci_high",
    "shapiro_p_finetune", "shapiro_p_baseline", "normal", "levene_p", "equal_var", "test", "chosen_by", "reason",
    "statistic", "dof", "p_value", "p_holm", "p_bh", "reject_holm", "reject_bh", "hedges_g", "hedges_g_ci_low",
    "hedges_g_ci_high", "n_pairs", "shapiro_p_diff", "paired_test", "paired_chosen_by", "paired_reason",
    "paired_t_statistic", "paired_t_p", "wilcoxon_statistic", "wilcoxon_p", "paired_p_value", "paired_p_holm",
    "paired_p_bh", "paired_reject_holm", "paired_reject_bh",
]


def min_p_mann_whitney(n1: int, n2: int) -> float:
    """Smallest two-sided p-value the exact Mann–Whitney U test can give with n1 vs n2 cases."""
    return min(1.0, 2.0 / comb(n1 + n2, n1))


def min_p_wilcoxon(n: int) -> float:
    """Smallest two-sided p-value the exact Wilcoxon signed-rank test can give with n pairs."""
    return min(1.0, 2.0 / 2 ** n)


def _cannot_reach(min_p: float, alpha: float, what: str, prefix: str = "") -> dict:
    return {f"{prefix}test": "cannot reach alpha",
            f"{prefix}reason": f"cannot reach {alpha:g} with {what}: min p {min_p:.3g}"}


def _shapiro(values: np.ndarray) -> float:
    """Shapiro–Wilk p-value; NaN for a constant sample (normality cannot be assessed)."""
    constant = np.ptp(values) <= 1e-12 * max(1.0, float(np.abs(values).max()))  # equal up to rounding
    return float("nan") if constant else float(st.shapiro(values).pvalue)


def _fmt_p(p: float) -> str:
    return "constant" if np.isnan(p) else f"{p:.3g}"


def compare_groups(finetune: pd.Series, baseline: pd.Series, alpha: float = 0.05, min_n: int = 3) -> dict:
    """Two-sample and seed-paired tests of finetune vs baseline; the assumption checks pick the test.

    Both series are indexed by seed. Normal (Shapiro–Wilk p ≥ alpha in both groups) → Student's t
    when Levene p ≥ alpha, Welch's t otherwise; not normal → Mann–Whitney U. Seed-matched pairs get
    the paired t-test and the Wilcoxon signed-rank test; normal differences choose the paired t.
    """
    x, y = finetune.to_numpy(float), baseline.to_numpy(float)
    row = {"n_finetune": len(x), "n_baseline": len(y), "mean_finetune": np.mean(x) if len(x) else np.nan,
           "mean_baseline": np.mean(y) if len(y) else np.nan, "sd_finetune": np.std(x, ddof=1) if len(x) > 1 else np.nan,
           "sd_baseline": np.std(y, ddof=1) if len(y) > 1 else np.nan}
    row["mean_diff"] = row["mean_finetune"] - row["mean_baseline"]
    row.update(_two_sample(x, y, alpha, min_n))
    common = finetune.index.intersection(baseline.index)
    row.update(_paired(finetune.loc[common].to_numpy(float), baseline.loc[common].to_numpy(float), alpha, min_n))
    return row


def _not_run(reason: str, prefix: str = "") -> dict:
    return {f"{prefix}test": "not run", f"{prefix}reason": reason}


def _two_sample(x: np.ndarray, y: np.ndarray, alpha: float, min_n: int) -> dict:
    n = min(len(x), len(y))
    if n < min_n:
        return _not_run(f"{n} seeds < {min_n}")
    if np.ptp(x) == 0 and np.ptp(y) == 0:
        return _not_run(f"no variance: every seed scored {x[0]:.4g} (finetune) and {y[0]:.4g} (baseline)")
    sw_x, sw_y = _shapiro(x), _shapiro(y)
    lev = float(st.levene(x, y, center="median").pvalue)
    normal = bool(sw_x >= alpha and sw_y >= alpha)  # NaN (constant group) counts as not normal
    equal_var = bool(lev >= alpha)
    checks = f"Shapiro–Wilk p={_fmt_p(sw_x)} (finetune), {_fmt_p(sw_y)} (baseline)"
    if normal:
        test = "Student t" if equal_var else "Welch t"
        res = st.ttest_ind(x, y, equal_var=equal_var)
        stat, p, dof = float(res.statistic), float(res.pvalue), float(res.df)
        chosen_by = f"{checks} ≥ {alpha}: normal; Levene p={lev:.3g} {'≥' if equal_var else '<'} {alpha}: " \
                    f"{'equal' if equal_var else 'unequal'} variances → {test}"
    else:
        test = "Mann–Whitney U"
        res = st.mannwhitneyu(x, y, alternative="two-sided")
        stat, p, dof = float(res.statistic), float(res.pvalue), np.nan
        chosen_by = f"{checks}: not normal in at least one group (p < {alpha} or constant) → {test}"
        min_p = min_p_mann_whitney(len(x), len(y))
        if min_p > alpha:
            return {"shapiro_p_finetune": sw_x, "shapiro_p_baseline": sw_y, "normal": normal, "levene_p": lev,
                    "equal_var": equal_var, "chosen_by": chosen_by,
                    **_cannot_reach(min_p, alpha, f"{len(x)} vs {len(y)} (Mann–Whitney U)")}
    g = float(pg.compute_effsize(x, y, paired=False, eftype="hedges"))
    g_low, g_high = pg.compute_esci(stat=g, nx=len(x), ny=len(y), eftype="cohen", confidence=0.95, decimals=6)
    return {"shapiro_p_finetune": sw_x, "shapiro_p_baseline": sw_y, "normal": normal, "levene_p": lev,
            "equal_var": equal_var, "test": test, "chosen_by": chosen_by, "statistic": stat, "dof": dof,
            "p_value": p, "hedges_g": g, "hedges_g_ci_low": float(g_low), "hedges_g_ci_high": float(g_high),
            "reason": ""}


def _paired(x: np.ndarray, y: np.ndarray, alpha: float, min_n: int) -> dict:
    row = {"n_pairs": len(x)}
    if len(x) < min_n:
        return {**row, **_not_run(f"{len(x)} seed-matched pairs < {min_n}", "paired_")}
    d = x - y
    if np.all(d == 0):
        return {**row, **_not_run("every seed-matched pair scored the same", "paired_")}
    sw = _shapiro(d)  # NaN when every difference is the same: no paired t (zero variance), Wilcoxon only
    t = st.ttest_rel(x, y) if np.isfinite(sw) else None
    t_stat, t_p = (float(t.statistic), float(t.pvalue)) if t is not None else (np.nan, np.nan)
    w = st.wilcoxon(x, y, alternative="two-sided")
    normal = bool(sw >= alpha)
    test = "paired t" if normal else "Wilcoxon signed-rank"
    chosen_by = f"Shapiro–Wilk of the differences p={_fmt_p(sw)} {'≥' if normal else '<'} {alpha} → {test}"
    if not normal and min_p_wilcoxon(len(x)) > alpha:
        return {**row, "shapiro_p_diff": sw, "paired_t_statistic": t_stat, "paired_t_p": t_p,
                "paired_chosen_by": chosen_by,
                **_cannot_reach(min_p_wilcoxon(len(x)), alpha, f"{len(x)} pairs (Wilcoxon signed-rank)", "paired_")}
    return {**row, "shapiro_p_diff": sw, "paired_t_statistic": t_stat, "paired_t_p": t_p,
            "wilcoxon_statistic": float(w.statistic), "wilcoxon_p": float(w.pvalue), "paired_test": test,
            "paired_chosen_by": chosen_by,
            "paired_p_value": float(t_p if normal else w.pvalue), "paired_reason": ""}


def correct(p: pd.Series, alpha: float) -> pd.DataFrame:
    """Holm and Benjamini–Hochberg corrections of the non-missing p-values (missing stay missing)."""
    out = pd.DataFrame({"p_holm": np.nan, "p_bh": np.nan, "reject_holm": pd.NA, "reject_bh": pd.NA}, index=p.index)
    out[["reject_holm", "reject_bh"]] = out[["reject_holm", "reject_bh"]].astype("boolean")
    valid = p.notna()
    if valid.any():
        rh, ph = pg.multicomp(p[valid].to_numpy(float), alpha=alpha, method="holm")
        rb, pb = pg.multicomp(p[valid].to_numpy(float), alpha=alpha, method="fdr_bh")
        out.loc[valid, "p_holm"], out.loc[valid, "p_bh"] = ph, pb
        out.loc[valid, "reject_holm"], out.loc[valid, "reject_bh"] = rh, rb
    return out


def unit_test(finetune: pd.DataFrame, baseline: pd.Series, metric: str, alpha: float, min_n: int) -> dict:
    """The cell's primary test on its independent units, with a t-interval of the mean difference.

    With ≥ 2 synthetic sets: the set means of the seed-matched differences, t on sets − 1 df, its standard
    error never below the one the seeds within the sets imply (a floor against near-equal set means on
    coarse TEST scores). With one set: the seed-matched differences (conditional on that generator draw).
    No interval below `min_n` units.
    """
    paired = finetune.set_index("seed")[[metric, "gan_seed"]].join(baseline.rename("baseline"), how="inner")
    diff = paired[metric] - paired["baseline"]
    by_set = diff.groupby(paired["gan_seed"])
    sets = by_set.ngroups
    if sets >= 2:
        units, unit, kind = by_set.mean().to_numpy(float), "synthetic set", "synthetic set"
    else:
        units, unit, kind = diff.to_numpy(float), "seed (one synthetic set: conditional on that generator draw)", "seed"
    row = {"n_units": len(units), "unit": unit}
    need = 2 if sets >= 2 else max(2, min_n)
    if len(units) < need:
        return {**row, "unit_test": "not run", "unit_reason": f"{len(units)} {kind}s < {need}"}
    se = units.std(ddof=1) / np.sqrt(len(units))
    if sets >= 2 and len(diff) > sets:
        within = float(((diff - by_set.transform("mean")) ** 2).sum() / (len(diff) - sets))
        se = max(se, np.sqrt(within / len(diff)))  # Var(mean of set means) ≥ within-set variance / seeds
    if se <= 1e-12:  # equal up to rounding: a t statistic would be rounding error over rounding error
        return {**row, "unit_test": "not run", "unit_reason": f"no variance: every {kind} differs by {units[0]:.4g}"}
    dof = len(units) - 1
    t = float(units.mean() / se)
    half = st.t.ppf(1 - alpha / 2, dof) * se
    ci = (units.mean() - half, units.mean() + half) if len(units) >= min_n else (np.nan, np.nan)
    return {**row, "unit_test": f"t on {kind} means of the paired differences", "unit_reason": "",
            "unit_statistic": t, "unit_dof": dof, "unit_p": float(2 * st.t.sf(abs(t), dof)),
            "unit_ci_low": ci[0], "unit_ci_high": ci[1]}


def cell_tests(runs: pd.DataFrame, metrics: list[str], alpha: float, min_seeds: int) -> pd.DataFrame:
    """One row per cell and metric: the study's tests, the design-respecting unit test, effect sizes, the
    ratio of means, and Holm/BH corrections across cells."""
    rows = []
    runs = runs.copy()
    if "gan_seed" not in runs.columns:
        runs["gan_seed"] = 0
    baselines = {key: part.set_index("seed") for key, part in
                 runs[runs["arm"] == "baseline"].groupby(MATCH, dropna=False, sort=False)}
    empty = runs.iloc[:0].set_index("seed")
    for metric in metrics:
        for key, cell in runs[runs["arm"] == "finetune"].groupby(CELL, dropna=False, sort=True):
            info = dict(zip(CELL, key))
            base = baselines.get(tuple(info[k] for k in MATCH), empty)
            ft, bl = cell.set_index("seed")[metric], base[metric]
            row = {**info, "metric": metric, **cell[["family", "learning_rate", "batch_size"]].iloc[0].to_dict()}
            row.update(compare_groups(ft, bl, alpha, min_seeds))
            row.update(unit_test(cell, bl, metric, alpha, min_seeds))
            if base.empty:
                row.update(_not_run(f"no baseline runs with train_fraction={info['train_fraction']:g}"))
            row["ratio_of_means_pct"] = (100 * (row["mean_finetune"] / row["mean_baseline"] - 1)
                                         if row["mean_baseline"] > 0 else np.nan)
            rows.append(row)
    columns = [*CELL, "metric", "family", "learning_rate", "batch_size", *TEST_COLUMNS]
    table = pd.DataFrame(rows, columns=columns)
    for prefix in ("", "paired_", "unit_"):
        for column in ("reject_holm", "reject_bh", "p_holm", "p_bh"):
            if f"{prefix}{column}" in table.columns:
                table[f"{prefix}{column}"] = table[f"{prefix}{column}"].astype("boolean" if "reject" in column else float)
    for metric, part in table.groupby("metric"):
        for prefix, p_column in (("", "p_value"), ("paired_", "paired_p_value"), ("unit_", "unit_p")):
            fixed = correct(part[p_column].astype(float), alpha)
            for column in fixed.columns:
                if f"{prefix}{column}" in table.columns:
                    table.loc[part.index, f"{prefix}{column}"] = fixed[column]
    return table


def arm_scores(runs: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Mean `metric` per dataset (rows) and arm (columns: baseline, generator@fraction), per train fraction."""
    real = runs[runs["arm"].isin(["baseline", "finetune"])].copy()
    real["arm_label"] = np.where(real["arm"] == "baseline", "baseline",
                                 real["generator"].astype(str) + "@" + real["fraction"].map(_fmt_value))
    real["train_fraction"] = real["train_fraction"].map(_fmt_value)
    return real.pivot_table(index=["train_fraction", "dataset"], columns="arm_label", values=metric, aggfunc="mean")


def friedman(runs: pd.DataFrame, metric: str, alpha: float, min_datasets: int
             ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Friedman test over arms across datasets, Wilcoxon–Holm post-hoc, and average ranks (1 = best)."""
    scores = arm_scores(runs, metric)
    tests, posthoc, ranks = [], [], []
    for train_fraction, table in scores.groupby(level="train_fraction"):
        table = table.droplevel("train_fraction").dropna(axis=1, how="all").dropna(axis=0, how="any")
        n, arms = len(table), list(table.columns)
        base = {"metric": metric, "train_fraction": train_fraction, "n_datasets": n, "n_arms": len(arms)}
        rank = table.rank(axis=1, ascending=False).mean(axis=0)
        for arm in arms:
            ranks.append({**base, "arm": arm, "mean_rank": rank[arm], "mean_score": table[arm].mean()})
        q = st.studentized_range.ppf(1 - alpha, len(arms), np.inf) / np.sqrt(2) if len(arms) > 1 else np.nan
        row = {**base, "nemenyi_cd": q * np.sqrt(len(arms) * (len(arms) + 1) / (6 * max(n, 1)))}
        if n < min_datasets:
            row.update(_not_run(f"{n} datasets < {min_datasets}"))
        elif len(arms) < 3:
            row.update(_not_run(f"{len(arms)} arms < 3"))
        elif st.chi2.sf(n * (len(arms) - 1), len(arms) - 1) > alpha:
            row.update(_cannot_reach(float(st.chi2.sf(n * (len(arms) - 1), len(arms) - 1)), alpha,
                                     f"{n} datasets and {len(arms)} arms (Friedman)"))
        else:
            res = st.friedmanchisquare(*[table[a].to_numpy() for a in arms])
            row.update(test="Friedman", statistic=float(res.statistic), p_value=float(res.pvalue),
                       significant=bool(res.pvalue < alpha), reason="")
        tests.append(row)
        pairs = []
        n_pairs = len(arms) * (len(arms) - 1) // 2
        for a, b in combinations(arms, 2):
            pair = {**base, "arm_a": a, "arm_b": b, "mean_diff": float((table[a] - table[b]).mean())}
            if n < min_datasets:
                pair.update(_not_run(f"{n} datasets < {min_datasets}"))
            elif n_pairs * min_p_wilcoxon(n) > alpha:  # Holm's smallest adjusted p: m × the smallest p
                pair.update(_cannot_reach(n_pairs * min_p_wilcoxon(n), alpha,
                                          f"{n} datasets after Holm over {n_pairs} pairs (Wilcoxon signed-rank)"))
            elif np.all(table[a] == table[b]):
                pair.update(_not_run("identical scores on every dataset"))
            else:
                w = st.wilcoxon(table[a], table[b], alternative="two-sided")
                pair.update(test="Wilcoxon signed-rank", statistic=float(w.statistic), p_value=float(w.pvalue), reason="")
            pairs.append(pair)
        pairs = pd.DataFrame(pairs)
        for column in ("test", "statistic", "p_value", "reason"):
            if not pairs.empty and column not in pairs.columns:
                pairs[column] = np.nan
        if not pairs.empty:
            fixed = correct(pairs.get("p_value", pd.Series(np.nan, index=pairs.index)), alpha)
            pairs[["p_holm", "reject_holm"]] = fixed[["p_holm", "reject_holm"]]
            posthoc.append(pairs)
    posthoc_table = pd.concat(posthoc, ignore_index=True) if posthoc else pd.DataFrame()
    tests = pd.DataFrame(tests)
    for column in ("test", "statistic", "p_value", "significant", "reason"):
        if not tests.empty and column not in tests.columns:
            tests[column] = np.nan
    return tests, posthoc_table, pd.DataFrame(ranks)


def analyse(runs: pd.DataFrame, metric: str, metrics: list[str], alpha: float, min_seeds: int, min_datasets: int,
            n_boot: int, seed: int, contrasts: list[str], search: list[str]) -> dict[str, pd.DataFrame]:
    """Every statistics table of a runs table (what the stats rule writes and null_calibration.py judges)."""
    from synthtl import factors, inference

    metrics = [metric] + [m for m in metrics if m != metric]
    confidence = 1 - alpha
    pairs = inference.seed_pairs(runs, metric)
    effects = []
    if f"val_{metric}" in runs.columns and runs[f"val_{metric}"].notna().any():
        tuned = inference.tuned_runs(runs, metric)
        by = list(dict.fromkeys([*contrasts, "dataset"]))
        part = inference.effects_table(inference.seed_pairs(tuned, metric), by, n_boot, seed, confidence, min_seeds,
                                       min_datasets, pairs_of=False)
        effects.append(part.assign(comparison="tuned on VAL"))
        epochs = inference.tuned_epochs(tuned)
    else:
        epochs = pd.DataFrame([{"reason": f"not run: the runs table has no val_{metric} scores"}])
    grid = inference.effects_table(pairs, contrasts, n_boot, seed + 1, confidence, min_seeds, min_datasets,
                                   pairs_of=False)
    effects.append(grid.assign(comparison="each grid point"))
    aggregated = inference.effects_table(pairs, search, n_boot, seed + 2, confidence, min_seeds, min_datasets)
    tests, posthoc, ranks = friedman(runs, metric, alpha, min_datasets)
    coefs, anova = factors.factor_analysis(pairs, alpha, min_datasets)
    effects = pd.concat(effects, ignore_index=True)
    effects.insert(0, "comparison", effects.pop("comparison"))
    return {"effects": effects.drop(columns=["n_searched", "sim_critical", "sim_ci_low", "sim_ci_high"],
                                    errors="ignore"),
            "tuned_epochs": epochs, "cells": cell_tests(runs, metrics, alpha, min_seeds), "pairs": pairs,
            "aggregations": aggregated, "headline": inference.headline(aggregated, metric), "friedman": tests,
            "posthoc": posthoc, "ranks": ranks, "factor_coefficients": coefs, "factor_anova": anova}


def write_stats(runs_path: str, out: dict, metric: str, metrics: list[str], alpha: float, min_seeds: int,
                min_datasets: int, n_boot: int, seed: int, contrasts: list[str], search: list[str]) -> dict:
    """Every statistics table of the runs table, written to the paths in `out` (keys as in the stats rule)."""
    from synthtl.tables import read_runs, write_tsv

    tables = analyse(read_runs(runs_path), metric, metrics, alpha, min_seeds, min_datasets, n_boot, seed, contrasts,
                     search)
    for key, table in tables.items():
        write_tsv(table, out[key])
    return tables
