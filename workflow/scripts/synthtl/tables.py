"""The runs table: every metrics row of every run, with dataset factors and synthetic quality joined."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from synthtl.files import written

# Columns every metrics.tsv must hold (the evaluation contract).
METRICS_COLUMNS = [
    "dataset", "model", "family", "hp", "learning_rate", "batch_size", "epochs", "arm", "generator",
    "fraction", "gan_seed", "train_fraction", "regime", "strategy", "seed", "accuracy", "f1_macro", "f1_weighted",
    "precision_macro", "recall_macro", "balanced_accuracy", "roc_auc_ovr_macro", "log_loss",
    "epochs_run", "best_epoch", "train_time_s",
]
ARMS = ("baseline", "pretrain-only", "finetune")
# Dataset factors taken from meta.json, in this order.
DATASET_FACTORS = ["length", "n_channels", "n_classes", "n_train", "n_val", "n_test",
                   "original_min_length", "original_max_length"]
QUALITY_COLUMNS = ["tstr_accuracy", "discriminative_score"]
# What identifies one row: a run (its arm and provenance, the GAN seed of its synthetic set) and a seed.
KEY = ["dataset", "model", "hp", "arm", "generator", "fraction", "gan_seed", "train_fraction", "regime", "strategy",
       "seed"]
# What identifies one synthetic set (one generator training run), the unit its quality.json scores.
SYNTHETIC_KEY = ["dataset", "generator", "fraction", "gan_seed"]
TEXT = ["dataset", "model", "family", "hp", "arm", "generator", "regime", "strategy"]


def read_metrics(path: str | Path) -> pd.DataFrame:
    """One metrics.tsv, checked against the evaluation contract."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, sep="\t", dtype={c: "string" for c in TEXT})
    except (pd.errors.EmptyDataError, FileNotFoundError) as error:
        raise ValueError(f"{path}: cannot read metrics table ({error})") from error
    missing = [c for c in METRICS_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: metrics table lacks column(s) {', '.join(missing)}")
    if frame.empty:
        raise ValueError(f"{path}: metrics table has no rows")
    bad_arm = sorted(set(frame["arm"].dropna()) - set(ARMS))
    if bad_arm:
        raise ValueError(f"{path}: unknown arm(s) {bad_arm}; known: {', '.join(ARMS)}")
    if frame["f1_macro"].isna().any() or frame["accuracy"].isna().any():
        raise ValueError(f"{path}: f1_macro/accuracy missing in {int(frame['f1_macro'].isna().sum())} row(s)")
    frame["source"] = str(path)
    return frame


def read_meta(path: str | Path) -> dict:
    """The dataset factors of one meta.json."""
    path = Path(path)
    meta = json.loads(path.read_text())
    missing = [k for k in ["dataset", *DATASET_FACTORS[:6]] if k not in meta]
    if missing:
        raise ValueError(f"{path}: meta.json lacks key(s) {', '.join(missing)}")
    return {"dataset": meta["dataset"], **{k: meta.get(k) for k in DATASET_FACTORS}}


def read_quality(path: str | Path) -> dict:
    """Scalar scores of one quality.json, keyed by the dataset, generator, fraction and GAN seed of its path."""
    path = Path(path)
    parts = path.parts
    if (len(parts) < 5 or not parts[-3].startswith("frac") or not parts[-2].startswith("gseed")
            or not parts[-2].removeprefix("gseed").isdigit()):
        raise ValueError(f"{path}: expected .../{{dataset}}/{{generator}}/frac{{fraction}}/gseed{{gan_seed}}/quality.json")
    scores = json.loads(path.read_text())
    missing = [k for k in QUALITY_COLUMNS if k not in scores]
    if missing:
        raise ValueError(f"{path}: quality.json lacks key(s) {', '.join(missing)}")
    row = {"dataset": parts[-5], "generator": parts[-4], "fraction": float(parts[-3].removeprefix("frac")),
           "gan_seed": int(parts[-2].removeprefix("gseed"))}
    for key, value in scores.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            row[key if key in QUALITY_COLUMNS else f"quality_{key}"] = float(value)
    return row


def build_runs(metrics: list[str | Path], metas: list[str | Path], qualities: list[str | Path]) -> pd.DataFrame:
    """The runs table: metrics rows joined with dataset factors and, by synthetic set
    (dataset, generator, fraction, gan_seed), quality."""
    if not metrics:
        raise ValueError("no metrics files given")
    runs = pd.concat([read_metrics(p) for p in metrics], ignore_index=True)
    for column in ("fraction", "train_fraction", "learning_rate"):
        runs[column] = pd.to_numeric(runs[column], errors="raise")
    runs["gan_seed"] = pd.to_numeric(runs["gan_seed"], errors="raise").astype("Int64")
    unseeded = (runs["arm"] != "baseline") & runs["gan_seed"].isna()
    if unseeded.any():
        raise ValueError(f"{int(unseeded.sum())} pretrain-only/finetune row(s) without a gan_seed "
                         f"(in {sorted(set(runs.loc[unseeded, 'source']))[:3]})")
    duplicated = runs.duplicated(KEY, keep=False)
    if duplicated.any():
        first = runs.loc[duplicated].iloc[0]
        raise ValueError(
            f"{int(duplicated.sum())} duplicated run rows, e.g. {first[KEY].to_dict()} "
            f"(in {sorted(set(runs.loc[duplicated, 'source']))[:3]})"
        )
    meta = pd.DataFrame([read_meta(p) for p in metas])
    unknown = sorted(set(runs["dataset"]) - set(meta.get("dataset", [])))
    if unknown:
        raise ValueError(f"no meta.json given for dataset(s) {', '.join(unknown)}")
    runs = runs.merge(meta.drop_duplicates("dataset"), on="dataset", how="left", validate="many_to_one")
    quality = pd.DataFrame([read_quality(p) for p in qualities])
    if quality.empty:
        quality = pd.DataFrame(columns=[*SYNTHETIC_KEY, *QUALITY_COLUMNS])
    quality["dataset"] = quality["dataset"].astype("string")
    quality["generator"] = quality["generator"].astype("string")
    quality["fraction"] = quality["fraction"].astype(float)
    quality["gan_seed"] = quality["gan_seed"].astype("Int64")
    synthetic = runs["arm"] != "baseline"
    keys = runs.loc[synthetic, SYNTHETIC_KEY].drop_duplicates()
    lacking = keys.merge(quality, on=SYNTHETIC_KEY, how="left", indicator=True)
    lacking = lacking[lacking["_merge"] == "left_only"]
    if not lacking.empty:
        row = lacking.iloc[0]
        raise ValueError(
            f"no quality.json given for {len(lacking)} synthetic set(s), e.g. "
            f"dataset={row['dataset']} generator={row['generator']} fraction={row['fraction']:g} "
            f"gan_seed={row['gan_seed']}"
        )
    runs = runs.merge(quality, on=SYNTHETIC_KEY, how="left", validate="many_to_one")
    runs["log10_learning_rate"] = runs["learning_rate"].map(math.log10)
    order = ["dataset", "model", "family", "hp", "learning_rate", "log10_learning_rate", "batch_size", "epochs",
             "arm", "generator", "fraction", "gan_seed", "train_fraction", "regime", "strategy", "seed"]
    order += [c for c in DATASET_FACTORS if c in runs.columns]
    order += [c for c in runs.columns if c not in order and c != "source"] + ["source"]
    return runs[order].sort_values(KEY, na_position="first", kind="stable").reset_index(drop=True)


def write_tsv(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a tab-separated table atomically (a partial file never appears under its final name)."""
    with written(path) as tmp:
        frame.to_csv(tmp, sep="\t", index=False, float_format="%.6g")


def aggregate(metrics: list[str | Path], metas: list[str | Path], qualities: list[str | Path],
              out: str | Path) -> pd.DataFrame:
    """Build the runs table from the given files and write it to `out`."""
    runs = build_runs(metrics, metas, qualities)
    write_tsv(runs, out)
    return runs


def read_runs(path: str | Path) -> pd.DataFrame:
    """The runs table as written by aggregate."""
    path = Path(path)
    runs = pd.read_csv(path, sep="\t", dtype={c: "string" for c in TEXT})
    missing = [c for c in METRICS_COLUMNS if c not in runs.columns]
    if missing:
        raise ValueError(f"{path}: runs table lacks column(s) {', '.join(missing)}")
    return runs
