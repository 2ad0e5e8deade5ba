"""Factor analysis: which settings explain the seed-matched gain of finetune over baseline.

Each factor is estimated and tested in the stratum where it varies (Yates' multi-stratum analysis, what a
mixed model's tests with containment degrees of freedom reduce to in a balanced design): dataset-level
factors on dataset means (against the number of datasets), synthetic-set factors on set means, baseline-run
factors on baseline-run means, the last two with block fixed effects for the shared baseline runs / sets and
HC3 standard errors. The mixed model (statsmodels MixedLM, REML) with a random intercept per dataset and
variance components for the synthetic set (one generator training run, shared by every classifier pretrained
on it) and for the baseline run (shared by every finetune run paired with it) is fitted beside them: its
variance components, convergence and fixed effects (`mixed_estimate`) are reported. Dataset-level factors
enter only with ≥ min_datasets datasets and ≥ MIN_DATASET_DF residual degrees of freedom at the dataset
level; the rest are 'not run', with the reason."""

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


BLOCK = ["dataset", "gan_seed", "train_fraction"]  # units in one block share the same baseline runs / sets


def stratum_fit(data: pd.DataFrame, level: str, factors: list[str]):
    """OLS of the mean gain per unit of `level` on the factors that vary at that level.

    Dataset level: dataset means, classical standard errors (few units). Synthetic-set and baseline-run
    levels: unit means with a fixed effect per block (dataset x GAN-seed group x real fraction: the units of
    a block share the same baseline runs, resp. synthetic sets, so the block absorbs that shared noise and the
    dataset intercept), HC3 standard errors (gains are heteroscedastic: a diverging learning rate has a far
    larger spread). Units alone in their block carry no within-block information and are left out.
    """
    keys = {"dataset": ["dataset"], "synthetic set": SET, "baseline run": UNIT}[level]
    agg = {"gain": ("gain", "mean"), **{f: (f, "first") for f in factors},
           **{b: (b, "first") for b in BLOCK if b not in keys}}
    means = data.groupby(keys, dropna=False, as_index=False).agg(**agg)
    terms = " + ".join(_term(f) for f in factors) or "1"
    if level == "dataset":
        return smf.ols(f"gain ~ {terms}", means).fit(use_t=True)
    means["block"] = means[BLOCK].astype(str).agg("|".join, axis=1)
    means = means[means.groupby("block")["block"].transform("size") > 1]
    if means.empty:
        return None  # no unit shares its block with another: nothing to compare within a block
    formula = f"gain ~ {terms}" + (" + C(block)" if means["block"].nunique() > 1 else "")
    ols = smf.ols(formula, means).fit()
    keep = ols.get_influence().hat_matrix_diag < 1 - 1e-8
    if keep.sum() <= len(ols.params):
        return None
    return smf.ols(formula, means[keep]).fit(cov_type="HC3", use_t=True)


def _tests(fits: dict, kept: list[str], levels: dict[str, str]) -> pd.DataFrame:
    """Per factor: Wald F on (q, the stratum's residual df); partial η² = F·q / (F·q + df)."""
    rows = []
    for factor in kept:
        fit = fits[levels[factor]]
        names = [] if fit is None else [n for n in fit.params.index if _factor_of(n) == factor]
        row = {"factor": factor, "level": levels[factor], "df": len(names),
               "df_resid": np.nan if fit is None else fit.df_resid,
               "status": "in model", "reason": ""}
        row["test"] = "F (OLS on dataset means)" if levels[factor] == "dataset" else \
            f"F (OLS on {levels[factor]} means, block fixed effects, HC3)"
        if fit is None:
            rows.append({**row, "df": np.nan, "df_resid": 0, "status": "not run",
                         "reason": f"too few {levels[factor]} units sharing a block to fit at that level"})
            continue
        if fit.df_resid < 1 or not names:
            rows.append({**row, "status": "not run", "reason": f"no residual df at the {levels[factor]} level"})
            continue
        contrast = np.zeros((len(names), len(fit.params)))
        for i, name in enumerate(names):
            contrast[i, list(fit.params.index).index(name)] = 1.0
        wald = fit.wald_test(contrast, use_f=True, scalar=True)
        f_value, q = float(np.squeeze(wald.statistic)), len(names)
        rows.append({**row, "statistic": f_value, "p_value": float(wald.pvalue),
                     "partial_eta2": f_value * q / (f_value * q + fit.df_resid)})
    return pd.DataFrame(rows, columns=["factor", "level", "df", "df_resid", "status", "reason", "test",
                                       "statistic", "p_value", "partial_eta2"])


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
        f"baseline run ({data['baseline_run'].nunique()}); tests per stratum (see factor_anova)"
    info = {"model_kind": kind, "n_obs": len(data), "n_datasets": n_datasets, "converged": bool(result.converged),
            "singular": "; ".join(singular) or "no", "fit_warnings": "; ".join(notes)}
    fits, rows = {}, []
    for level in ("dataset", "synthetic set", "baseline run"):
        at_level = [f for f in kept if levels[f] == level]
        if at_level or level == "dataset":
            fits[level] = stratum_fit(data, level, at_level) if at_level or n_datasets > 2 else None
    mixed = result.fe_params
    for level, fit in fits.items():
        if fit is None:
            continue
        ci = fit.conf_int(alpha=alpha)
        for name in fit.params.index:
            factor = _factor_of(name)
            if name.startswith("C(block)") or (factor == "intercept" and level != "dataset"):
                continue
            rows.append({"term": name, "factor": factor, "level": level, "estimate": fit.params[name],
                         "se": fit.bse[name], "df": fit.df_resid, "ci_low": ci.loc[name, 0],
                         "ci_high": ci.loc[name, 1], "p_value": fit.pvalues[name],
                         "mixed_estimate": mixed.get(name, np.nan)})
    coefs = pd.DataFrame(rows, columns=["term", "factor", "level", "estimate", "se", "df", "ci_low", "ci_high",
                                        "p_value", "mixed_estimate"])
    coefs["scale"] = [f"per SD ({scale[f]:.4g})" if f in scale else ("difference to reference level"
                      if f in CATEGORICAL else "") for f in coefs["factor"]]
    variance = pd.DataFrame([{"term": name, "factor": "variance", "estimate": v, "level": "random"}
                             for name, v in components.items()])
    coefs = pd.concat([coefs, variance], ignore_index=True)
    for key, value in info.items():
        coefs[key] = value
    tests = _tests(fits, kept, levels)
    if not tests.empty and data.groupby(SET[:-1])["gan_seed"].nunique().max() == 1:
        one_draw = tests["level"] == "synthetic set"
        note = ("one synthetic set per dataset x generator x fraction (one GAN seed): "
                "conditional on that generator draw; set the gan.seeds list for replicates")
        tests.loc[one_draw, "reason"] = [f"{r}; {note}" if r else note for r in tests.loc[one_draw, "reason"]]
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
