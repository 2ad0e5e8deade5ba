"""The analysis figures, each written as PNG and SVG (matplotlib, Agg backend)."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

from synthtl.files import written  # noqa: E402
from synthtl.naming import HP_PATTERN, parse_run  # noqa: E402

plt.rcParams.update({"font.size": 9, "axes.titlesize": 9, "svg.hashsalt": "synthtl", "svg.fonttype": "none"})


def save(fig: plt.Figure, png: str | Path) -> None:
    """Write `fig` to `png` and to the same name with .svg, atomically; close it."""
    png = Path(png)
    png.parent.mkdir(parents=True, exist_ok=True)
    for path in (png, png.with_suffix(".svg")):
        with written(path) as tmp:
            fig.savefig(tmp, dpi=120, bbox_inches="tight", metadata={"Date": None} if path.suffix == ".svg" else None)
    plt.close(fig)


def _label(value) -> str:
    return f"{value:g}" if isinstance(value, (float, np.floating)) else str(value)


def arm_label(row: pd.Series) -> str:
    """A short name of a run's arm: 'baseline', 'baseline@0.5' (scarce), 'wgan@0.5' (finetune)."""
    if row["arm"] == "baseline":
        return "baseline" if float(row["train_fraction"]) == 1 else f"baseline@{_label(float(row['train_fraction']))}"
    prefix = "pre:" if row["arm"] == "pretrain-only" else ""
    return f"{prefix}{row['generator']}@{_label(float(row['fraction']))}"


def _grid(n_rows: int, n_cols: int, width: float, height: float, **kw):
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(width * n_cols, height * n_rows), squeeze=False, **kw)
    return fig, axes


def _empty(png: str | Path, message: str) -> None:
    fig, ax = plt.subplots(figsize=(6, 2))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True)
    save(fig, png)


def boxplots(runs: pd.DataFrame, metric: str, png: str | Path) -> None:
    """Per dataset (rows) and model (columns): `metric` of the baseline and of each finetune generator@fraction."""
    data = runs[runs["arm"].isin(["baseline", "finetune"])].copy()
    data["label"] = data.apply(arm_label, axis=1)
    datasets, models = sorted(data["dataset"].unique()), sorted(data["model"].unique())
    labels = sorted(data["label"].unique(), key=lambda s: (not s.startswith("baseline"), s))
    fig, axes = _grid(len(datasets), len(models), max(3.0, 0.6 * len(labels)), 2.6)
    for i, dataset in enumerate(datasets):
        for j, model in enumerate(models):
            ax = axes[i, j]
            part = data[(data["dataset"] == dataset) & (data["model"] == model)]
            values = [part.loc[part["label"] == lab, metric].to_numpy() for lab in labels]
            ax.boxplot(values, tick_labels=labels, showmeans=True, medianprops={"color": "black"})
            for k, v in enumerate(values, start=1):
                if len(v) > 30:  # dots only while they can be told apart (and the SVG stays small)
                    continue
                ax.scatter(np.full(len(v), k) + np.linspace(-0.12, 0.12, len(v)), v, s=8, alpha=0.6,
                           color="tab:gray" if labels[k - 1].startswith("baseline") else "tab:blue", zorder=3)
            ax.set_title(f"{dataset} · {model}")
            ax.set_ylabel(metric)
            ax.tick_params(axis="x", rotation=45)
    fig.suptitle(f"{metric} on TEST: baseline vs finetune (generator@GAN fraction); boxes over seeds and hyperparameters")
    fig.tight_layout()
    save(fig, png)


