"""Every network builds and trains two epochs on tiny real data (BasicMotions)."""

from __future__ import annotations

import numpy as np
import pytest

from synthtl import networks, runtime, training
from synthtl.data import load_split

# aeon's _get_test_params idea: 4 filters / 8 units, two epochs.
TINY = {
    "fcn": ("fcn", {"filters": [4, 4, 4], "kernel_sizes": [8, 5, 3]}),
    "resnet": ("resnet", {"filters": [4, 4, 4], "kernel_sizes": [8, 5, 3]}),
    "gru": ("gru", {"units": 8, "layers": 2}),
    "lstm": ("lstm", {"units": 8, "layers": 2}),
    "gru-bidirectional": ("gru", {"units": 8, "layers": 2, "bidirectional": True, "dropout": 0.1}),
}


@pytest.fixture(scope="module")
def npz(basicmotions_npz):
    """BasicMotions prepared from the .ts files shipped with aeon."""
    out = basicmotions_npz.parent
    runtime.configure(2)
    return out / "prepared.npz"


@pytest.mark.parametrize("name", list(TINY))
def test_network_builds_and_trains_two_epochs(npz, name):
    model_name, settings = TINY[name]
    train, val = load_split(npz, "train"), load_split(npz, "val")
    runtime.seed_everything(0)
    model = networks.build(model_name, train[0].shape[1:], 4, settings)
    assert model.output_shape == (None, 4)
    assert model.get_layer(networks.FEATURES) is not None and model.get_layer(networks.HEAD).units == 4
    hyper = training.Hyper(learning_rate=0.01, batch_size=8, epochs=2, patience=5)
    training.compile_model(model, hyper.learning_rate)
    before = [w.copy() for w in model.get_weights()]
    rows = training.fit(model, train, val, hyper, seed=0)
    assert [r["epoch"] for r in rows] == [1, 2]
    assert all(np.isfinite(r[k]) for r in rows for k in training.HISTORY_COLUMNS)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights())), "no weight changed"
    proba = model.predict(val[0], verbose=0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def test_unknown_model_or_setting_names_the_config_key():
    with pytest.raises(ValueError, match="classifier.models"):
        networks.build("transformer", (10, 2), 3)
    with pytest.raises(ValueError, match="classifier.networks.fcn"):
        networks.build("fcn", (10, 2), 3, {"units": 8})
    with pytest.raises(ValueError, match="filters .* kernel_sizes"):
        networks.build_fcn((10, 2), 3, filters=[4, 4], kernel_sizes=[3])
