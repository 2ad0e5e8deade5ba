"""Generators on real BasicMotions data: interface, fractions, divergence, synthesis."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO
from synthtl import generators as gen
from synthtl.data import fraction_index, load_split
from synthtl.generators import DivergenceError, balanced_counts, check_losses, make_generator

# A few steps of each generator, tiny networks (aeon's _get_test_params idea).
TINY = {
    "wgan": {"epochs": 2, "steps_per_epoch": 2, "batch_size": 8, "latent_dim": 4, "filters": 4, "n_critic": 2},
    "timegan": {"epochs": 1, "steps_per_epoch": 2, "batch_size": 8, "hidden_dim": 4, "num_layers": 1},
    "jitter": {},
}


@pytest.fixture(scope="module")
def npz(basicmotions_npz):
    """BasicMotions prepared from the .ts files shipped with aeon, fractions 0.5 and 1."""
    out = basicmotions_npz.parent
    return out / "prepared.npz"


@pytest.fixture(scope="module")
def tf_runtime():
    from synthtl import runtime

    runtime.configure(2)


@pytest.mark.parametrize("name", ["wgan", "timegan", "jitter"])
def test_generator_fits_and_samples_shape_labels_and_balance(name, npz, tmp_path, request):
    if name != "jitter":
        request.getfixturevalue("tf_runtime")
    X, y = load_split(npz, "train", fraction=0.5)
    X = X[:, :24]  # short series keep the recurrent TimeGAN fast; still real data
    model = make_generator(name, TINY[name], seed=3)
    rows = []
    history = model.fit(X, y, n_classes=4, on_epoch=rows.append)
    assert history == rows and len(rows) >= 1
    if name == "wgan":
        assert [r["step"] for r in rows] == [2, 4] and {"d_loss", "g_loss", "gp"} <= set(rows[0])
    if name == "timegan":
        assert [r["phase"] for r in rows] == ["embedding", "supervised", "joint"]

    counts = [3, 2, 2, 1]
    X_syn, y_syn = model.sample(counts)
    assert X_syn.shape == (8, 24, 6) and X_syn.dtype == np.float32
    assert y_syn.dtype == np.int64 and np.bincount(y_syn, minlength=4).tolist() == counts
    assert np.isfinite(X_syn).all()
    assert X_syn.std() > 0  # not a constant output

    model.save(tmp_path / "model")
    again = gen.load_generator(tmp_path / "model")
    X_again, y_again = again.sample(counts)
    np.testing.assert_array_equal(y_again, y_syn)
    np.testing.assert_allclose(X_again, X_syn, rtol=1e-5, atol=1e-5)


@pytest.fixture
def mixed_precision():
    """The mixed_float16 policy for one test, float32 again afterwards (other tests are unaffected)."""
    import keras

    from synthtl import runtime

    runtime.configure(2, mixed_precision=True)
    yield
    keras.mixed_precision.set_global_policy("float32")
    assert keras.mixed_precision.global_policy().name == "float32"


@pytest.mark.parametrize("name", ["wgan", "timegan"])
def test_generator_trains_and_samples_float32_under_mixed_precision(name, npz, tmp_path, mixed_precision):
    import json

    X, y = load_split(npz, "train", fraction=0.5)
    X = X[:, :24]
    model = make_generator(name, {**TINY[name], "epochs": 1, "steps_per_epoch": 2}, seed=3)
    rows = model.fit(X, y, n_classes=4)
    network = model.network if name == "wgan" else model.sampler
    dtypes = {layer.compute_dtype for layer in network.layers if layer.trainable_weights}
    assert "float16" in dtypes  # the policy really was in effect ...
    assert network.outputs[0].dtype == "float32"  # ... but the series come out in float32
    losses = [v for row in rows for k, v in row.items() if k not in ("epoch", "step", "phase", "seconds")]
    assert losses and np.isfinite(losses).all()
    X_syn, y_syn = model.sample([2, 1, 1, 1])
    assert X_syn.shape == (5, 24, 6) and X_syn.dtype == np.float32 and np.isfinite(X_syn).all()
    assert X_syn.std() > 0
    model.save(tmp_path / "model")
    assert json.loads((tmp_path / "model" / gen.SPEC_FILE).read_text())["mixed_precision"] is True


def test_same_seed_same_generator(npz, tf_runtime):
    X, y = load_split(npz, "train", fraction=0.5)
    samples = []
    for seed in (5, 5, 6):
        model = make_generator("wgan", TINY["wgan"], seed=seed)
        model.fit(X, y, n_classes=4)
        samples.append(model.sample(2)[0])
    np.testing.assert_array_equal(samples[0], samples[1])
    assert not np.allclose(samples[0], samples[2])


class Recording:
    """Wraps a generator class so that tests see exactly the arrays fit receives."""

    received: list = []

    @classmethod
    def wrap(cls, base):
        class Recorded(base):
            def fit(self, X, y, n_classes=None, on_epoch=None):
                cls.received.append((X.copy(), y.copy()))
                return super().fit(X, y, n_classes=n_classes, on_epoch=on_epoch)

        return Recorded


def test_a_gan_fed_one_fraction_sees_only_that_fractions_cases(npz, tmp_path, monkeypatch, tf_runtime):
    real_class = gen.generator_class
    monkeypatch.setattr(gen, "generator_class", lambda name: Recording.wrap(real_class(name)))
    Recording.received.clear()
    gen.train_generator(npz, "BasicMotions", "wgan", "0.5", {**TINY["wgan"], "epochs": 1}, 0,
                        tmp_path / "model", tmp_path / "history.tsv")
    (X, y), = Recording.received
    with np.load(npz) as data:
        index = fraction_index(npz, 0.5)
        X_train, y_train = data["X_train"], data["y_train"]
        others = np.concatenate([np.delete(X_train, index, axis=0), data["X_val"], data["X_test"]])
    shift, scale = X_train[index].mean(axis=(0, 1)), X_train[index].std(axis=(0, 1))  # the fraction's own scale
    np.testing.assert_allclose(X, (X_train[index] - shift) / scale, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(X.mean(axis=(0, 1)), 0, atol=1e-5)
    np.testing.assert_allclose(X.std(axis=(0, 1)), 1, atol=1e-4)
    np.testing.assert_array_equal(y, y_train[index])
    assert len(X) < len(X_train)
    flat = X.reshape(len(X), 1, -1)
    nearest = np.abs(flat - ((others - shift) / scale).reshape(1, len(others), -1)).max(axis=2).min(axis=0)
    assert (nearest > 1e-3).all()  # no case outside the fraction is among what the generator received


def test_diverging_training_stops_with_dataset_generator_fraction_and_step(npz, tmp_path, tf_runtime):
    broken = {**TINY["wgan"], "epochs": 3, "learning_rate": 1.0e12, "max_abs_loss": 1.0e4}
    with pytest.raises(DivergenceError) as caught:
        gen.train_generator(npz, "BasicMotions", "wgan", "0.5", broken, 0, tmp_path / "model", tmp_path / "h.tsv")
    message = str(caught.value)
    assert "BasicMotions/wgan/frac0.5" in message and "at step " in message
    assert not (tmp_path / "model").exists() and not (tmp_path / "h.tsv").exists()


@pytest.mark.parametrize("value, kind", [(float("nan"), "NaN"), (float("inf"), "infinite"), (2e6, "beyond")])
def test_check_losses_names_the_loss_and_step(value, kind):
    check_losses({"d_loss": 1.0, "g_loss": -3.0}, 5, 1e6)  # healthy losses pass
    with pytest.raises(DivergenceError, match=rf"g_loss is {kind}.* at step 7"):
        check_losses({"d_loss": 1.0, "g_loss": value}, 7, 1e6)


def test_synthesize_writes_a_class_balanced_set_of_the_configured_size(npz, tmp_path):
    gen.train_generator(npz, "BasicMotions", "jitter", "0.5", {}, 0, tmp_path / "model", tmp_path / "h.tsv")
    out = tmp_path / "synthetic.npz"
    gen.synthesize(tmp_path / "model", npz, 1.5, out)
    X_train, _ = load_split(npz, "train")
    with np.load(out) as data:
        X, y, classes = data["X"], data["y"], data["classes"]
    with np.load(npz) as data:
        assert classes.tolist() == data["classes"].tolist()
    n = round(1.5 * len(X_train))
    assert X.shape == (n, *X_train.shape[1:]) and X.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y).tolist() == balanced_counts(n, 4).tolist()
    assert np.bincount(y).max() - np.bincount(y).min() <= 1
    again = tmp_path / "again.npz"
    gen.synthesize(tmp_path / "model", npz, 1.5, again)
    with np.load(out) as a, np.load(again) as b:  # seeded: same config, same numbers
        np.testing.assert_array_equal(a["X"], b["X"])


def test_synthesize_refuses_a_generator_of_another_shape(npz, tmp_path):
    X, y = load_split(npz, "train", fraction=0.5)
    model = make_generator("jitter", {}, 0)
    model.fit(X[:, :50], y, n_classes=4)
    model.save(tmp_path / "model")
    with pytest.raises(ValueError, match=r"shape \(50, 6\).*retrain"):
        gen.synthesize(tmp_path / "model", npz, 1.0, tmp_path / "synthetic.npz")
    assert not (tmp_path / "synthetic.npz").exists()


def test_unknown_generator_names_the_config_key():
    with pytest.raises(ValueError, match="unknown generator 'vae'.*gan.generators"):
        make_generator("vae", {}, 0)


def test_jitter_path_does_not_import_tensorflow(npz, tmp_path):
    code = (
        "import sys; sys.path.insert(0, 'workflow/scripts');"
        "from synthtl.generators import train_generator, synthesize;"
        f"train_generator(r'{npz}', 'BasicMotions', 'jitter', '1', {{}}, 0, r'{tmp_path}/m', r'{tmp_path}/h.tsv', threads=1);"
        f"synthesize(r'{tmp_path}/m', r'{npz}', 1.0, r'{tmp_path}/s.npz', threads=1);"
        "print('TF' if 'tensorflow' in sys.modules else 'noTF')"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("noTF")
