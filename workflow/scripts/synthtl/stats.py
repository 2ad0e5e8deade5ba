"""Finetune vs baseline: per-cell tests with explicit assumption checks, corrections, aggregations, ranks."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import pingouin as pg
from scipy import stats as st

# A cell: one finetune configuration, compared with its matched baseline.
CELL = ["dataset", "model", "hp", "generator", "fraction", "train_fraction", "regime", "strategy"]
# What a finetune run and its baseline share (the matching rule), besides the seed.
MATCH = ["dataset", "model", "hp", "train_fraction"]
# Factors the relative improvement is aggregated by, alone and in pairs.
AGGREGATE_BY = ["dataset", "model", "fraction", "generator", "learning_rate", "batch_size"]
# Columns of the per-cell table, in order (a test that did not run leaves its columns empty).
TEST_COLUMNS = [
    "n_finetune", "n_baseline", "mean_finetune", "mean_baseline", "sd_finetune", "sd_baseline", "mean_diff",
    "shapiro_p_finetune", "shapiro_p_baseline", "normal", "levene_p", "equal_var", "test", "chosen_by", "reason",
    "statistic", "dof", "p_value", "p_holm", "p_bh", "reject_holm", "reject_bh", "hedges_g", "hedges_g_ci_low",
    "hedges_g_ci_high", "rel_improvement_pct", "rel_improvement_ci_low", "rel_improvement_ci_high", "n_pairs",
    "shapiro_p_diff", "paired_test", "paired_chosen_by", "paired_reason", "paired_t_statistic", "paired_t_p",
    "wilcoxon_statistic", "wilcoxon_p", "paired_p_value", "paired_p_holm", "paired_p_bh", "paired_reject_holm",
    "paired_reject_bh",
]
FACTOR_COLUMNS = ["family", "learning_rate", "log10_learning_rate", "batch_size", "epochs", "length", "n_channels",
                  "n_classes", "n_train", "tstr_accuracy", "discriminative_score"]


def seed_pairs(runs: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Seed-matched (finetune, baseline) pairs of `metric` with gain and relative gain in %, plus every factor."""
    finetune = runs[runs["arm"] == "finetune"]
    baseline = runs.loc[runs["arm"] == "baseline", [*MATCH, "seed", metric]]
    keep = [c for c in CELL + ["seed"] + FACTOR_COLUMNS if c in finetune.columns]
    pairs = finetune[[*keep, metric]].merge(baseline, on=[*MATCH, "seed"], suffixes=("_finetune", "_baseline"))
    pairs = pairs.rename(columns={f"{metric}_finetune": "finetune", f"{metric}_baseline": "baseline"})
    pairs.insert(0, "metric", metric)
    pairs["gain"] = pairs["finetune"] - pairs["baseline"]
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = 100.0 * pairs["gain"] / pairs["baseline"]
    pairs["rel_gain_pct"] = rel.where(pairs["baseline"] > 0)
    return pairs.reset_index(drop=True)


