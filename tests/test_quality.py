"""Quality scores on real data: they separate what should be separated and nothing else."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from synthtl import quality
from synthtl.data import fraction_index, load_split, prepare, write_prepared
from synthtl.fetch import embedded_dir

SETTINGS = {"length": "resample", "target_length": "max", "missing": "interpolate", "val_fraction": 0.2,
            "min_per_class": 1, "seed": 0}
FIGURES = (("quality", "json"), ("samples", "png"), ("embedding", "png"), ("embedding_svg", "svg"))


def _prepared(tmp_path_factory, name, **settings):
    folder = embedded_dir(name)
    arrays, meta = prepare(folder / f"{name}_TRAIN.ts", folder / f"{name}_TEST.ts", name,
                           {**SETTINGS, **settings}, [1.0])
    out = tmp_path_factory.mktemp(name)
    write_prepared(arrays, meta, out / "prepared.npz", out / "meta.json")
    return out / "prepared.npz"


def _without_test(npz, out):
    """A copy of prepared.npz without X_test and y_test: quality must not need them."""
    with np.load(npz) as data:
        arrays = {k: data[k] for k in data.files if k not in ("X_test", "y_test")}
    np.savez(out, **arrays)
    return out


def _noisy_copies(npz, path, seed=0, sd=0.05):
    """synthetic.npz: the TRAIN cases twice over with a little noise (a near-perfect generator of TRAIN)."""
    X, y = load_split(npz, "train")
    noisy = X + np.random.default_rng(seed).normal(0, sd, X.shape).astype(np.float32)
    np.savez(path, X=np.concatenate([noisy, noisy]), y=np.concatenate([y, y]))
    return path


def _write(npz, synthetic, folder, **kwargs):
    paths = {k: folder / f"{k}.{ext}" for k, ext in FIGURES}
    quality.write_quality(npz, synthetic, paths["quality"], paths["samples"], paths["embedding"],
                          paths["embedding_svg"], seed=0, title="test", **kwargs)
    return json.loads(paths["quality"].read_text()), paths


@pytest.fixture(scope="module")
def basic(tmp_path_factory):
    return _prepared(tmp_path_factory, "BasicMotions")


@pytest.fixture(scope="module")
def vowels(tmp_path_factory):
    return _prepared(tmp_path_factory, "JapaneseVowels")


@pytest.fixture(scope="module")
def vowels_pool():
    """Every JapaneseVowels series (both files) as one pool of real cases for the score's own tests."""
    folder = embedded_dir("JapaneseVowels")
    arrays, _ = prepare(folder / "JapaneseVowels_TRAIN.ts", folder / "JapaneseVowels_TEST.ts", "JapaneseVowels",
                        dict(SETTINGS))
    return (np.concatenate([arrays[f"X_{s}"] for s in ("train", "val", "test")]),
            np.concatenate([arrays[f"y_{s}"] for s in ("train", "val", "test")]))


