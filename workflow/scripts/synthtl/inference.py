"""Effects of finetune over baseline with intervals that respect the design (datasets, baseline runs, synthetic sets).

The units of replication, from the top:
- a dataset (the question is about new datasets);
- a baseline run (dataset x model x hp x train_fraction x seed), together with every finetune run paired with it;
- a synthetic set (dataset x generator x fraction x gan_seed): one generator training run, shared by every
  classifier that pretrained on it.
Intervals come from a multi-level Rao–Wu rescaled bootstrap (n − 1 of n units drawn at each level, weights
rescaled by n / (n − 1), so the variance of a mean is estimated without the n-bootstrap's (n − 1)/n shrinkage),
used as a standard error with a t critical value on the group's replication degrees of freedom.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from scipy import sparse
from scipy import stats as st

# What a finetune run and its baseline share besides the seed (the matching rule).
MATCH = ["dataset", "model", "hp", "train_fraction"]
UNIT = [*MATCH, "seed"]  # one baseline run
SET = ["dataset", "generator", "fraction", "gan_seed"]  # one synthetic set
SET_STRATUM = ["dataset", "generator", "fraction"]
CELL = ["dataset", "model", "hp", "generator", "fraction", "train_fraction", "regime", "strategy"]
FACTOR_COLUMNS = ["family", "learning_rate", "log10_learning_rate", "batch_size", "epochs", "length", "n_channels",
                  "n_classes", "n_train", "tstr_accuracy", "discriminative_score"]


def seed_pairs(runs: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Every finetune run with its seed-matched baseline run: finetune, baseline, gain (points) and every factor.

    Finetune runs without a baseline are kept with baseline and gain missing (counted, never dropped silently).
    """
    finetune = runs[runs["arm"] == "finetune"].copy()
    if "gan_seed" not in finetune.columns:
        finetune["gan_seed"] = 0  # a runs table from before gan.seeds: one synthetic set per cell
    finetune["gan_seed"] = finetune["gan_seed"].fillna(0).astype(int)
    baseline = runs.loc[runs["arm"] == "baseline", [*UNIT, metric]]
    keep = [c for c in CELL + ["gan_seed", "seed"] + FACTOR_COLUMNS if c in finetune.columns]
    pairs = finetune[[*keep, metric]].merge(baseline, on=UNIT, how="left", suffixes=("_finetune", "_baseline"),
                                            validate="many_to_one")
    pairs = pairs.rename(columns={f"{metric}_finetune": "finetune", f"{metric}_baseline": "baseline"})
    pairs.insert(0, "metric", metric)
    pairs["gain"] = pairs["finetune"] - pairs["baseline"]
    return pairs.reset_index(drop=True)


def _rao_wu(rng: np.random.Generator, strata: np.ndarray, n_boot: int) -> np.ndarray:
    """n_boot x n_units rescaled bootstrap weights: in each stratum of n ≥ 2 units, n − 1 draws × n/(n − 1)."""
    weights = np.ones((n_boot, len(strata)))
    for stratum in np.unique(strata):
        members = np.flatnonzero(strata == stratum)
        n = len(members)
        if n >= 2:
            weights[:, members] = rng.multinomial(n - 1, np.full(n, 1.0 / n), size=n_boot) * (n / (n - 1))
    return weights


