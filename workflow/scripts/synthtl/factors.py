"""Factor analysis: which settings explain the seed-matched gain of finetune over baseline."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pingouin as pg
import statsmodels.formula.api as smf
from scipy import stats as st
from statsmodels.stats.anova import anova_lm

# Candidate factors, in the order they enter the model: design settings, dataset factors, synthetic quality.
NUMERIC = ["log10_learning_rate", "batch_size", "fraction", "length", "n_classes", "n_channels", "n_train",
           "tstr_accuracy", "discriminative_score"]
CATEGORICAL = ["model", "generator"]
# Finetune runs compared with the same baseline runs share its noise: a random intercept per such cell.
SHARED_BASELINE = ["dataset", "model", "hp", "train_fraction"]
ORDER = ["log10_learning_rate", "batch_size", "fraction", "model", "generator", "length", "n_classes",
         "n_channels", "n_train", "tstr_accuracy", "discriminative_score"]


def design(data: pd.DataFrame, factors: list[str]) -> np.ndarray:
    """Intercept, numeric factors and treatment-coded categorical factors as one matrix."""
    columns = [np.ones(len(data))]
    for factor in factors:
        if factor in CATEGORICAL:
            dummies = pd.get_dummies(data[factor].astype(str), drop_first=True, dtype=float)
            columns.extend(dummies.to_numpy().T)
        else:
            columns.append(data[factor].to_numpy(float))
    return np.column_stack(columns)


def _term(factor: str) -> str:
    return f"C({factor})" if factor in CATEGORICAL else factor


def select_terms(data: pd.DataFrame, factors: list[str] = ORDER) -> tuple[list[str], list[dict]]:
    """Factors that vary and add rank to the design, in order; the others with the reason they were left out."""
    kept, dropped = [], []
    rank = 1
    for factor in factors:
        if factor not in data.columns or data[factor].isna().all():
            dropped.append({"factor": factor, "reason": "not in the runs table"})
            continue
        values = data[factor].dropna().unique()
        if len(values) < 2:
            dropped.append({"factor": factor, "reason": f"constant: one value ({values[0]})"})
            continue
        new_rank = np.linalg.matrix_rank(design(data, kept + [factor]))
        if new_rank <= rank:
            dropped.append({"factor": factor, "reason": "collinear with factors already in the model "
                                                        "(e.g. a dataset factor with too few datasets)"})
            continue
        kept.append(factor)
        rank = new_rank
    return kept, dropped


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


def factor_analysis(pairs: pd.DataFrame, alpha: float, min_datasets: int, min_obs_per_param: int = 2
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Regress the gain on the factors: coefficients with CIs, and per-factor tests with partial eta².

    Random intercepts per dataset (with ≥ min_datasets datasets) and per baseline cell (the finetune
    runs compared with the same baseline runs share its noise); OLS when there are too few of both.
    """
    data = pairs.dropna(subset=["gain"]).copy()
    data["dataset"] = data["dataset"].astype(str)
    n_datasets = data["dataset"].nunique()
    kept, dropped = select_terms(data)
    data = data.dropna(subset=kept)
    data, scale = standardise(data, kept)
    data["baseline_cell"] = data[[c for c in SHARED_BASELINE if c in data.columns]].astype(str).agg("|".join, axis=1)
    n_cells = data["baseline_cell"].nunique()
    if n_datasets >= min_datasets:
        groups, vc = data["dataset"], ({"baseline_cell": "0 + C(baseline_cell)"} if n_cells > n_datasets else None)
        kind = f"MixedLM (random intercept per dataset ({n_datasets})" + \
            (f" and per baseline cell within dataset ({n_cells}))" if vc else ")")
    elif n_cells >= min_datasets:
        groups, vc = data["baseline_cell"], None
        kind = f"MixedLM (random intercept per baseline cell ({n_cells}); {n_datasets} datasets < {min_datasets})"
    else:
        groups, vc = None, None
        kind = f"OLS ({n_datasets} datasets and {n_cells} baseline cells < {min_datasets} for random effects)"
    mixed = groups is not None
    formula = "gain ~ " + (" + ".join(_term(f) for f in kept) or "1")
    n_params = np.linalg.matrix_rank(design(data, kept))
    info = {"model_kind": kind, "n_obs": len(data), "n_datasets": n_datasets}
    if len(data) < min_obs_per_param * (n_params + 1) or data["gain"].std() == 0:
        reason = "no variance in the gain" if len(data) and data["gain"].std() == 0 else \
            f"{len(data)} seed-matched pairs < {min_obs_per_param} × {n_params + 1} parameters"
        anova = [{"factor": f, "status": "not run", "reason": reason, **info} for f in kept]
        anova += [{**d, "status": "dropped", **info} for d in dropped]
        return pd.DataFrame(columns=["term", "factor", "estimate"]), pd.DataFrame(anova)
    if mixed:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = smf.mixedlm(formula, data, groups=groups, vc_formula=vc).fit(reml=True)
        tests = _wald_terms(result, kept, len(data) - n_params)
        names = [n for n in result.fe_params.index]
        params, bse, pvalues = result.fe_params, result.bse[names], result.pvalues[names]
        ci = result.conf_int(alpha=0.05).loc[names]
    else:
        result = smf.ols(formula, data).fit()
        tests = _anova_ols(result, kept)
        params, bse, pvalues, ci = result.params, result.bse, result.pvalues, result.conf_int(alpha=0.05)
    coefs = pd.DataFrame({"term": params.index, "estimate": params.to_numpy(), "se": bse.to_numpy(),
                          "ci_low": ci.iloc[:, 0].to_numpy(), "ci_high": ci.iloc[:, 1].to_numpy(),
                          "p_value": pvalues.to_numpy()})
    coefs.insert(1, "factor", [_factor_of(t) for t in coefs["term"]])
    coefs["scale"] = [f"per SD ({scale[f]:.4g})" if f in scale else ("difference to reference level" if f in CATEGORICAL
                      else "") for f in coefs["factor"]]
    coefs["model_kind"] = kind
    if not tests.empty:
        _, p_holm = pg.multicomp(tests["p_value"].to_numpy(float), alpha=alpha, method="holm")
        tests["p_holm"] = p_holm
        tests["significant"] = tests["p_holm"] < alpha
        tests["status"], tests["reason"] = "in model", ""
    anova = pd.concat([tests, pd.DataFrame([{**d, "status": "dropped"} for d in dropped])], ignore_index=True)
    for key, value in info.items():
        anova[key] = value
    return coefs, anova