def test_real_against_real_is_indistinguishable(vowels):
    X, y = load_split(vowels, "train")
    order = np.random.default_rng(0).permutation(len(X))
    a, b = order[: len(X) // 2], order[len(X) // 2:]
    score = quality.discriminative_score(X[a], y[a], X[b], y[b], seed=0)
    assert score["discriminative_score"] < 0.12, score


def test_identical_copies_are_never_told_apart_above_chance(basic):
    # Copies of the real cases are not separated (accuracy <= chance); a copy's twin with the
    # other label in the other half even pulls accuracy below 0.5, which |acc - 0.5| counts
    # as distinguishable: memorised copies are not a good synthetic set (documented in quality.py).
    X, y = load_split(basic, "train")
    score = quality.discriminative_score(X, y, X.copy(), y.copy(), seed=0)
    assert score["discriminative_accuracy"] <= 0.5


def test_noise_against_real_is_trivially_separable(basic):
    X, y = load_split(basic, "train")
    noise = np.random.default_rng(1).standard_normal(X.shape).astype(np.float32)
    score = quality.discriminative_score(X, y, noise, y, seed=0)
    assert score["discriminative_score"] > 0.4 and score["discriminative_accuracy"] > 0.9


def test_a_perfect_generator_scores_near_zero_on_imbalanced_real_data(vowels_pool):
    """Real cases in shares .7/.1/.1/.1 against a class-balanced "perfect generator": other real
    cases of the same classes (disjoint, without replacement) with a tiny noise.

    Class-matched, it scores 0.023 on average over these 3 seeds (0.017, 0.015, 0.037); the
    same draw with the class labels ignored (one label for all, as before matching) scores
    0.142, because the class mix alone tells real from synthetic. The pre-matching code
    itself (git ef032e5, discriminative_score(real, synthetic, seed)) scored 0.156 here
    (0.156, 0.167, 0.144), and 0.195 over 4 seeds on 35/5/5/5 real against 25 per class
    resampled with replacement.
    """
    X, y = vowels_pool
    matched, unmatched = [], []
    for seed in range(3):
        rng = np.random.default_rng(seed)
        real, synthetic = [], []
        for c, k in ((2, 70), (0, 10), (1, 10), (3, 10)):  # class 2 has 118 cases, the others 60-75
            order = rng.permutation(np.flatnonzero(y == c))
            real.append(order[:k])
            synthetic.append(order[k: k + 45])
        real, synthetic = np.concatenate(real), np.concatenate(synthetic)
        X_syn = X[synthetic] + rng.normal(0, 0.01, X[synthetic].shape).astype(np.float32)
        matched.append(quality.discriminative_score(X[real], y[real], X_syn, y[synthetic], seed)["discriminative_score"])
        one_label = quality.discriminative_score(X[real], 0 * y[real], X_syn, 0 * y[synthetic], seed)
        unmatched.append(one_label["discriminative_score"])
    assert np.mean(matched) < 0.08, matched
    assert np.mean(unmatched) > 0.1, unmatched


def test_the_discriminative_draw_matches_classes(monkeypatch):
    rng = np.random.default_rng(0)
    real, y_real = rng.standard_normal((14, 12, 2)), np.r_[np.zeros(10, int), np.ones(3, int), 2 * np.ones(1, int)]
    synthetic, y_syn = rng.standard_normal((12, 12, 2)), np.repeat([0, 1, 3], 4)
    folds = []
    monkeypatch.setattr(quality, "accuracy", lambda X_fit, y_fit, X_eval, y_eval, seed: folds.append(
        (X_fit, y_fit, X_eval, y_eval)) or 0.5)
    score = quality.discriminative_score(real, y_real, synthetic, y_syn, seed=0, repeats=3)
    assert score["discriminative_n_real"] == 4 + 3  # class 0: min(10, 4), class 1: min(3, 4); 2 and 3 unmatched
    assert len(folds) == 6
    class_of = {row.tobytes(): c for X, labels in ((real, y_real), (synthetic, y_syn)) for row, c in zip(X, labels)}
    for X_fit, y_fit, X_eval, y_eval in folds:
        for X, is_real in ((X_fit, y_fit), (X_eval, y_eval)):
            classes = np.array([class_of[row.tobytes()] for row in X])
            for c in (0, 1):
                assert (is_real[classes == c] == 1).sum() == (is_real[classes == c] == 0).sum()
            assert set(classes) <= {0, 1}
        assert len(X_fit) + len(X_eval) == 14


def test_tstr_of_real_as_synthetic_is_high_and_of_shuffled_labels_is_low(basic):
    X, y = load_split(basic, "train")
    X_val, y_val = load_split(basic, "val")
    assert quality.accuracy(X, y, X_val, y_val, seed=0) >= 0.9
    shuffled = np.random.default_rng(0).permutation(y)
    assert quality.accuracy(X, shuffled, X_val, y_val, seed=0) < 0.75


def test_balanced_accuracy_weighs_classes_equally():
    y_true = np.r_[np.zeros(8, int), np.ones(2, int)]
    assert quality.balanced_accuracy(y_true, np.zeros(10, int)) == pytest.approx(0.5)
    assert quality.balanced_accuracy(y_true, y_true) == pytest.approx(1.0)


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


def test_held_out_real_cases_are_val_and_the_train_cases_outside_the_fraction(basic):
    X_train, _ = load_split(basic, "train")
    X_val, _ = load_split(basic, "val")
    real = quality.real_splits(basic, "0.5")
    seen = fraction_index(basic, 0.5)
    rows = lambda X: {x.tobytes() for x in X}  # noqa: E731
    assert rows(real["seen"][0]) == rows(X_train[seen])
    assert rows(real["heldout"][0]) == rows(X_val) | (rows(X_train) - rows(X_train[seen]))
    assert not rows(real["heldout"][0]) & rows(real["seen"][0])
    assert np.array_equal(real["heldout"][0][: len(X_val)], X_val)
    full = quality.real_splits(basic, 1)
    assert np.array_equal(full["heldout"][0], X_val) and len(full["seen"][1]) == len(X_train)


def test_write_quality_reads_only_train_and_val(basic, tmp_path, monkeypatch):
    # The scores come out of a prepared.npz that has no TEST arrays at all, and only the
    # train and val splits are asked for.
    npz = _without_test(basic, tmp_path / "prepared.npz")
    synthetic = _noisy_copies(npz, tmp_path / "synthetic.npz")
    splits = []
    real_load = quality.load_split

    def spy(path, split, fraction=None):
        splits.append(split)
        return real_load(path, split, fraction)

    monkeypatch.setattr(quality, "load_split", spy)
    report, paths = _write(npz, synthetic, tmp_path, fraction="1")
    assert set(splits) == {"train", "val"}
    n_train, n_val = len(load_split(basic, "train")[1]), len(load_split(basic, "val")[1])
    for key in ("tstr_accuracy", "tstr_balanced_accuracy", "tstr_val_accuracy", "tstr_insample_accuracy",
                "trtr_accuracy", "trtr_val_accuracy", "discriminative_score", "discriminative_accuracy",
                "class_mean_distance", "class_std_distance", "n_synthetic"):
        assert key in report
    assert report["n_synthetic"] == 2 * n_train
    assert report["tstr_heldout_n"] == n_val == report["n_real_val"] and report["n_real_seen"] == n_train
    assert report["tstr_accuracy"] == report["tstr_val_accuracy"] >= 0.75
    assert report["tstr_insample_accuracy"] >= 0.9
    assert 0.0 <= report["tstr_balanced_accuracy"] <= 1.0 and 0.0 <= report["discriminative_score"] <= 0.5
    # VAL holds 2 cases per class: too few to score on, so the seen TRAIN cases are used, and said so.
    assert report["discriminative_real_source"] == "train_fraction" and report["discriminative_n_real"] == n_train
    assert report["gan_fraction"] == "1"
    assert set(report["class_mean_distance"]) == {"Badminton", "Running", "Standing", "Walking", "mean"}
    assert paths["samples"].read_bytes()[:4] == b"\x89PNG" and paths["embedding"].read_bytes()[:4] == b"\x89PNG"
    assert b"<svg" in paths["embedding_svg"].read_bytes()[:500]


def test_a_fraction_is_scored_on_the_cases_its_generator_never_saw(basic, tmp_path):
    seen = fraction_index(basic, 0.5)
    X_train, y_train = load_split(basic, "train")
    n_val = len(load_split(basic, "val")[1])
    synthetic = tmp_path / "synthetic.npz"
    np.savez(synthetic, X=X_train[seen], y=y_train[seen])  # the generator returns what it saw
    report, _ = _write(basic, synthetic, tmp_path, fraction="0.5")
    assert report["n_real_seen"] == len(seen)
    assert report["tstr_heldout_n"] == n_val + len(X_train) - len(seen)
    assert report["tstr_insample_accuracy"] == 1.0  # fitted and scored on the same cases
    assert report["discriminative_real_source"] == "heldout"
    assert report["discriminative_n_real"] == len(seen)  # 4 per class of the 16 copies, matched to held-out cases
    again, _ = _write(basic, synthetic, tmp_path, fraction="0.5")
    assert again == report  # same seed, same numbers


@pytest.mark.parametrize("length", [8, 2048])
def test_any_series_length_is_scored(tmp_path_factory, tmp_path, length):
    # PenDigits has 8 time steps, below MiniRocket's 9 (real and synthetic are padded for
    # it); long series must not blow up time or memory. BasicMotions resampled to each length.
    npz = _prepared(tmp_path_factory, "BasicMotions", target_length=length)
    assert load_split(npz, "train")[0].shape[1] == length
    synthetic = _noisy_copies(npz, tmp_path / "synthetic.npz", sd=0.1)
    start = time.perf_counter()
    report, _ = _write(npz, synthetic, tmp_path, fraction="0.5")
    elapsed = time.perf_counter() - start
    assert 0.0 <= report["discriminative_score"] <= 0.5
    assert report["tstr_accuracy"] > 0.5  # well above chance (0.25) even at 8 steps
    assert elapsed < 120, elapsed
