"""Generators on long series and large jobs: TimeGAN's max_length resampling, memory checks, WGAN batches."""

from __future__ import annotations

import numpy as np
import pytest

from synthtl import gan, generators as gen, timegan, timescale
from synthtl.data import load_split

TINY_TIMEGAN = {"epochs": 1, "steps_per_epoch": 2, "batch_size": 8, "hidden_dim": 4, "num_layers": 1}


@pytest.fixture(scope="module")
def npz(basicmotions_npz):
    return basicmotions_npz.parent / "prepared.npz"


@pytest.fixture(scope="module")
def tf_runtime():
    from synthtl import runtime

    runtime.configure(2)


@pytest.mark.parametrize("source, target", [(100, 10), (101, 7), (10, 100), (7, 7)])
def test_resample_matrix_is_an_area_average_down_and_an_interpolation_up(source, target):
    weights = timescale.resample_matrix(source, target)
    assert weights.shape == (target, source)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)  # a constant series stays constant
    assert (weights >= 0).all()
    ramp = np.arange(source, dtype=float)
    if target < source:  # bin j covers [j s/t, (j + 1) s/t) of the step function x -> floor(x): its mean there
        x = (np.arange(200_000) + 0.5) * source / 200_000
        bins = np.floor(x / (source / target)).astype(int)
        means = np.bincount(bins, weights=np.floor(x)) / np.bincount(bins)
        np.testing.assert_allclose(weights @ ramp, means, atol=1e-3)
    elif target > source:  # linear between source steps placed at their bin centres
        inner = weights @ ramp
        positions = (np.arange(target) + 0.5) * source / target - 0.5
        ok = (positions >= 0) & (positions <= source - 1)
        np.testing.assert_allclose(inner[ok], positions[ok], atol=1e-9)
    else:
        np.testing.assert_array_equal(weights, np.eye(source))


def test_down_then_up_keeps_a_slow_signal():
    t = np.linspace(0, 1, 2500)
    X = np.sin(2 * np.pi * 3 * t)[None, :, None].astype(np.float32)  # 3 cycles over 2,500 steps
    back = timescale.resample(timescale.resample(X, 256), 2500)
    assert back.shape == X.shape and back.dtype == np.float32
    assert np.abs(back - X)[0, 20:-20].max() < 0.01


def test_timegan_trains_at_max_length_and_samples_the_datasets_length(npz, tmp_path, tf_runtime):
    X, y = load_split(npz, "train", fraction=0.5)
    X = X[:, :40]
    model = gen.make_generator("timegan", {**TINY_TIMEGAN, "max_length": 8}, seed=1)
    model.fit(X, y, n_classes=4)
    assert model.train_length == 8
    X_syn, y_syn = model.sample([2, 2, 2, 2])
    assert X_syn.shape == (8, 40, 6) and np.isfinite(X_syn).all()
    model.save(tmp_path / "model")
    again = gen.load_generator(tmp_path / "model")
    np.testing.assert_allclose(again.sample([2, 2, 2, 2])[0], X_syn, rtol=1e-5, atol=1e-5)


def test_short_series_are_untouched_by_max_length(npz, tf_runtime):
    X, y = load_split(npz, "train", fraction=0.5)
    X = X[:, :24]
    samples = []
    for max_length in (24, 256):
        model = gen.make_generator("timegan", {**TINY_TIMEGAN, "max_length": max_length}, seed=2)
        model.fit(X, y, n_classes=4)
        samples.append(model.sample([1, 1, 1, 1])[0])
    np.testing.assert_array_equal(samples[0], samples[1])


def test_memory_estimates_grow_with_length_and_shrink_with_max_length():
    settings = {"batch_size": 128, "hidden_dim": 24, "num_layers": 3}
    long = timegan.estimate_memory_mb(40, 2500, 3, {**settings, "max_length": 2500})
    capped = timegan.estimate_memory_mb(40, 2500, 3, {**settings, "max_length": 256})
    short = timegan.estimate_memory_mb(40, 100, 3, {**settings, "max_length": 256})
    assert long > 3 * capped and capped > short
    assert gan.estimate_memory_mb(40, 2500, 3, {"batch_size": 64, "filters": 64}) > \
        gan.estimate_memory_mb(40, 100, 3, {"batch_size": 64, "filters": 64})


@pytest.mark.parametrize("name, setting", [("timegan", "gan.timegan.max_length"), ("wgan", "gan.wgan.batch_size")])
def test_a_job_too_large_for_its_memory_stops_before_training(name, setting, npz, tmp_path):
    with pytest.raises(ValueError) as caught:
        gen.train_generator(npz, "BasicMotions", name, "0.5", {}, 0, tmp_path / "model", tmp_path / "h.tsv",
                            mem_limit_mb=100)
    message = str(caught.value)
    assert message.startswith("BasicMotions/" + name + "/frac0.5/gseed0: ")
    assert "MB but the job may use 100 MB (resources mem_mb)" in message and setting in message
    assert not (tmp_path / "model").exists() and not (tmp_path / "h.tsv").exists()


def test_each_critic_step_gets_its_own_real_batch():
    X = np.arange(40, dtype=np.float32).reshape(40, 1, 1)
    y = np.zeros(40, dtype=np.int64)
    reals, labels = next(iter(gan.real_batches(X, y, batch_size=8, seed=0, group=5)))
    assert tuple(reals.shape) == (5, 8, 1, 1) and tuple(labels.shape) == (5, 8)
    cases = reals.numpy().ravel()
    assert len(set(cases.tolist())) == 40  # five critic steps: five disjoint batches of one shuffled epoch