def _codes(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    return frame[columns].astype(str).agg("|".join, axis=1).to_numpy()


def bootstrap_means(pairs: pd.DataFrame, masks: np.ndarray, n_boot: int, seed: int, resample_datasets: bool,
                    chunk: int = 250) -> dict[str, np.ndarray]:
    """Bootstrap means of the finetune and baseline scores of every group (n_boot x n_groups arrays).

    Baseline runs are resampled within their cell (dataset x model x hp x train_fraction), synthetic sets within
    theirs (dataset x generator x fraction) and, with `resample_datasets`, the datasets ('full'); 'within' keeps
    the datasets fixed (for a group inside one dataset). `masks`: n_pairs x n_groups. Drawn in chunks (memory).
    """
    rng = np.random.default_rng(seed)
    levels = []
    for ids, strata in ((_codes(pairs, UNIT), _codes(pairs, MATCH)), (_codes(pairs, SET), _codes(pairs, SET_STRATUM))):
        _, index, inverse = np.unique(ids, return_index=True, return_inverse=True)
        levels.append((strata[index], inverse))
    datasets, dataset_of = np.unique(pairs["dataset"].astype(str).to_numpy(), return_inverse=True)
    ft, bl = pairs["finetune"].to_numpy(float), pairs["baseline"].to_numpy(float)
    m = sparse.csc_matrix(masks.astype(float))
    sums = {key: [] for key in ("within_ft", "within_bl", "within_w", "full_ft", "full_bl", "full_w")}
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        w = np.ones((b, len(pairs)))
        for strata, inverse in levels:
            w *= _rao_wu(rng, strata, b)[:, inverse]
        d = _rao_wu(rng, np.zeros(len(datasets), dtype=int), b)[:, dataset_of] if resample_datasets else 1.0
        for kind, weights in (("within", w), ("full", w * d)):
            sums[f"{kind}_ft"].append((m.T @ (weights * ft).T).T)
            sums[f"{kind}_bl"].append((m.T @ (weights * bl).T).T)
            sums[f"{kind}_w"].append((m.T @ weights.T).T)
    stacked = {key: np.vstack(parts) for key, parts in sums.items()}
    with np.errstate(divide="ignore", invalid="ignore"):
        return {f"{kind}_{what}": stacked[f"{kind}_{what}"] / stacked[f"{kind}_w"]
                for kind in ("within", "full") for what in ("ft", "bl")}


def replication_df(part: pd.DataFrame, pooled_datasets: bool) -> tuple[int, str]:
    """Degrees of freedom of a group's interval and what replicates it.

    Across datasets (datasets resampled): datasets − 1. Otherwise the smaller of (baseline runs − their cells)
    and (synthetic sets − their cells), counting only replicated levels: a cell with one synthetic set is
    conditional on that one generator draw.
    """
    if pooled_datasets:
        n = part["dataset"].nunique()
        return n - 1, f"{n} datasets"
    counts = []
    units = part.drop_duplicates(UNIT)
    n_cells = len(units.drop_duplicates(MATCH))
    if len(units) > n_cells:
        counts.append((len(units) - n_cells, f"{len(units)} baseline runs in {n_cells} cells"))
    sets = part.drop_duplicates(SET)
    n_set_cells = len(sets.drop_duplicates(SET_STRATUM))
    if len(sets) > n_set_cells:
        counts.append((len(sets) - n_set_cells, f"{len(sets)} synthetic sets in {n_set_cells} cells"))
    elif len(sets):
        counts = [(df, f"{why}; one synthetic set per generator x fraction (conditional on that draw)")
                  for df, why in counts]
    return min(counts) if counts else (0, "no replicated unit")


def group_effects(pairs: pd.DataFrame, groups: list[tuple[str, str, np.ndarray]], n_boot: int, seed: int,
                  resample_datasets: bool, confidence: float, min_units: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Mean gain (points), ratio of means and error-rate reduction per group, t-intervals on the bootstrap SE.

    `groups`: (grouping, level, boolean mask over pairs). Also returns the bootstrap deviations of each group's
    mean gain over its SE (n_boot x n_groups; NaN for a group without an interval), for simultaneous intervals.
    """
    ok = pairs["gain"].notna().to_numpy()
    masks = np.column_stack([mask & ok for _, _, mask in groups])
    boot = bootstrap_means(pairs[ok].reset_index(drop=True), masks[ok], n_boot, seed, resample_datasets)
    ft, bl, gain = (pairs[c].to_numpy(float) for c in ("finetune", "baseline", "gain"))
    rows, devs = [], []
    for g, (grouping, level, mask) in enumerate(groups):
        m = masks[:, g]
        part = pairs[m]
        pooled = resample_datasets and part["dataset"].nunique() > 1
        kind = "full" if pooled else "within"
        boot_ft, boot_bl = boot[f"{kind}_ft"][:, g], boot[f"{kind}_bl"][:, g]
        mean_ft, mean_bl = (float(ft[m].mean()), float(bl[m].mean())) if m.any() else (np.nan, np.nan)
        est = mean_ft - mean_bl
        df, replicated_by = replication_df(part, pooled) if m.any() else (0, "no pairs")
        # a replicate can draw none of a group's pairs (crossed levels): it is left out of the SE
        se = float(np.nanstd(boot_ft - boot_bl, ddof=1)) if m.any() else np.nan
        row = {"grouping": grouping, "level": level, "scope": "across datasets" if pooled else "these datasets",
               "n_pairs": int(m.sum()), "n_unpaired": int((mask & ~ok).sum()), "n_datasets": part["dataset"].nunique(),
               "n_baseline_runs": len(part.drop_duplicates(UNIT)), "n_synthetic_sets": len(part.drop_duplicates(SET)),
               "mean_finetune": mean_ft, "mean_baseline": mean_bl, "mean_gain": est, "se": se, "df": df,
               "replicated_by": replicated_by, "share_improved": float((gain[m] > 0).mean()) if m.any() else np.nan,
               "ratio_of_means_pct": 100 * (mean_ft / mean_bl - 1) if mean_bl > 0 else np.nan,
               "error_reduction_pct": 100 * (1 - (1 - mean_ft) / (1 - mean_bl)) if mean_bl < 1 else np.nan,
               "ci_low": np.nan, "ci_high": np.nan, "ratio_ci_low": np.nan, "ratio_ci_high": np.nan}
        if df + 1 >= min_units and se > 0:
            t = float(st.t.ppf(0.5 + confidence / 2, df))
            row["ci_low"], row["ci_high"] = est - t * se, est + t * se
            if mean_ft > 0 and mean_bl > 0:
                with np.errstate(divide="ignore", invalid="ignore"):
                    se_log = float(np.nanstd(np.log(boot_ft / boot_bl), ddof=1))
                centre = np.log(mean_ft / mean_bl)
                row["ratio_ci_low"] = 100 * (np.exp(centre - t * se_log) - 1)
                row["ratio_ci_high"] = 100 * (np.exp(centre + t * se_log) - 1)
            row["interval"] = f"{confidence:.0%} t({df}) x hierarchical-bootstrap SE"
            devs.append((boot_ft - boot_bl - est) / se)
        else:
            row["interval"] = ("none: no variation across replicates" if se == 0 else
                               f"none: {replicated_by}, fewer than {min_units} independent replicates")
            devs.append(np.full(n_boot, np.nan))
        rows.append(row)
    return pd.DataFrame(rows), np.column_stack(devs)



def simultaneous(effects: pd.DataFrame, devs: np.ndarray, confidence: float) -> pd.DataFrame:
    """Max-statistic intervals valid over every searched group (all but the whole table) that has an interval.

    Critical value: the bootstrap quantile of max_g |deviation_g| / SE_g over the searched groups (never below
    the group's own t critical value).
    """
    effects = effects.copy()
    usable = np.isfinite(devs).any(axis=0) & (effects["grouping"] != "all").to_numpy()  # the groups searched
    effects["n_searched"] = int(usable.sum())
    effects["sim_critical"], effects["sim_ci_low"], effects["sim_ci_high"] = np.nan, np.nan, np.nan
    if not usable.any():
        return effects
    c = float(np.quantile(np.abs(np.nan_to_num(devs[:, usable], nan=0.0)).max(axis=1), confidence))
    for i in np.flatnonzero(usable):
        # never narrower than the group's own ordinary interval
        crit = max(c, float(st.t.ppf(0.5 + confidence / 2, effects.at[i, "df"])))
        effects.at[i, "sim_critical"] = crit
        effects.at[i, "sim_ci_low"] = effects.at[i, "mean_gain"] - crit * effects.at[i, "se"]
        effects.at[i, "sim_ci_high"] = effects.at[i, "mean_gain"] + crit * effects.at[i, "se"]
    return effects


def fmt_value(value) -> str:
    return f"{value:g}" if isinstance(value, (float, np.floating)) else str(value)


def grouping_masks(pairs: pd.DataFrame, by: list[str], pairs_of: bool = True) -> list[tuple[str, str, np.ndarray]]:
    """(grouping, level, mask) for the whole table, each level of each factor and (optionally) of each pair."""
    out = [("all", "all", np.ones(len(pairs), dtype=bool))]
    by = [f for f in by if f in pairs.columns and pairs[f].nunique() > 1]
    groupings = [[f] for f in by] + ([list(p) for p in combinations(by, 2)] if pairs_of else [])
    for grouping in groupings:
        for key, index in pairs.groupby(grouping, sort=True).groups.items():
            key = key if isinstance(key, tuple) else (key,)
            mask = np.zeros(len(pairs), dtype=bool)
            mask[pairs.index.get_indexer(index)] = True
            out.append((" × ".join(grouping), " × ".join(f"{f}={fmt_value(v)}" for f, v in zip(grouping, key)), mask))
    return out


def effects_table(pairs: pd.DataFrame, by: list[str], n_boot: int, seed: int, confidence: float, min_units: int,
                  min_datasets: int, pairs_of: bool = True) -> pd.DataFrame:
    """group_effects over all of `pairs`, each factor level (and pair of levels), with simultaneous intervals."""
    pairs = pairs.reset_index(drop=True)
    if pairs.empty:
        return pd.DataFrame(columns=["grouping", "level", "mean_gain"])
    resample = pairs["dataset"].nunique() >= min_datasets
    effects, devs = group_effects(pairs, grouping_masks(pairs, by, pairs_of), n_boot, seed, resample, confidence,
                                  min_units)
    return simultaneous(effects, devs, confidence)


def headline(aggregated: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The overall effect, then the largest group with its simultaneous interval and how many groups were searched."""
    rows = []
    overall = aggregated[aggregated["grouping"] == "all"]
    if overall.empty or overall["mean_gain"].isna().all():
        return pd.DataFrame([{"kind": "overall", "statement": "not stated: no seed-matched finetune/baseline pairs"}])
    o = overall.iloc[0]
    rows.append({"kind": "overall", **o.to_dict(), "statement": _sentence(o, metric, "on average", "ci")})
    searched = aggregated[(aggregated["grouping"] != "all") & aggregated["sim_ci_low"].notna()]
    if searched.empty:
        rows.append({"kind": "largest", "statement": "not stated: no group has enough replicates for an interval"})
    else:
        best = searched.loc[searched["mean_gain"].idxmax()]
        text = _sentence(best, metric, f"largest of {int(best['n_searched'])} groups searched (ranked on TEST): "
                                       f"{best['level']},", "sim_ci")
        if best["sim_ci_low"] <= 0 <= best["sim_ci_high"]:
            text += "; the simultaneous interval includes 0, so after this search no group's gain is shown"
        rows.append({"kind": "largest", **best.to_dict(), "statement": text})
    return pd.DataFrame(rows)


def _sentence(row: pd.Series, metric: str, lead: str, ci: str) -> str:
    name = "simultaneous " if ci == "sim_ci" else ""
    interval = (f"{name}95 % interval {100 * row[f'{ci}_low']:+.2f} to {100 * row[f'{ci}_high']:+.2f} points"
                if pd.notna(row[f"{ci}_low"]) else f"no interval: {row['interval']}")
    ratio = f", ratio of means {row['ratio_of_means_pct']:+.1f} %" if pd.notna(row["ratio_of_means_pct"]) else ""
    return (f"{lead} {100 * row['mean_gain']:+.2f} points of {metric} (finetune − baseline{ratio}; {interval}; "
            f"{row['scope']}, {row['replicated_by']}, {int(row['n_pairs'])} pairs)")


def tuned_runs(runs: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Each arm's runs at the hyperparameters it picks on VAL: per dataset, model, seed (and for finetune its
    generator, fraction, regime, strategy), the hp with the highest val_<metric> (ties: the first hp id).

    TEST scores play no part in the choice. `hp` becomes 'tuned'; the chosen id is kept as `hp_chosen`.
    """
    score = f"val_{metric}"
    if score not in runs.columns:
        raise ValueError(f"the runs table has no {score} column: VAL scores are needed to tune hyperparameters")
    keys = ["arm", "dataset", "model", "train_fraction", "generator", "fraction", "regime", "strategy", "seed"]
    keys = [k for k in keys if k in runs.columns]
    real = runs[runs["arm"].isin(["baseline", "finetune"])].copy()
    real = real.sort_values([*keys, "hp"], kind="stable", na_position="first")
    chosen = real.loc[real.groupby(keys, dropna=False, sort=False)[score].idxmax()].copy()
    chosen["hp_chosen"], chosen["hp"] = chosen["hp"], "tuned"
    return chosen.reset_index(drop=True)


def tuned_epochs(tuned: pd.DataFrame) -> pd.DataFrame:
    """Epochs each arm trained (mean and range of epochs_run of the chosen runs) and which hp ids it chose."""
    rows = []
    for (dataset, arm), part in tuned.groupby(["dataset", "arm"], sort=True):
        rows.append({"dataset": dataset, "arm": arm, "n_runs": len(part),
                     "mean_epochs_run": float(part["epochs_run"].mean()), "min_epochs_run": int(part["epochs_run"].min()),
                     "max_epochs_run": int(part["epochs_run"].max()),
                     "hp_chosen": "; ".join(f"{hp} x{n}" for hp, n in part["hp_chosen"].value_counts().sort_index().items())})
    return pd.DataFrame(rows)
