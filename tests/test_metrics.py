"""Metrics rows agree with a direct scikit-learn computation on known predictions."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from synthtl import metrics

Y_TRUE = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 2])
PROBA = np.array([
    [0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1],  # class 0: one wrong
    [0.1, 0.8, 0.1], [0.3, 0.4, 0.3], [0.5, 0.2, 0.3],  # class 1: one wrong
    [0.1, 0.1, 0.8], [0.2, 0.2, 0.6], [0.1, 0.6, 0.3], [0.0, 0.1, 0.9],  # class 2: one wrong
])


def test_scores_match_scikit_learn_on_known_predictions():
    got = metrics.scores(Y_TRUE, PROBA, 3)
    y_pred = PROBA.argmax(axis=1)
    assert got["accuracy"] == pytest.approx(0.7)  # 7 of 10 by construction
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(Y_TRUE, y_pred))
    assert got["f1_macro"] == pytest.approx(skm.f1_score(Y_TRUE, y_pred, average="macro"))
    assert got["f1_weighted"] == pytest.approx(skm.f1_score(Y_TRUE, y_pred, average="weighted"))
    assert got["precision_macro"] == pytest.approx(skm.precision_score(Y_TRUE, y_pred, average="macro"))
    assert got["recall_macro"] == pytest.approx(skm.recall_score(Y_TRUE, y_pred, average="macro"))
    assert got["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(Y_TRUE, y_pred))
    assert got["roc_auc_ovr_macro"] == pytest.approx(skm.roc_auc_score(Y_TRUE, PROBA, multi_class="ovr"))
    assert got["log_loss"] == pytest.approx(skm.log_loss(Y_TRUE, PROBA))
    assert json.loads(got["confusion_matrix"]) == [[2, 1, 0], [1, 2, 0], [0, 1, 3]]


def test_binary_and_missing_class_cases():
    y = np.array([0, 1, 1, 0])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    assert metrics.scores(y, proba, 2)["roc_auc_ovr_macro"] == pytest.approx(skm.roc_auc_score(y, proba[:, 1]))
    # class 2 absent from TEST: macro scores still over the classes that exist, no crash
    y3 = np.array([0, 1, 0, 1])
    proba3 = np.array([[0.7, 0.2, 0.1], [0.2, 0.7, 0.1], [0.3, 0.3, 0.4], [0.5, 0.4, 0.1]])
    got = metrics.scores(y3, proba3, 3)
    assert got["roc_auc_ovr_macro"] == pytest.approx(np.mean([skm.roc_auc_score(y3 == c, proba3[:, c]) for c in (0, 1)]))
    assert json.loads(got["confusion_matrix"]) == [[1, 0, 1], [1, 1, 0], [0, 0, 0]]


def test_row_carries_provenance_of_each_arm():
    record = {"epochs_run": 12, "best_epoch": 7, "train_time_s": 1.5, "versions": {"tensorflow": "2.21.0", "keras": "3.15.1"},
              "gan_seed": 1, "n_train": 24, "n_val": 8}
    score = metrics.scores(Y_TRUE, PROBA, 3)
    val_score = metrics.scores(Y_TRUE[:6], PROBA[:6], 3)
    base = metrics.provenance("BasicMotions", "gru", "lr0.001-bs16-ep40", "finetune/wgan/frac0.5/scarce/discriminative_lr")
    row = metrics.run_row(base, 2, record, score, val_score)
    assert list(row) == metrics.COLUMNS
    assert row["family"] == "rnn" and row["arm"] == "finetune" and row["generator"] == "wgan"
    assert (row["fraction"], row["train_fraction"], row["regime"], row["strategy"]) == ("0.5", "0.5", "scarce", "discriminative_lr")
    assert (row["learning_rate"], row["batch_size"], row["epochs"], row["seed"]) == (0.001, 16, 40, 2)
    assert (row["epochs_run"], row["best_epoch"], row["tensorflow"]) == (12, 7, "2.21.0")
    assert (row["gan_seed"], row["n_train_run"], row["n_val_run"]) == (1, 24, 8)
    assert row["val_accuracy"] == pytest.approx(4 / 6) and row["val_f1_macro"] == val_score["f1_macro"]
    assert "val_confusion_matrix" not in row
    pre = metrics.provenance("BasicMotions", "fcn", "lr0.001-bs16-ep40", "pretrain/jitter/frac1")
    assert (pre["arm"], pre["family"], pre["train_fraction"]) == ("pretrain-only", "cnn", None)
    baseline = metrics.run_row(metrics.provenance("BasicMotions", "fcn", "lr0.001-bs16-ep40", "baseline/frac1"), 0,
                               {**record, "gan_seed": None}, score, val_score)
    assert baseline["gan_seed"] is None and baseline["n_train_run"] == 24


def test_val_columns_name_every_scalar_metric():
    assert metrics.VAL_METRICS == [f"val_{m}" for m in metrics.METRICS if m != "confusion_matrix"]
    assert set(metrics.VAL_METRICS) <= set(metrics.COLUMNS)
    assert {"gan_seed", "n_train_run", "n_val_run"} <= set(metrics.COLUMNS)
    assert metrics.COLUMNS.index("gan_seed") == metrics.COLUMNS.index("fraction") + 1


def test_evaluate_run_scores_test_and_val_with_the_same_model(basicmotions_npz, tmp_path):
    """evaluate_run's val_* columns are scores() of the model's predictions on the prepared VAL split."""
    import keras  # noqa: PLC0415

    from synthtl import data, networks, runtime  # noqa: PLC0415

    runtime.configure(1)
    runtime.seed_everything(0)
    X_val, y_val = data.load_split(basicmotions_npz, "val")
    X_test, y_test = data.load_split(basicmotions_npz, "test")
    n_classes = len(data.load_classes(basicmotions_npz))
    network = networks.build("fcn", X_val.shape[1:], n_classes, {"filters": [4, 4, 4], "kernel_sizes": [8, 5, 3]})
    records = []
    for seed, gan_seed in ((0, 0), (1, 1)):
        folder = tmp_path / f"seed{seed}"
        folder.mkdir()
        network.save(folder / "model.keras")
        (folder / "run.json").write_text(json.dumps({"seed": seed, "gan_seed": gan_seed, "epochs_run": 2, "best_epoch": 1,
                                                     "train_time_s": 0.5, "n_train": 40, "n_val": len(y_val)}))
        records.append(str(folder / "run.json"))
    out = tmp_path / "metrics.tsv"
    table = metrics.evaluate_run(str(basicmotions_npz), "BasicMotions", "fcn", "lr0.001-bs16-ep2", "pretrain/jitter/frac0.5",
                                 [0, 1], [str(tmp_path / f"seed{s}" / "model.keras") for s in (0, 1)], records, str(out))
    written = pd.read_csv(out, sep="\t")
    assert list(written.columns) == metrics.COLUMNS
    assert written["gan_seed"].tolist() == [0, 1]
    assert written["n_train_run"].tolist() == [40, 40] and written["n_val_run"].tolist() == [len(y_val)] * 2
    proba = lambda X: keras.models.load_model(tmp_path / "seed0" / "model.keras", compile=False).predict(X, verbose=0)  # noqa: E731
    on_val, on_test = metrics.scores(y_val, proba(X_val), n_classes), metrics.scores(y_test, proba(X_test), n_classes)
    for name in metrics.METRICS[:-1]:
        assert table.loc[0, f"val_{name}"] == pytest.approx(on_val[name], nan_ok=True), name
        assert written.loc[0, f"val_{name}"] == pytest.approx(on_val[name], rel=1e-9, nan_ok=True), name
        assert table.loc[0, name] == pytest.approx(on_test[name], nan_ok=True), name
    bad = json.loads(open(records[1]).read())
    del bad["gan_seed"]
    open(records[1], "w").write(json.dumps(bad))
    with pytest.raises(ValueError, match="seed1/run.json: records no gan_seed"):
        metrics.evaluate_run(str(basicmotions_npz), "BasicMotions", "fcn", "lr0.001-bs16-ep2", "pretrain/jitter/frac0.5",
                             [0, 1], [str(tmp_path / f"seed{s}" / "model.keras") for s in (0, 1)], records, str(out))
