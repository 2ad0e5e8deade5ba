"""Factor analysis: which settings explain the seed-matched gain of finetune over baseline.

One linear mixed model of the gain (statsmodels MixedLM, REML): a random intercept per dataset, and variance
components for the synthetic set (one generator training run, shared by every classifier pretrained on it) and
for the baseline run (shared by every finetune run paired with it). Each factor is tested at the level where it
varies, with containment ("between-within") denominator degrees of freedom: a dataset-level factor against the
number of datasets, a synthetic-set factor against the number of sets, a baseline-run factor against the number
of baseline runs. Dataset-level factors enter only with ≥ min_datasets datasets and ≥ MIN_DATASET_DF residual
degrees of freedom at the dataset level; the rest are 'not run', with the reason.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pingouin as pg
import statsmodels.formula.api as smf
from scipy import stats as st

from synthtl.inference import SET, UNIT

NUMERIC = ["log10_learning_rate", "batch_size", "fraction", "length", "n_classes", "n_channels", "n_train",
           "tstr_accuracy", "discriminative_score"]
CATEGORICAL = ["model", "generator"]
ORDER = ["log10_learning_rate", "batch_size", "fraction", "model", "generator", "length", "n_classes",
         "n_channels", "n_train", "tstr_accuracy", "discriminative_score"]
MIN_DATASET_DF = 3  # residual degrees of freedom the dataset-level terms must leave
LEVELS = ("dataset", "synthetic set", "baseline run", "pair")


def design(data: pd.DataFrame, factors: list[str]) -> np.ndarray:
    """Intercept, numeric factors and treatment-coded categorical factors as one matrix."""
    columns = [np.ones(len(data))]
    for factor in factors:
        if factor in CATEGORICAL:
            columns.extend(pd.get_dummies(data[factor].astype(str), drop_first=True, dtype=float).to_numpy().T)
        else:
            columns.append(data[factor].to_numpy(float))
    return np.column_stack(columns)


def _term(factor: str) -> str:
    return f"C({factor})" if factor in CATEGORICAL else factor


def level_of(data: pd.DataFrame, factor: str) -> str:
    """The highest level a factor is constant within: dataset, synthetic set, baseline run, or pair."""
    for level, keys in (("dataset", ["dataset"]), ("synthetic set", SET), ("baseline run", UNIT)):
        if (data.groupby(keys, dropna=False)[factor].nunique(dropna=False) <= 1).all():
            return level
    return "pair"


def select_terms(data: pd.DataFrame, min_datasets: int, factors: list[str] = ORDER
                 ) -> tuple[list[str], dict[str, str], list[dict]]:
    """Factors that vary and add rank, in order (dataset-level ones only while the dataset rule holds);
    their levels; the others with the reason they were left out."""
    kept, levels, dropped = [], {}, []
    n_datasets, rank, dataset_terms = data["dataset"].nunique(), 1, 0
    for factor in factors:
        if factor not in data.columns or data[factor].isna().all():
            dropped.append({"factor": factor, "status": "dropped", "reason": "not in the runs table"})
            continue
        values = data[factor].dropna().unique()
        if len(values) < 2:
            dropped.append({"factor": factor, "status": "dropped", "reason": f"constant: one value ({values[0]})"})
            continue
        level = level_of(data, factor)
        width = len(values) - 1 if factor in CATEGORICAL else 1
        if level == "dataset":
            need = 1 + dataset_terms + width + MIN_DATASET_DF
            if n_datasets < max(min_datasets, need):
                dropped.append({"factor": factor, "status": "not run", "level": level,
                                "reason": f"dataset-level factor: {n_datasets} datasets; with {dataset_terms} other "
                                          f"dataset-level term(s) it needs ≥ {max(min_datasets, need)} "
                                          f"(≥ {min_datasets} datasets and ≥ {MIN_DATASET_DF} residual df)"})
                continue
        new_rank = np.linalg.matrix_rank(design(data, kept + [factor]))
        if new_rank <= rank:
            dropped.append({"factor": factor, "status": "dropped", "level": level,
                            "reason": "collinear with factors already in the model"})
            continue
        kept.append(factor)
        levels[factor] = level
        rank = new_rank
        dataset_terms += width if level == "dataset" else 0
    return kept, levels, dropped


def standardise(data: pd.DataFrame, factors: list[str]) -> tuple[pd.DataFrame, dict]:
    """Numeric factors as z-scores (effects per standard deviation); their SDs."""
    data = data.copy()
    scale = {}
    for factor in factors:
        if factor in NUMERIC:
            sd = float(data[factor].std(ddof=0))
            scale[factor] = sd
            data[factor] = (data[factor] - data[factor].mean()) / sd
    return data, scale


def containment_df(data: pd.DataFrame, levels: dict[str, str], widths: dict[str, int]) -> dict[str, int]:
    """Denominator degrees of freedom per level: units at that level − units above it − its fixed terms."""
    n = {"dataset": data["dataset"].nunique(), "synthetic set": len(data.drop_duplicates(SET)),
         "baseline run": len(data.drop_duplicates(UNIT)), "pair": len(data)}
    p = {level: sum(widths[f] for f, lv in levels.items() if lv == level) for level in LEVELS}
    return {"dataset": n["dataset"] - 1 - p["dataset"],
            "synthetic set": n["synthetic set"] - n["dataset"] - p["synthetic set"],
            "baseline run": n["baseline run"] - n["dataset"] - p["baseline run"],
            "pair": n["pair"] - n["synthetic set"] - n["baseline run"] + n["dataset"] - p["pair"]}


def factor_analysis(pairs: pd.DataFrame, alpha: float, min_datasets: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit the mixed model of the gain: coefficients (with variance components) and one test per factor."""
    data = pairs.dropna(subset=["gain"]).copy()
    data["dataset"] = data["dataset"].astype(str)
    if "gan_seed" not in data.columns:
        data["gan_seed"] = 0
    n_datasets = data["dataset"].nunique() if len(data) else 0
    if len(data) < 4 or data["gain"].std() == 0:
        reason = "no variance in the gain" if len(data) else "no seed-matched pairs"
        return (pd.DataFrame(columns=["term", "factor", "estimate"]),
                pd.DataFrame([{"factor": f, "status": "not run", "reason": reason} for f in ORDER]))
    kept, levels, dropped = select_terms(data, min_datasets)
    data = data.dropna(subset=kept)
    data, scale = standardise(data, kept)
    data["synthetic_set"] = data[SET].astype(str).agg("|".join, axis=1)
    data["baseline_run"] = data[UNIT].astype(str).agg("|".join, axis=1)
    vc = {"synthetic_set": "0 + C(synthetic_set)", "baseline_run": "0 + C(baseline_run)"}
    formula = "gain ~ " + (" + ".join(_term(f) for f in kept) or "1")
    random = "1" if n_datasets >= 2 else "0"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = smf.mixedlm(formula, data, groups=data["dataset"], re_formula=random, vc_formula=vc).fit(
                reml=True, method=["powell", "lbfgs"])  # gradient methods stall at boundary variances
        except (np.linalg.LinAlgError, ValueError) as error:
            anova = [{"factor": f, "status": "not run", "reason": f"mixed model failed to fit: {error}"} for f in kept]
            return pd.DataFrame(columns=["term", "factor", "estimate"]), pd.DataFrame(anova + dropped)
    notes = sorted({str(w.message).splitlines()[0] for w in caught})
    components = {"dataset intercept": float(result.cov_re.iloc[0, 0]) if random == "1" else np.nan,
                  **{f"{name} (variance component)": float(v) for name, v in zip(result.model.exog_vc.names, result.vcomp)},
                  "residual": float(result.scale)}
    singular = [name for name, v in components.items() if np.isfinite(v) and v <= 1e-10 * max(result.scale, 1e-300)]
    kind = (f"MixedLM (REML): random intercept per dataset ({n_datasets})" if random == "1" else
            "MixedLM (REML): one dataset, no dataset intercept") + \
        f"; variance components: synthetic set ({data['synthetic_set'].nunique()}), " \
        f"baseline run ({data['baseline_run'].nunique()}); containment df"
    info = {"model_kind": kind, "n_obs": len(data), "n_datasets": n_datasets, "converged": bool(result.converged),
            "singular": "; ".join(singular) or "no", "fit_warnings": "; ".join(notes)}
    widths = {f: (data[f].nunique() - 1 if f in CATEGORICAL else 1) for f in kept}
    dfs = containment_df(data, levels, widths)
    names = list(result.fe_params.index)
    term_level = {name: ("dataset" if _factor_of(name) == "intercept" else levels[_factor_of(name)]) for name in names}
    coefs = pd.DataFrame({"term": names, "factor": [_factor_of(n) for n in names],
                          "estimate": result.fe_params.to_numpy(), "se": result.bse_fe.to_numpy()})
    coefs["level"] = [term_level[n] for n in names]
    coefs["df"] = [dfs[term_level[n]] for n in names]
    t_crit = st.t.ppf(0.5 + (1 - alpha) / 2, coefs["df"].clip(lower=1))
    coefs["ci_low"], coefs["ci_high"] = coefs["estimate"] - t_crit * coefs["se"], coefs["estimate"] + t_crit * coefs["se"]
    coefs["p_value"] = 2 * st.t.sf(np.abs(coefs["estimate"] / coefs["se"]), coefs["df"].clip(lower=1))
    coefs.loc[coefs["df"] < 1, ["ci_low", "ci_high", "p_value"]] = np.nan
    coefs["scale"] = [f"per SD ({scale[f]:.4g})" if f in scale else ("difference to reference level"
                      if f in CATEGORICAL else "") for f in coefs["factor"]]
    variance = pd.DataFrame([{"term": name, "factor": "variance", "estimate": v, "level": "random"}
                             for name, v in components.items()])
    coefs = pd.concat([coefs, variance], ignore_index=True)
    for key, value in info.items():
        coefs[key] = value
    tests = _f_tests(result, kept, levels, dfs)
    if not tests.empty:
        ran = tests["p_value"].notna()
        tests["p_holm"] = np.nan
        if ran.any():
            tests.loc[ran, "p_holm"] = pg.multicomp(tests.loc[ran, "p_value"].to_numpy(float), alpha=alpha,
                                                    method="holm")[1]
        tests["significant"] = tests["p_holm"] < alpha
    anova = pd.concat([tests, pd.DataFrame(dropped)], ignore_index=True)
    for key, value in info.items():
        anova[key] = value
    return coefs, anova