def heatmap(pairs: pd.DataFrame, png: str | Path) -> None:
    """Mean seed-matched gain (finetune − baseline), dataset × GAN fraction, one panel per model."""
    if pairs.empty:
        return _empty(png, "no seed-matched finetune/baseline pairs")
    models = sorted(pairs["model"].unique())
    table = pairs.pivot_table(index=["model", "dataset"], columns="fraction", values="gain", aggfunc="mean")
    limit = float(np.nanmax(np.abs(table.to_numpy()))) or 1e-9
    fig, axes = _grid(1, len(models), 1.2 + 0.9 * table.shape[1], 0.6 + 0.45 * table.index.get_level_values(1).nunique(),
                      layout="constrained")
    for ax, model in zip(axes[0], models):
        part = table.loc[model]
        image = ax.imshow(part.to_numpy(), cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto")
        ax.set_xticks(range(part.shape[1]), [_label(c) for c in part.columns])
        ax.set_yticks(range(part.shape[0]), part.index if ax is axes[0, 0] else [])
        for (r, c), value in np.ndenumerate(part.to_numpy()):
            if np.isfinite(value):
                ax.text(c, r, f"{value:+.3f}", ha="center", va="center", fontsize=8)
        ax.set_xlabel("GAN training fraction")
        ax.set_title(f"{model}: mean {pairs['metric'].iloc[0]} gain")
    fig.colorbar(image, ax=axes[0].tolist(), shrink=0.8, label="finetune − baseline")
    save(fig, png)


def cd_diagram(ranks: pd.DataFrame, posthoc: pd.DataFrame, tests: pd.DataFrame, alpha: float,
               png: str | Path) -> None:
    """Critical-difference diagram: mean ranks of the arms; bars join arms the Wilcoxon–Holm post-hoc cannot separate."""
    if ranks.empty:
        return _empty(png, "no arms to rank")
    groups = list(ranks.groupby("train_fraction", sort=True))
    fig, axes = _grid(len(groups), 1, 8, 0.9 + 0.32 * ranks.groupby("train_fraction").size().max())
    for ax, (train_fraction, part) in zip(axes[:, 0], groups):
        part = part.sort_values("mean_rank")
        k = len(part)
        ax.set_xlim(1 - 0.1, max(k, 2) + 0.1)
        ax.set_ylim(-(k + 2), 1)
        ax.hlines(0, 1, max(k, 2), color="black")
        for r in range(1, max(k, 2) + 1):
            ax.vlines(r, 0, 0.2, color="black")
            ax.text(r, 0.35, str(r), ha="center")
        for i, (_, row) in enumerate(part.iterrows()):
            y = -(i + 1)
            ax.plot([row["mean_rank"]] * 2, [0, y], color="tab:blue", lw=0.8)
            ax.text(max(k, 2) + 0.15 if i >= k / 2 else 1 - 0.15, y, f"{row['arm']} ({row['mean_rank']:.2f})",
                    ha="left" if i >= k / 2 else "right", va="center")
            ax.plot([row["mean_rank"], max(k, 2) + 0.1 if i >= k / 2 else 0.9], [y, y], color="tab:blue", lw=0.8)
        cliques = _cliques(part, posthoc, train_fraction, alpha)
        for depth, (low, high) in enumerate(cliques):
            ax.hlines(-0.3 - 0.25 * depth, low - 0.03, high + 0.03, color="black", lw=3)
        test = tests[tests["train_fraction"] == train_fraction].iloc[0]
        verdict = (f"Friedman p={test['p_value']:.3g}" if test["test"] == "Friedman"
                   else f"Friedman not run: {test['reason']}")
        ax.set_title(f"train fraction {train_fraction}: mean rank over {int(test['n_datasets'])} datasets "
                     f"(1 = best); {verdict}; bars: Wilcoxon–Holm p ≥ {alpha}")
        ax.axis("off")
    save(fig, png)


def _cliques(part: pd.DataFrame, posthoc: pd.DataFrame, train_fraction, alpha: float) -> list[tuple[float, float]]:
    """Maximal runs of rank-ordered arms whose every pair the post-hoc could not separate."""
    if posthoc.empty:
        return []
    tested = posthoc[(posthoc["train_fraction"] == train_fraction) & (posthoc["test"] != "not run")]
    if tested.empty:
        return []
    separated = {frozenset((a, b)) for a, b, p in zip(tested["arm_a"], tested["arm_b"], tested["p_holm"]) if p < alpha}
    arms, ranks = list(part["arm"]), list(part["mean_rank"])
    out, last_end = [], -1
    for i in range(len(arms)):
        j = i
        while j + 1 < len(arms) and all(frozenset((arms[a], arms[j + 1])) not in separated for a in range(i, j + 1)):
            j += 1
        if j > i and j > last_end:
            out.append((ranks[i], ranks[j]))
            last_end = j
    return out


def factor_effects(coefs: pd.DataFrame, anova: pd.DataFrame, png: str | Path) -> None:
    """Estimated effect of each factor on the gain with its 95 % CI; Holm-significant factors in red."""
    fixed = coefs[~coefs["factor"].isin(["intercept", "variance"])] if not coefs.empty else coefs
    fixed = fixed.dropna(subset=["ci_low", "ci_high"]) if not fixed.empty else fixed
    if fixed.empty:
        reasons = "; ".join(sorted(set(anova.get("reason", pd.Series(dtype=str)).dropna().astype(str)) - {""}))
        return _empty(png, f"factor analysis not run: {reasons or 'no factor varies'}")
    significant = set(anova.loc[anova.get("significant", pd.Series(False, index=anova.index)).fillna(False)
                                .astype(bool), "factor"])
    fixed = fixed.iloc[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.8 + 0.35 * len(fixed)))
    colors = ["tab:red" if f in significant else "tab:gray" for f in fixed["factor"]]
    y = np.arange(len(fixed))
    for k, (_, row) in enumerate(fixed.iterrows()):
        ax.errorbar(row["estimate"], k, xerr=[[row["estimate"] - row["ci_low"]], [row["ci_high"] - row["estimate"]]],
                    fmt="none", ecolor=colors[k], capsize=3)
    ax.scatter(fixed["estimate"], y, color=colors, zorder=3)
    ax.axvline(0, color="black", lw=0.8)
    names = [re.sub(r"^C\((\w+)\)\[T\.(.+)\]$", r"\1 = \2 (vs reference)", t) for t in fixed["term"]]
    ax.set_yticks(y, [f"{t} ({s})" if s.startswith("per") else t for t, s in zip(names, fixed["scale"].fillna(""))])
    ax.set_xlabel("effect on the seed-matched gain (finetune − baseline), 95 % CI (on its level's df)")
    ax.set_title(f"{fixed['model_kind'].iloc[0]}; red: significant after Holm")
    save(fig, png)