def _factor_of(term: str) -> str:
    if term.startswith("C("):
        return term[2:term.index(")")]
    return "intercept" if term in ("Intercept", "Group Var") else term


def _anova_ols(result, kept: list[str]) -> pd.DataFrame:
    """Type-II ANOVA with partial eta² = SS / (SS + SS_residual)."""
    table = anova_lm(result, typ=2)
    resid = table.loc["Residual", "sum_sq"]
    rows = []
    for factor in kept:
        line = table.loc[_term(factor)]
        rows.append({"factor": factor, "test": "F (type II)", "df": line["df"], "df_resid": result.df_resid,
                     "statistic": line["F"], "p_value": line["PR(>F)"],
                     "partial_eta2": line["sum_sq"] / (line["sum_sq"] + resid)})
    return pd.DataFrame(rows)


def _wald_terms(result, kept: list[str], df_resid: int) -> pd.DataFrame:
    """Wald tests per factor of a MixedLM; partial eta² from F = chi²/df as F·df / (F·df + df_resid)."""
    names = list(result.fe_params.index)
    rows = []
    for factor in kept:
        columns = [i for i, n in enumerate(names) if _factor_of(n) == factor]
        contrast = np.zeros((len(columns), len(result.params)))
        for row, column in enumerate(columns):
            contrast[row, column] = 1.0
        wald = result.wald_test(contrast, scalar=True)
        chi2 = float(np.squeeze(wald.statistic))
        df = len(columns)
        f_value = chi2 / df
        rows.append({"factor": factor, "test": "Wald chi²", "df": df, "df_resid": df_resid, "statistic": chi2,
                     "p_value": float(st.chi2.sf(chi2, df)), "partial_eta2": f_value * df / (f_value * df + df_resid)})
    return pd.DataFrame(rows)