def bootstrap_mean_ci(values: np.ndarray, n_boot: int, seed: int, confidence: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean (seeded; resamples in chunks to bound memory)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return (np.nan, np.nan)
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_boot, 4_000_000 // len(values)))
    means = []
    for start in range(0, n_boot, chunk):
        idx = rng.integers(0, len(values), size=(min(chunk, n_boot - start), len(values)))
        means.append(values[idx].mean(axis=1))
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(np.concatenate(means), [tail, 100 - tail])
    return (float(low), float(high))


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
    return {**row, "shapiro_p_diff": sw, "paired_t_statistic": t_stat, "paired_t_p": t_p,
            "wilcoxon_statistic": float(w.statistic), "wilcoxon_p": float(w.pvalue), "paired_test": test,
            "paired_chosen_by": f"Shapiro–Wilk of the differences p={_fmt_p(sw)} "
                                f"{'≥' if normal else '<'} {alpha} → {test}",
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


def cell_tests(runs: pd.DataFrame, metrics: list[str], alpha: float, min_seeds: int, n_boot: int,
               seed: int) -> pd.DataFrame:
    """One row per cell and metric: tests, effect sizes, relative improvement, corrections across cells."""
    rows = []
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
            if base.empty:
                row.update(_not_run(f"no baseline runs with train_fraction={info['train_fraction']:g}"))
            common = ft.index.intersection(bl.index)
            rel = (100 * (ft[common] - bl[common]) / bl[common]).to_numpy(float)
            rel = rel[np.isfinite(rel)]
            row["rel_improvement_pct"] = float(rel.mean()) if len(rel) else np.nan
            low, high = bootstrap_mean_ci(rel, n_boot, seed) if len(rel) >= min_seeds else (np.nan, np.nan)
            row["rel_improvement_ci_low"], row["rel_improvement_ci_high"] = low, high
            rows.append(row)
    columns = [*CELL, "metric", "family", "learning_rate", "batch_size", *TEST_COLUMNS]
    table = pd.DataFrame(rows, columns=columns)
    for prefix in ("", "paired_"):
        table[[f"{prefix}reject_holm", f"{prefix}reject_bh"]] = table[[f"{prefix}reject_holm", f"{prefix}reject_bh"]].astype("boolean")
        table[[f"{prefix}p_holm", f"{prefix}p_bh"]] = table[[f"{prefix}p_holm", f"{prefix}p_bh"]].astype(float)
    for metric, part in table.groupby("metric"):
        for prefix in ("", "paired_"):
            fixed = correct(part[f"{prefix}p_value"].astype(float), alpha)
            for column in fixed.columns:
                table.loc[part.index, f"{prefix}{column}"] = fixed[column]
    return table


def aggregations(pairs: pd.DataFrame, n_boot: int, seed: int, by: list[str] = AGGREGATE_BY) -> pd.DataFrame:
    """Mean relative improvement (%) with bootstrap CI over all pairs, by each factor and each pair of factors."""
    groupings = [[]] + [[f] for f in by] + [list(p) for p in combinations(by, 2)]
    rows = []
    for grouping in groupings:
        groups = [((), pairs)] if not grouping else pairs.groupby(grouping, sort=True)
        for key, part in groups:
            key = key if isinstance(key, tuple) else (key,)
            rel = part["rel_gain_pct"].to_numpy(float)
            rel = rel[np.isfinite(rel)]
            low, high = bootstrap_mean_ci(rel, n_boot, seed)
            level = " × ".join(f"{f}={_fmt_value(v)}" for f, v in zip(grouping, key)) or "all"
            rows.append({"grouping": " × ".join(grouping) or "all", "level": level, **dict(zip(grouping, key)),
                         "n_runs": len(rel), "mean_gain": part["gain"].mean(), "mean_rel_pct": rel.mean() if len(rel) else np.nan,
                         "ci_low": low, "ci_high": high, "share_improved": float((part["gain"] > 0).mean())})
    table = pd.DataFrame(rows)
    return table[["grouping", "level", *by, "n_runs", "mean_gain", "mean_rel_pct", "ci_low", "ci_high", "share_improved"]]


def _fmt_value(value) -> str:
    return f"{value:g}" if isinstance(value, (float, np.floating)) else str(value)


def headline(table: pd.DataFrame, metric: str, min_runs: int) -> pd.DataFrame:
    """The overall and the largest mean relative improvement, stated with CI and number of runs."""
    rows = []
    overall = table[table["grouping"] == "all"]
    candidates = table[(table["grouping"] != "all") & (table["n_runs"] >= min_runs) & table["ci_low"].notna()]
    for kind, part in (("overall", overall), ("largest", candidates)):
        if part.empty or part["mean_rel_pct"].isna().all():
            rows.append({"kind": kind, "statement": f"not stated: no group with ≥ {min_runs} seed-matched runs"})
            continue
        best = part.loc[part["mean_rel_pct"].idxmax()]
        ci = f"95 % CI {best['ci_low']:.1f} to {best['ci_high']:.1f} %" if pd.notna(best["ci_low"]) else "no CI"
        lead = "up to" if kind == "largest" else "on average"
        where = "over all seed-matched runs" if kind == "overall" else f"for {best['level']}"
        statement = (f"{lead} {best['mean_rel_pct']:.1f} % relative {metric} improvement of finetune over "
                     f"baseline ({ci}, {int(best['n_runs'])} runs) {where}")
        rows.append({"kind": kind, "grouping": best["grouping"], "level": best["level"],
                     "mean_rel_pct": best["mean_rel_pct"], "ci_low": best["ci_low"], "ci_high": best["ci_high"],
                     "n_runs": int(best["n_runs"]), "statement": statement})
    return pd.DataFrame(rows)


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
        else:
            res = st.friedmanchisquare(*[table[a].to_numpy() for a in arms])
            row.update(test="Friedman", statistic=float(res.statistic), p_value=float(res.pvalue),
                       significant=bool(res.pvalue < alpha), reason="")
        tests.append(row)
        pairs = []
        for a, b in combinations(arms, 2):
            pair = {**base, "arm_a": a, "arm_b": b, "mean_diff": float((table[a] - table[b]).mean())}
            if n < min_datasets:
                pair.update(_not_run(f"{n} datasets < {min_datasets}"))
            elif np.all(table[a] == table[b]):
                pair.update(_not_run("identical scores on every dataset"))
            else:
                w = st.wilcoxon(table[a], table[b], alternative="two-sided")
                pair.update(test="Wilcoxon signed-rank", statistic=float(w.statistic), p_value=float(w.pvalue), reason="")
            pairs.append(pair)
        pairs = pd.DataFrame(pairs)
        if not pairs.empty:
            fixed = correct(pairs.get("p_value", pd.Series(np.nan, index=pairs.index)), alpha)
            pairs[["p_holm", "reject_holm"]] = fixed[["p_holm", "reject_holm"]]
            posthoc.append(pairs)
    posthoc_table = pd.concat(posthoc, ignore_index=True) if posthoc else pd.DataFrame()
    return pd.DataFrame(tests), posthoc_table, pd.DataFrame(ranks)


def write_stats(runs_path: str, out: dict, metric: str, metrics: list[str], alpha: float, min_seeds: int,
                min_datasets: int, n_boot: int, seed: int) -> dict:
    """Every statistics table of the runs table, written to the paths in `out` (keys as in the stats rule)."""
    from synthtl import factors
    from synthtl.tables import read_runs, write_tsv

    runs = read_runs(runs_path)
    metrics = [metric] + [m for m in metrics if m != metric]
    pairs = seed_pairs(runs, metric)
    aggregated = aggregations(pairs, n_boot, seed)
    tests, posthoc, ranks = friedman(runs, metric, alpha, min_datasets)
    coefs, anova = factors.factor_analysis(pairs, alpha, min_datasets)
    tables = {"cells": cell_tests(runs, metrics, alpha, min_seeds, n_boot, seed), "pairs": pairs,
              "aggregations": aggregated, "headline": headline(aggregated, metric, min_seeds), "friedman": tests,
              "posthoc": posthoc, "ranks": ranks, "factor_coefficients": coefs, "factor_anova": anova}
    for key, table in tables.items():
        write_tsv(table, out[key])
    return tables