def gain_vs_quality(pairs: pd.DataFrame, png: str | Path) -> None:
    """Mean gain of each synthetic set against its quality (TSTR accuracy, discriminative score)."""
    if pairs.empty:
        return _empty(png, "no seed-matched finetune/baseline pairs")
    keys = [k for k in ["dataset", "generator", "fraction", "gan_seed"] if k in pairs.columns]
    sets = pairs.groupby(keys, as_index=False).agg(
        gain=("gain", "mean"), tstr_accuracy=("tstr_accuracy", "first"),
        discriminative_score=("discriminative_score", "first"))
    generators, datasets = sorted(sets["generator"].unique()), sorted(sets["dataset"].unique())
    markers = dict(zip(datasets, "osD^vP*Xh<>p8d" * 4))
    fig, axes = _grid(1, 2, 4.2, 3.4, sharey=True)
    for ax, column in zip(axes[0], ["tstr_accuracy", "discriminative_score"]):
        for _, row in sets.iterrows():
            ax.scatter(row[column], row["gain"], color=f"C{generators.index(row['generator'])}",
                       marker=markers[row["dataset"]], alpha=0.8)
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xlabel(column.replace("_", " "))
        valid = sets[[column, "gain"]].dropna()
        if len(valid) >= 3 and valid[column].nunique() > 1:
            rho = spearmanr(valid[column], valid["gain"]).statistic  # descriptive: the factor model tests it
            ax.set_title(f"Spearman rho={rho:.2f} ({len(valid)} sets; no p: sets share baselines)")
    axes[0, 0].set_ylabel(f"mean {pairs['metric'].iloc[0]} gain per synthetic set")
    handles = [plt.Line2D([], [], color=f"C{i}", marker="o", ls="", label=g) for i, g in enumerate(generators)]
    handles += [plt.Line2D([], [], color="gray", marker=markers[d], ls="", label=d) for d in datasets]
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, frameon=False)
    fig.suptitle("gain vs held-out synthetic-data quality (one point per synthetic set; "
                 "gain averaged over models, hyperparameters, seeds)", fontsize=8)
    fig.tight_layout()
    save(fig, png)


