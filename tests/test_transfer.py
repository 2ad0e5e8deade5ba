"""Transfer arm on real BasicMotions: same cell as the baseline but other initial weights,
fine-tuning starts from the pretrained weights, strategies, and TEST reaching neither phase."""

from __future__ import annotations

import json
import shutil

import keras
import numpy as np
import pytest

from synthtl import data, networks, runtime, training, transfer
from synthtl.budget import Budget

TINY_FCN = {"filters": [4, 4, 4], "kernel_sizes": [8, 5, 3]}
HP = {"learning_rate": 0.01, "batch_size": 8, "epochs": 3}


@pytest.fixture(scope="module")
def files(tmp_path_factory, basicmotions_npz):
    """Prepared BasicMotions and a synthetic set made from its 0.5 fraction (noisy copies, as jitter does)."""
    out = tmp_path_factory.mktemp("transfer")
    shutil.copy(basicmotions_npz, out / "prepared.npz")
    X, y = data.load_split(out / "prepared.npz", "train", fraction=0.5)
    rng = np.random.default_rng(0)
    X_syn = np.concatenate([X, X]) + rng.normal(0, 0.05, (2 * len(X), *X.shape[1:])).astype(np.float32)
    np.savez(out / "synthetic.npz", X=X_syn.astype(np.float32), y=np.concatenate([y, y]))
    return str(out / "prepared.npz"), str(out / "synthetic.npz")


def outputs(folder):
    return [[str(folder / "seed0" / name)] for name in ("model.keras", "history.tsv", "run.json")]


class RecordStart(keras.callbacks.Callback):
    """The weights a fit starts from (on_train_begin)."""

    def on_train_begin(self, logs=None):
        self.weights = [w.copy() for w in self.model.get_weights()]


def test_baseline_and_finetune_share_the_cell_and_differ_in_initial_weights(files, tmp_path, monkeypatch):
    npz, synthetic = files
    calls, requested = [], []
    real_fit, real_load = training.fit, data.load_split

    def fit(model, train, val, hyper, seed, *args, callbacks=(), **kwargs):
        start = RecordStart()
        rows = real_fit(model, train, val, hyper, seed, *args, callbacks=[*callbacks, start], **kwargs)
        calls.append({"train": train, "val": val, "hyper": hyper, "seed": seed, "start": start.weights,
                      "layers": [(layer.name, type(layer).__name__) for layer in model.layers]})
        return rows

    def load_split(path, split, fraction=None):
        requested.append(split)
        return real_load(path, split, fraction)

    def budget_load(self, split):
        requested.append(split)
        return real_budget_load(self, split)

    real_budget_load = Budget.load
    monkeypatch.setattr(training, "fit", fit)
    monkeypatch.setattr(data, "load_split", load_split)
    monkeypatch.setattr(Budget, "load", budget_load)
    training.run_baseline(npz, "fcn", TINY_FCN, HP, 2, [0], "1", *outputs(tmp_path / "baseline"))
    transfer.run_pretrain(npz, synthetic, "fcn", TINY_FCN, HP, 2, [0], *outputs(tmp_path / "pretrain"))
    pretrained = str(tmp_path / "pretrain" / "seed0" / "model.keras")
    transfer.run_finetune(npz, [pretrained], "fcn", HP, 2, [0], "full", "0.5", "full", {},
                          *outputs(tmp_path / "finetune"),
                          pretrained_records=[str(tmp_path / "pretrain" / "seed0" / "run.json")])
    base, pre, tuned = calls

    # TEST reaches neither phase: only train/val are read; pretraining sees the synthetic set only
    assert requested and set(requested) <= {"train", "val"}, requested
    X_syn = np.load(synthetic)["X"]
    np.testing.assert_array_equal(pre["train"][0], X_syn)
    real_train, real_val = real_load(npz, "train"), real_load(npz, "val")
    for call in (base, tuned):
        np.testing.assert_array_equal(call["train"][0], real_train[0])  # full regime: all of TRAIN
    X_test = real_load(npz, "test")[0].reshape(-1, np.prod(real_train[0].shape[1:]))
    for call in calls:
        seen = np.concatenate([call["train"][0], call["val"][0]]).reshape(-1, X_test.shape[1])
        assert not any(np.any(np.all(np.isclose(seen, case), axis=1)) for case in X_test)

    # the same cell: model, hyperparameters, seed, validation split
    for call in (pre, tuned):
        assert call["layers"] == base["layers"]
        assert call["hyper"] == base["hyper"] and call["seed"] == base["seed"] == 0
        np.testing.assert_array_equal(call["val"][0], real_val[0])
        np.testing.assert_array_equal(call["val"][1], real_val[1])
    # ... that differs in the initial weights: fine-tuning starts from the pretrained weights
    assert [w.shape for w in tuned["start"]] == [w.shape for w in base["start"]]
    assert any(not np.allclose(a, b) for a, b in zip(tuned["start"], base["start"]))
    saved = keras.models.load_model(pretrained, compile=False).get_weights()
    for start, weight in zip(tuned["start"], saved):
        np.testing.assert_array_equal(start, weight)
    records = [json.loads((tmp_path / arm / "seed0" / "run.json").read_text()) for arm in ("baseline", "finetune")]
    assert records[0]["settings"]["hyper"] == records[1]["settings"]["hyper"]
    assert records[1]["pretrained"] == pretrained
    # run sizes and GAN seeds: pretrain's n_train is the synthetic set's cases; finetune names the pretrain's GAN seed
    pre_record = json.loads((tmp_path / "pretrain" / "seed0" / "run.json").read_text())
    assert (pre_record["gan_seed"], pre_record["n_train"], pre_record["n_val"]) == (0, len(X_syn), len(real_val[1]))
    assert pre_record["synthetic"] == synthetic and pre_record["inputs"] == [npz, synthetic]
    assert (records[1]["gan_seed"], records[1]["n_train"], records[1]["n_val"]) == (0, len(real_train[1]),
                                                                                   len(real_val[1]))
    assert "gan_seed" not in records[0]


