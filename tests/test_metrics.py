"""Metrics rows agree with a direct scikit-learn computation on known predictions."""

from __future__ import annotations

import json

import numpy as np
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
    record = {"epochs_run": 12, "best_epoch": 7, "train_time_s": 1.5, "versions": {"tensorflow": "2.21.0", "keras": "3.15.1"}}
    score = metrics.scores(Y_TRUE, PROBA, 3)
    base = metrics.provenance("BasicMotions", "gru", "lr0.001-bs16-ep40", "finetune/wgan/frac0.5/scarce/discriminative_lr")
    row = metrics.run_row(base, 2, record, score)
    assert list(row) == metrics.COLUMNS
    assert row["family"] == "rnn" and row["arm"] == "finetune" and row["generator"] == "wgan"
    assert (row["fraction"], row["train_fraction"], row["regime"], row["strategy"]) == ("0.5", "0.5", "scarce", "discriminative_lr")
    assert (row["learning_rate"], row["batch_size"], row["epochs"], row["seed"]) == (0.001, 16, 40, 2)
    assert (row["epochs_run"], row["best_epoch"], row["tensorflow"]) == (12, 7, "2.21.0")
    pre = metrics.provenance("BasicMotions", "fcn", "lr0.001-bs16-ep40", "pretrain/jitter/frac1")
    assert (pre["arm"], pre["family"], pre["train_fraction"]) == ("pretrain-only", "cnn", None)