def _factor_of(term: str) -> str:
    if term.startswith("C("):
        return term[2:term.index(")")]
    return "intercept" if term == "Intercept" else term


def _f_tests(result, kept: list[str], levels: dict[str, str], dfs: dict[str, int]) -> pd.DataFrame:
    """Per factor: F = Wald χ² / q on (q, containment df); partial η² = F·q / (F·q + df)."""
    names = list(result.fe_params.index)
    cov = result.cov_params().loc[names, names].to_numpy()
    beta = result.fe_params.to_numpy()
    rows = []
    for factor in kept:
        index = [i for i, n in enumerate(names) if _factor_of(n) == factor]
        b, v = beta[index], cov[np.ix_(index, index)]
        q, df = len(index), dfs[levels[factor]]
        row = {"factor": factor, "level": levels[factor], "test": "F (Wald, containment df)", "df": q,
               "df_resid": df, "status": "in model", "reason": ""}
        if df < 1:
            rows.append({**row, "status": "not run", "reason": f"no residual df at the {levels[factor]} level"})
            continue
        f_value = float(b @ np.linalg.solve(v, b)) / q
        rows.append({**row, "statistic": f_value, "p_value": float(st.f.sf(f_value, q, df)),
                     "partial_eta2": f_value * q / (f_value * q + df)})
    return pd.DataFrame(rows)