def test_each_seed_pretrains_on_its_gan_seeds_set_and_only_moved_seeds_retrain(files, tmp_path):
    """Seeds 0, 1, 2 on one GAN seed, then on gan.seeds [0, 1]: only seed 1 (now on set 1) is retrained."""
    npz, synthetic = files
    other = tmp_path / "gseed1.npz"
    with np.load(synthetic) as archive:  # a second synthetic set, as another GAN seed would make
        np.savez(other, X=archive["X"][::-1] * 0.9, y=archive["y"][::-1])
    folder = tmp_path / "pretrain"
    outs = [[str(folder / f"seed{s}" / name) for s in (0, 1, 2)] for name in ("model.keras", "history.tsv", "run.json")]
    hp = {**HP, "epochs": 1}
    first = transfer.run_pretrain(npz, [synthetic] * 3, "fcn", TINY_FCN, hp, 2, [0, 1, 2], *outs, gan_seeds=[0, 0, 0])
    assert first == {0: "trained", 1: "trained", 2: "trained"}
    before = {s: json.loads((folder / f"seed{s}" / "run.json").read_text()) for s in (0, 1, 2)}
    sets = [synthetic, str(other), synthetic]  # gan_seed_for(s, [0, 1]) for s in 0, 1, 2
    again = transfer.run_pretrain(npz, sets, "fcn", TINY_FCN, hp, 2, [0, 1, 2], *outs, gan_seeds=[0, 1, 0])
    assert again == {0: "reused", 1: "trained", 2: "reused"}
    after = {s: json.loads((folder / f"seed{s}" / "run.json").read_text()) for s in (0, 1, 2)}
    assert [after[s]["gan_seed"] for s in (0, 1, 2)] == [0, 1, 0]
    assert after[1]["inputs"] == [npz, str(other)] and after[1]["n_train"] == len(np.load(other)["y"])
    assert after[0] == before[0] and after[2] == before[2]
    assert after[1]["fingerprint"] != before[1]["fingerprint"]
    with pytest.raises(ValueError, match="3 seeds but 2 synthetic sets"):
        transfer.run_pretrain(npz, sets[:2], "fcn", TINY_FCN, hp, 2, [0, 1, 2], *outs, gan_seeds=[0, 1, 0])


