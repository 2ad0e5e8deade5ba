"""Training on real BasicMotions: determinism, per-seed reuse, and TEST never reaching training."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synthtl import data, metrics, training

TINY_FCN = {"filters": [4, 4, 4], "kernel_sizes": [8, 5, 3]}
HP = {"learning_rate": 0.01, "batch_size": 8, "epochs": 3}


@pytest.fixture(scope="module")
def npz(basicmotions_npz):
    """BasicMotions prepared from the .ts files shipped with aeon (fractions 0.5 and 1)."""
    out = basicmotions_npz.parent
    return str(out / "prepared.npz")


def outputs(folder, seeds):
    """The per-seed output lists the rules pass (models, histories, records)."""
    return [[str(folder / f"seed{s}" / name) for s in seeds] for name in ("model.keras", "history.tsv", "run.json")]


TINY_GRU = {"units": 8, "layers": 2, "dropout": 0.2}  # dropout: random state that must be reset per seed too


def baseline(npz, folder, seeds, model="fcn", network=TINY_FCN, **kwargs):
    models, histories, records = outputs(folder, seeds)
    status = training.run_baseline(npz, model, network, HP, 2, seeds, kwargs.pop("train_fraction", "1"),
                                   models, histories, records, threads=1, **kwargs)
    return status, models, records


@pytest.mark.parametrize("model,network", [("fcn", TINY_FCN), ("gru", TINY_GRU)])
def test_same_seed_gives_identical_metrics_twice(npz, tmp_path, model, network):
    """Seed 1 trained after seed 0 in one job (sharing its compiled functions) and alone: the same numbers."""
    tables = []
    for name, seeds in (("first", [0, 1]), ("second", [1])):
        _, models, records = baseline(npz, tmp_path / name, seeds, model, network)
        tables.append(metrics.evaluate_run(npz, "BasicMotions", model, "lr0.01-bs8-ep3", "baseline/frac1", seeds,
                                           models, records, str(tmp_path / name / "metrics.tsv")))
    numbers = metrics.METRICS + ["epochs_run", "best_epoch"]
    pd.testing.assert_frame_equal(tables[0][numbers].iloc[1:].reset_index(drop=True), tables[1][numbers])
    first, second = (pd.read_csv(tmp_path / n / "seed1" / "history.tsv", sep="\t") for n in ("first", "second"))
    pd.testing.assert_frame_equal(first, second)
    # the seed matters: the two seeds' models are not the same network
    assert tables[0].loc[0, "log_loss"] != tables[0].loc[1, "log_loss"]


def test_adding_a_seed_trains_only_that_seed_with_the_numbers_it_gets_alone(npz, tmp_path):
    status, models, records = baseline(npz, tmp_path / "cell", [0])
    assert status == {0: "trained"}
    stamp = json.loads(open(records[0]).read())["trained_at"], open(models[0], "rb").read()
    status, models, records = baseline(npz, tmp_path / "cell", [0, 1])
    assert status == {0: "reused", 1: "trained"}
    assert (json.loads(open(records[0]).read())["trained_at"], open(models[0], "rb").read()) == stamp
    # seed 1 trained after a reused seed 0 equals seed 1 trained on its own
    baseline(npz, tmp_path / "alone", [1])
    together = pd.read_csv(tmp_path / "cell" / "seed1" / "history.tsv", sep="\t")
    alone = pd.read_csv(tmp_path / "alone" / "seed1" / "history.tsv", sep="\t")
    pd.testing.assert_frame_equal(together, alone)
    # a changed setting makes every seed stale
    status, _, _ = baseline(npz, tmp_path / "cell", [0], train_fraction="0.5")
    assert status == {0: "trained"}


def test_the_test_split_never_reaches_training(npz, tmp_path, monkeypatch):
    """Record what the baseline asks the data layer for and what the training function receives."""
    from synthtl.budget import Budget

    requested, received = [], []
    real_load, real_fit = Budget.load, training.fit

    def load(self, split):
        requested.append(split)
        return real_load(self, split)

    def fit(model, train, val, *args, **kwargs):
        received.append((train, val))
        return real_fit(model, train, val, *args, **kwargs)

    monkeypatch.setattr(Budget, "load", load)
    monkeypatch.setattr(training, "fit", fit)
    baseline(npz, tmp_path / "cell", [0], train_fraction="0.5")
    assert requested and set(requested) <= {"train", "val"}, requested
    (train, val), = received
    budget = Budget(npz, "0.5")  # the scarce budget: half of train, half of val, in its own scale
    np.testing.assert_array_equal(train[0], real_load(budget, "train")[0])
    np.testing.assert_array_equal(val[0], real_load(budget, "val")[0])
    X_test = real_load(budget, "test")[0]
    seen = np.concatenate([train[0], val[0]]).reshape(len(train[0]) + len(val[0]), -1)
    for case in X_test.reshape(len(X_test), -1):
        assert not np.any(np.all(np.isclose(seen, case), axis=1)), "a TEST case reached training"


def test_a_scarce_run_early_stops_and_is_scored_on_its_budgets_own_val(npz, tmp_path):
    from synthtl.budget import Budget

    _, models, records = baseline(npz, tmp_path / "cell", [0], train_fraction="0.5")
    record = json.loads(open(records[0]).read())
    budget = Budget(npz, "0.5")
    assert record["settings"]["budget"] == "0.5"
    assert (record["n_train"], record["n_val"]) == (len(budget.train_index), len(budget.val_index))
    assert record["n_val"] < len(data.load_split(npz, "val")[1])
    table = metrics.evaluate_run(npz, "BasicMotions", "fcn", "lr0.01-bs8-ep3", "baseline/frac0.5", [0], models,
                                 records, str(tmp_path / "metrics.tsv"))
    import keras

    network = keras.models.load_model(models[0], compile=False)
    n_classes = len(data.load_classes(npz))
    for split, prefix in (("val", "val_"), ("test", "")):
        X, y = budget.load(split)
        expected = metrics.scores(y, network.predict(X, verbose=0), n_classes)
        assert table.loc[0, f"{prefix}accuracy"] == pytest.approx(expected["accuracy"]), split
    assert table.loc[0, "n_val_run"] == len(budget.val_index)


def test_fingerprint_covers_inputs_settings_and_seed(npz, tmp_path):
    other = tmp_path / "other.bin"
    other.write_bytes(b"x")
    base = training.fingerprint([npz], {"a": 1}, 0)
    assert base == training.fingerprint([npz], {"a": 1}, 0)
    assert len({base, training.fingerprint([npz], {"a": 2}, 0), training.fingerprint([npz], {"a": 1}, 1),
                training.fingerprint([other], {"a": 1}, 0)}) == 4
