"""Evaluation on TEST (and VAL): scikit-learn metrics of every seed of a run, one tidy row per seed.

This is the only module that reads the TEST split (through synthtl.budget.Budget.load('test')).
The same scores on the run's VAL split are the `val_*` columns, on which hyperparameters can be
chosen without reading TEST.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from synthtl.naming import MODEL_FAMILY, parse_hp, parse_run

log = logging.getLogger(__name__)

PROVENANCE = ["dataset", "model", "family", "hp", "learning_rate", "batch_size", "epochs", "arm", "generator",
              "fraction", "gan_seed", "train_fraction", "regime", "strategy", "seed"]
METRICS = ["accuracy", "f1_macro", "f1_weighted", "precision_macro", "recall_macro", "balanced_accuracy",
           "roc_auc_ovr_macro", "log_loss", "confusion_matrix"]
# Every scalar metric scored on VAL as well (hyperparameters are chosen on these, never on TEST).
VAL_METRICS = [f"val_{name}" for name in METRICS if name != "confusion_matrix"]
# n_train_run / n_val_run: the cases the run trained and early-stopped on (pretrain: synthetic cases),
# named apart from the runs table's dataset-level n_train / n_val.
RUN_INFO = ["epochs_run", "best_epoch", "train_time_s", "n_train_run", "n_val_run", "tensorflow", "keras"]
COLUMNS = PROVENANCE + METRICS + VAL_METRICS + RUN_INFO


def scores(y_true: np.ndarray, proba: np.ndarray, n_classes: int) -> dict:
    """Every metric of one model on one split (TEST or VAL) from its class probabilities (scikit-learn)."""
    labels = np.arange(n_classes)
    proba = np.asarray(proba, dtype=np.float64)
    y_pred = proba.argmax(axis=1)
    normalised = proba / proba.sum(axis=1, keepdims=True)  # float32 softmax rows sum to 1 only roughly
    out = {
        "accuracy": skm.accuracy_score(y_true, y_pred),
        "f1_macro": skm.f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0),
        "f1_weighted": skm.f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0),
        "precision_macro": skm.precision_score(y_true, y_pred, labels=labels, average="macro", zero_division=0),
        "recall_macro": skm.recall_score(y_true, y_pred, labels=labels, average="macro", zero_division=0),
        "balanced_accuracy": skm.balanced_accuracy_score(y_true, y_pred),
        "log_loss": skm.log_loss(y_true, normalised, labels=labels),
    }
    present = np.unique(y_true)
    if len(present) < 2:
        out["roc_auc_ovr_macro"] = np.nan  # undefined with one class in the split
    elif n_classes == 2:
        out["roc_auc_ovr_macro"] = skm.roc_auc_score(y_true, proba[:, 1])
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # classes absent from the split are skipped below
            out["roc_auc_ovr_macro"] = (
                skm.roc_auc_score(y_true, proba, multi_class="ovr", average="macro", labels=labels)
                if len(present) == n_classes else
                float(np.mean([skm.roc_auc_score(y_true == c, proba[:, c]) for c in present]))
            )
    out = {k: float(v) for k, v in out.items()}
    out["confusion_matrix"] = json.dumps(skm.confusion_matrix(y_true, y_pred, labels=labels).tolist())
    return out


def provenance(dataset: str, model: str, hp: str, run: str) -> dict:
    """The provenance columns shared by every seed of a run."""
    return {"dataset": dataset, "model": model, "family": MODEL_FAMILY[model], "hp": hp, **parse_hp(hp),
            **parse_run(run)}


def run_row(base: dict, seed: int, record: dict, score: dict, val_score: dict | None = None) -> dict:
    """One tidy row: provenance, TEST metrics, VAL metrics (val_*) and what run.json says about training.

    gan_seed (the GAN seed of the synthetic set a pretrain-only or finetune run descends from)
    and the run's sizes come from run.json; a baseline row has no gan_seed.
    """
    versions = record.get("versions", {})
    val = {f"val_{k}": v for k, v in (val_score or {}).items() if f"val_{k}" in VAL_METRICS}
    gan_seed = None if base.get("arm") == "baseline" or record.get("gan_seed") is None else int(record["gan_seed"])
    row = {**base, "gan_seed": gan_seed, "seed": int(seed), **score, **val, "epochs_run": record["epochs_run"],
           "best_epoch": record["best_epoch"], "train_time_s": record["train_time_s"],
           "n_train_run": record.get("n_train"), "n_val_run": record.get("n_val"),
           "tensorflow": versions.get("tensorflow"), "keras": versions.get("keras")}
    return {c: row.get(c) for c in COLUMNS}


def predict(network, X: np.ndarray, n_classes: int, where: str) -> np.ndarray:
    """Class probabilities of `network` for X (float64), checked for shape."""
    proba = np.asarray(network.predict(X, batch_size=512, verbose=0), dtype=np.float64)
    if proba.shape != (len(X), n_classes):
        raise ValueError(f"{where}: predicts shape {proba.shape}, expected {(len(X), n_classes)}")
    return proba


def evaluate_run(npz: str, dataset: str, model: str, hp: str, run: str, seeds: Sequence[int],
                 models: Sequence[str], records: Sequence[str], out_tsv: str, threads: int = 1) -> pd.DataFrame:
    """Predict TEST and VAL with every seed's model and write the run's metrics.tsv (one row per seed).

    A run of the scarce regime (run.json setting `budget`) is scored on TEST in its budget's
    scale and on its budget's own validation cases (synthtl.budget), as it was trained.
    """
    from synthtl import data, runtime, training  # noqa: PLC0415, F401 — training registers LayerwiseAdam
    from synthtl.budget import Budget  # noqa: PLC0415
    import keras  # noqa: PLC0415

    runtime.configure(threads)
    views: dict = {}

    def splits(budget):
        if budget not in views:
            view = Budget(npz, budget)
            views[budget] = (view.load("test"), view.load("val"))
        return views[budget]

    n_classes = len(data.load_classes(npz))
    base = provenance(dataset, model, hp, run)
    rows = []
    for seed, model_path, record_path in zip(seeds, models, records, strict=True):
        record = json.loads(Path(record_path).read_text())
        if int(record["seed"]) != int(seed):
            raise ValueError(f"{record_path}: records seed {record['seed']}, expected {seed}")
        if base["arm"] != "baseline" and record.get("gan_seed") is None:
            raise ValueError(f"{record_path}: records no gan_seed (written before gan.seeds); "
                             f"delete the run's folder to retrain it")
        (X_test, y_test), (X_val, y_val) = splits(record.get("settings", {}).get("budget"))
        network = keras.models.load_model(model_path, compile=False)
        test_score = scores(y_test, predict(network, X_test, n_classes, model_path), n_classes)
        val_score = scores(y_val, predict(network, X_val, n_classes, model_path), n_classes)
        rows.append(run_row(base, seed, record, test_score, val_score))
        log.info("%s %s %s %s seed %d: accuracy %.4f f1_macro %.4f (val %.4f %.4f)", dataset, model, hp, run, seed,
                 rows[-1]["accuracy"], rows[-1]["f1_macro"], rows[-1]["val_accuracy"], rows[-1]["val_f1_macro"])
        keras.backend.clear_session()
    table = pd.DataFrame(rows, columns=COLUMNS)
    Path(out_tsv).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out_tsv, sep="\t", index=False)
    return table


def evaluate_runs(npz: str, dataset: str, model: str, hp: str, runs: Sequence[str], seeds: Sequence[int],
                  models: Sequence[str], records: Sequence[str], out_tsvs: str | Sequence[str],
                  threads: int = 1) -> list[pd.DataFrame]:
    """evaluate_run for several runs of one cell in one process; models/records are run-major, then seed."""
    outs = [out_tsvs] if isinstance(out_tsvs, str) else list(out_tsvs)
    n = len(seeds)
    if not (len(outs) == len(runs) and len(models) == len(records) == n * len(runs)):
        raise ValueError(f"{dataset}/{model}/{hp}: {len(runs)} runs x {n} seeds, but {len(models)} models, "
                         f"{len(records)} records and {len(outs)} outputs")
    return [evaluate_run(npz, dataset, model, hp, run, seeds, models[i * n:(i + 1) * n], records[i * n:(i + 1) * n],
                         out, threads)
            for i, (run, out) in enumerate(zip(runs, outs))]
