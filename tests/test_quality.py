"""Quality scores on real data: they separate what should be separated and nothing else."""

from __future__ import annotations

import json

import numpy as np
import pytest

from synthtl import quality
from synthtl.data import load_split, prepare, write_prepared
from synthtl.fetch import embedded_dir

SETTINGS = {"length": "resample", "target_length": "max", "missing": "interpolate", "val_fraction": 0.2,
            "min_per_class": 1, "seed": 0}


def _prepared(tmp_path_factory, name):
    folder = embedded_dir(name)
    arrays, meta = prepare(folder / f"{name}_TRAIN.ts", folder / f"{name}_TEST.ts", name, dict(SETTINGS), [1.0])
    out = tmp_path_factory.mktemp(name)
    write_prepared(arrays, meta, out / "prepared.npz", out / "meta.json")
    return out / "prepared.npz"


@pytest.fixture(scope="module")
def basic(tmp_path_factory):
    return _prepared(tmp_path_factory, "BasicMotions")


@pytest.fixture(scope="module")
def vowels(tmp_path_factory):
    return _prepared(tmp_path_factory, "JapaneseVowels")


def test_real_against_real_is_indistinguishable(vowels):
    X, _ = load_split(vowels, "train")
    order = np.random.default_rng(0).permutation(len(X))
    half = len(X) // 2
    score = quality.discriminative_score(X[order[:half]], X[order[half:]], seed=0)
    assert score["discriminative_score"] < 0.12, score


def test_identical_copies_are_never_told_apart_above_chance(basic):
    # Copies of the real cases are not separated (accuracy <= chance); a copy's twin with the
    # other label in the other half even pulls accuracy below 0.5, which |acc - 0.5| counts
    # as distinguishable: memorised copies are not a good synthetic set (documented in quality.py).
    X, _ = load_split(basic, "train")
    score = quality.discriminative_score(X, X.copy(), seed=0)
    assert score["discriminative_accuracy"] <= 0.5


def test_noise_against_real_is_trivially_separable(basic):
    X, _ = load_split(basic, "train")
    noise = np.random.default_rng(1).standard_normal(X.shape).astype(np.float32)
    score = quality.discriminative_score(X, noise, seed=0)
    assert score["discriminative_score"] > 0.4 and score["discriminative_accuracy"] > 0.9


def test_tstr_of_real_as_synthetic_is_high_and_of_shuffled_labels_is_low(basic):
    X, y = load_split(basic, "train")
    X_val, y_val = load_split(basic, "val")
    assert quality.accuracy(X, y, X_val, y_val, seed=0) >= 0.9
    shuffled = np.random.default_rng(0).permutation(y)
    assert quality.accuracy(X, shuffled, X_val, y_val, seed=0) < 0.75


def test_class_distances_measure_mean_and_spread():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 10, 2))
    y = np.repeat([0, 1], 20)
    means, stds = quality.class_distances(X, y, X + 1.0, y, ["a", "b"])
    assert means["a"] == pytest.approx(1.0) and means["mean"] == pytest.approx(1.0)
    assert stds["b"] == pytest.approx(0.0, abs=1e-9)
    means, stds = quality.class_distances(X, y, X * 3.0, y, ["a", "b"])
    assert stds["mean"] > 1.0
    means, _ = quality.class_distances(X, y, X[:20], y[:20], ["a", "b"])
    assert means["b"] is None and means["mean"] == pytest.approx(0.0)


def test_write_quality_reads_only_train_and_val(basic, tmp_path, monkeypatch):
    X, y = load_split(basic, "train")
    synthetic = tmp_path / "synthetic.npz"
    noisy = X + np.random.default_rng(0).normal(0, 0.05, X.shape).astype(np.float32)
    np.savez(synthetic, X=np.concatenate([noisy, noisy]), y=np.concatenate([y, y]))
    splits = []
    real_load = quality.load_split

    def spy(path, split, fraction=None):
        splits.append(split)
        return real_load(path, split, fraction)

    monkeypatch.setattr(quality, "load_split", spy)
    paths = {k: tmp_path / f"{k}.{ext}" for k, ext in
             (("quality", "json"), ("samples", "png"), ("embedding", "png"), ("embedding_svg", "svg"))}
    quality.write_quality(basic, synthetic, paths["quality"], paths["samples"], paths["embedding"],
                          paths["embedding_svg"], seed=0, title="test")
    assert set(splits) == {"train", "val"}
    report = json.loads(paths["quality"].read_text())
    for key in ("tstr_accuracy", "discriminative_score", "class_mean_distance", "class_std_distance", "n_synthetic"):
        assert key in report
    assert report["n_synthetic"] == 2 * len(X)
    assert report["tstr_accuracy"] >= 0.9
    assert set(report["class_mean_distance"]) == {"Badminton", "Running", "Standing", "Walking", "mean"}
    assert paths["samples"].read_bytes()[:4] == b"\x89PNG" and paths["embedding"].read_bytes()[:4] == b"\x89PNG"
    assert b"<svg" in paths["embedding_svg"].read_bytes()[:500]