def read_histories(paths: list[str | Path]) -> pd.DataFrame:
    """Every history.tsv of .../{dataset}/{model}/{hp}/{run}/seed{seed}/history.tsv with its provenance."""
    frames = []
    for path in map(Path, paths):
        parts = path.parts
        at = next((i for i, p in enumerate(parts) if HP_PATTERN.match(p)), None)
        if at is None or at < 2 or not parts[-2].startswith("seed"):
            raise ValueError(f"{path}: not a .../{{dataset}}/{{model}}/{{hp}}/{{run}}/seed{{seed}}/history.tsv path")
        run = parse_run("/".join(parts[at + 1:-2]))
        frame = pd.read_csv(path, sep="\t")
        missing = {"epoch", "val_accuracy"} - set(frame.columns)
        if missing:
            raise ValueError(f"{path}: history lacks column(s) {', '.join(sorted(missing))}")
        frames.append(frame.assign(dataset=parts[at - 2], model=parts[at - 1], hp=parts[at], seed=parts[-2][4:],
                                   **{k: run[k] for k in ("arm", "generator", "fraction", "train_fraction")}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def learning_curves(histories: pd.DataFrame, png: str | Path) -> None:
    """Validation accuracy per epoch (mean over seeds, hyperparameters, fractions): baseline, pretrain, finetune."""
    if histories.empty:
        return _empty(png, "no training histories")
    data = histories.copy()
    data["line"] = np.where(data["arm"] == "baseline", "baseline",
                            data["arm"].str.replace("pretrain-only", "pretrain") + " " + data["generator"].astype(str))
    datasets, models = sorted(data["dataset"].unique()), sorted(data["model"].unique())
    fig, axes = _grid(len(datasets), len(models), 4.2, 2.8)
    lines = sorted(data["line"].unique())
    for i, dataset in enumerate(datasets):
        for j, model in enumerate(models):
            ax = axes[i, j]
            part = data[(data["dataset"] == dataset) & (data["model"] == model)]
            for n, line in enumerate(lines):
                curve = part[part["line"] == line].groupby("epoch")["val_accuracy"].mean()
                style = "-" if not line.startswith("pretrain") else "--"
                ax.plot(curve.index, curve.to_numpy(), style, color=f"C{n}", label=line)
            ax.set_title(f"{dataset} · {model}")
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
            ax.set_ylabel("validation accuracy")
    axes[0, -1].legend(fontsize=7, loc="lower right")
    fig.suptitle("learning curves (pretrain: synthetic data; validation split of real TRAIN)")
    fig.tight_layout()
    save(fig, png)


def make_figures(tables: dict, histories: list[str], out: dict, metric: str, alpha: float) -> None:
    """Every analysis figure from the tables in `tables` (keys as in the figures rule) to the PNGs in `out`."""
    from synthtl.tables import read_runs

    def read(key: str) -> pd.DataFrame:
        try:
            return pd.read_csv(tables[key], sep="\t")
        except pd.errors.EmptyDataError:
            return pd.DataFrame()

    pairs = read("pairs")
    boxplots(read_runs(tables["runs"]), metric, out["boxplots"])
    heatmap(pairs, out["heatmap"])
    cd_diagram(read("ranks"), read("posthoc"), read("friedman"), alpha, out["cd_diagram"])
    factor_effects(read("factor_coefficients"), read("factor_anova"), out["factor_effects"])
    gain_vs_quality(pairs, out["gain_vs_quality"])
    learning_curves(read_histories(histories), out["learning_curves"])