@pytest.fixture
def pretrained_model(files):
    runtime.configure(1)
    runtime.seed_everything(5)
    npz, _ = files
    return networks.build("fcn", real_shape(npz), 4, TINY_FCN)


def real_shape(npz):
    return data.load_split(npz, "val")[0].shape[1:]


def feature_weights(model):
    """The trainable weights below the head (BatchNorm's moving statistics move without gradients)."""
    return [np.array(w.numpy()) for layer in model.layers if layer.name != networks.HEAD
            for w in layer.trainable_weights + layer.non_trainable_weights if "moving" not in w.path]


def test_freeze_then_unfreeze_trains_a_new_head_on_a_frozen_extractor(files, pretrained_model):
    npz, _ = files
    train, val = data.load_split(npz, "train"), data.load_split(npz, "val")
    hyper = training.Hyper(0.01, 8, 3, 2)
    features = feature_weights(pretrained_model)
    old_head = pretrained_model.get_layer(networks.HEAD).get_weights()[0].copy()
    runtime.seed_everything(0)
    frozen = transfer.new_head(pretrained_model)
    transfer.set_trainable(frozen, False)
    training.compile_model(frozen, hyper.learning_rate)
    training.fit(frozen, train, val, hyper, 0, epochs=2, early_stopping=False)
    assert all(np.array_equal(a, b) for a, b in zip(features, feature_weights(frozen))), "frozen layers moved"
    assert not np.allclose(frozen.get_layer(networks.HEAD).get_weights()[0], old_head)
    model, rows, best = transfer.finetune_model(pretrained_model, train, val, hyper, 0, "freeze_then_unfreeze",
                                                freeze_epochs=2)
    assert [r["epoch"] for r in rows] == [1, 2, 3] and best == 3
    assert any(not np.array_equal(a, b) for a, b in zip(features, feature_weights(model))), "never unfrozen"


def test_discriminative_lr_slows_the_pretrained_layers(files, pretrained_model):
    npz, _ = files
    train, val = data.load_split(npz, "train"), data.load_split(npz, "val")
    features = feature_weights(pretrained_model)
    head = pretrained_model.get_layer(networks.HEAD).get_weights()[0].copy()
    model, rows, _ = transfer.finetune_model(pretrained_model, train, val, training.Hyper(0.01, 8, 2, 5), 0,
                                             "discriminative_lr", pretrained_lr_factor=1e-6)
    moved = max(np.abs(a - b).max() for a, b in zip(features, feature_weights(model)))
    assert moved < 1e-5 * 2 * len(rows) * 4  # Adam steps of at most ~lr x factor each
    assert np.abs(model.get_layer(networks.HEAD).get_weights()[0] - head).max() > 1e-3


def test_bad_synthetic_set_is_named(files, tmp_path):
    npz, _ = files
    bad = tmp_path / "synthetic.npz"
    np.savez(bad, X=np.zeros((4, 7, 6), np.float32), y=np.zeros(4, np.int64))
    with pytest.raises(ValueError, match="synthetic.npz.*shape"):
        transfer.load_synthetic(bad, 4, real_shape(npz))
    with pytest.raises(ValueError, match="unknown fine-tuning strategy"):
        transfer.finetune_model(None, None, None, training.Hyper(0.01, 8, 1, 1), 0, "linear_probe")


@pytest.mark.workflow
def test_one_cell_runs_through_every_phase(transfer_cell):
    """download -> prepare -> train_gan -> synthesize -> pretrain -> finetune -> evaluate, and the baseline arm."""
    import pandas as pd

    cell = transfer_cell / "results/metrics/BasicMotions/fcn/lr0.001-bs16-ep2"
    rows = {run: pd.read_csv(cell / run / "metrics.tsv", sep="\t").iloc[0]
            for run in ("baseline/frac1", "pretrain/jitter/frac0.5", "finetune/jitter/frac0.5/full/full")}
    assert [r["arm"] for r in rows.values()] == ["baseline", "pretrain-only", "finetune"]
    tuned = rows["finetune/jitter/frac0.5/full/full"]
    assert (tuned["generator"], tuned["fraction"], tuned["train_fraction"], tuned["regime"], tuned["strategy"]) == (
        "jitter", 0.5, 1, "full", "full")
    assert all(r["hp"] == "lr0.001-bs16-ep2" and r["seed"] == 0 for r in rows.values())
    assert pd.isna(rows["baseline/frac1"]["gan_seed"])
    assert rows["pretrain/jitter/frac0.5"]["gan_seed"] == 0 and tuned["gan_seed"] == 0
    models = transfer_cell / "results/models/BasicMotions/fcn/lr0.001-bs16-ep2"
    record = json.loads((models / "finetune/jitter/frac0.5/full/full/seed0/run.json").read_text())
    assert record["pretrained"] == "results/models/BasicMotions/fcn/lr0.001-bs16-ep2/pretrain/jitter/frac0.5/seed0/model.keras"
    assert record["gan_seed"] == 0
    synthetic = "results/synthetic/BasicMotions/jitter/frac0.5/gseed0/synthetic.npz"
    assert (transfer_cell / synthetic).is_file()
    pre_record = json.loads((models / "pretrain/jitter/frac0.5/seed0/run.json").read_text())
    assert pre_record["inputs"][1] == synthetic and pre_record["gan_seed"] == 0
    # run sizes as the run.json files record them; VAL scored beside TEST
    for run, row in rows.items():
        seed_record = json.loads((models / run / "seed0/run.json").read_text())
        assert (row["n_train_run"], row["n_val_run"]) == (seed_record["n_train"], seed_record["n_val"])
        assert 0 <= row["val_accuracy"] <= 1 and row["val_log_loss"] > 0
    assert rows["pretrain/jitter/frac0.5"]["n_train_run"] == len(np.load(transfer_cell / synthetic)["y"])


def test_a_scarce_cell_stays_inside_its_budget_in_every_phase(files, tmp_path, monkeypatch):
    npz, synthetic = files
    calls = []
    real_fit = training.fit

    def fit(model, train, val, *args, **kwargs):
        calls.append((train, val))
        return real_fit(model, train, val, *args, **kwargs)

    monkeypatch.setattr(training, "fit", fit)
    training.run_baseline(npz, "fcn", TINY_FCN, HP, 2, [0], "0.5", *outputs(tmp_path / "baseline"))
    transfer.run_pretrain(npz, synthetic, "fcn", TINY_FCN, HP, 2, [0], *outputs(tmp_path / "pretrain"), budget="0.5")
    transfer.run_finetune(npz, [str(tmp_path / "pretrain" / "seed0" / "model.keras")], "fcn", HP, 2, [0], "scarce",
                          "0.5", "full", {}, *outputs(tmp_path / "finetune"),
                          pretrained_records=[str(tmp_path / "pretrain" / "seed0" / "run.json")])
    (base_train, base_val), (pre_train, pre_val), (tuned_train, tuned_val) = calls
    budget = Budget(npz, "0.5")
    train, val = budget.load("train"), budget.load("val")
    for phase_val in (base_val, pre_val, tuned_val):  # one early-stopping split: the budget's, in its scale
        np.testing.assert_array_equal(phase_val[0], val[0])
    for phase_train in (base_train, tuned_train):
        np.testing.assert_array_equal(phase_train[0], train[0])
    np.testing.assert_array_equal(pre_train[0], budget.restandardise(np.load(synthetic)["X"]))
    assert not np.allclose(pre_train[0], np.load(synthetic)["X"])  # the synthetic set was put in the budget's scale
    for arm in ("baseline", "pretrain", "finetune"):
        record = json.loads((tmp_path / arm / "seed0" / "run.json").read_text())
        assert record["settings"]["budget"] == "0.5" and record["n_val"] == len(val[1]), arm
