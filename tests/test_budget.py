"""The scarce regime's data budget: a fraction of train AND of val, standardised with its own statistics."""

from __future__ import annotations

import json

import numpy as np
import pytest

from synthtl import generators as gen
from synthtl.budget import Budget
from synthtl.data import PrepareError, fraction_index, load_split


def raw(data, split):
    """A split back in the series' own units (prepared.npz stores them standardised with full-TRAIN statistics)."""
    return data[f"X_{split}"].astype(np.float64) * data["norm_std"] + data["norm_mean"]


def test_a_budget_holds_the_fraction_of_train_and_of_val(basicmotions_npz):
    with np.load(basicmotions_npz) as data:
        y_val = data["y_val"]
    half, quarter = Budget(basicmotions_npz, 0.5), Budget(basicmotions_npz, "0.25")
    np.testing.assert_array_equal(half.train_index, fraction_index(basicmotions_npz, 0.5))
    per_class = np.bincount(y_val[half.val_index], minlength=4)
    assert per_class.tolist() == [max(1, round(0.5 * n)) for n in np.bincount(y_val, minlength=4)]
    assert len(half.val_index) < len(y_val)
    assert set(quarter.val_index) <= set(half.val_index) and (np.bincount(y_val[quarter.val_index]) >= 1).all()
    X_val, y = half.load("val")
    assert len(X_val) == len(half.val_index) and (y == y_val[half.val_index]).all()
    assert (len(half.train_index), len(half.val_index)) == (16, 4)
    assert half.setting() == {"budget": "0.5"}


def test_every_split_is_standardised_with_the_budgets_own_statistics(basicmotions_npz):
    budget = Budget(basicmotions_npz, 0.5)
    with np.load(basicmotions_npz) as data:
        fit = raw(data, "train")[budget.train_index]
        mean, sd = fit.mean(axis=(0, 1)), fit.std(axis=(0, 1))
        expected = {"train": (fit - mean) / sd, "val": (raw(data, "val")[budget.val_index] - mean) / sd,
                    "test": (raw(data, "test") - mean) / sd}
    for split, X in expected.items():
        np.testing.assert_allclose(budget.load(split)[0], X, rtol=1e-4, atol=1e-4, err_msg=split)
    train = budget.load("train")[0]
    np.testing.assert_allclose(train.mean(axis=(0, 1)), 0, atol=1e-5)
    np.testing.assert_allclose(train.std(axis=(0, 1)), 1, atol=1e-4)


def test_cases_outside_the_budget_change_nothing_a_scarce_run_sees(basicmotions_npz, tmp_path):
    budget = Budget(basicmotions_npz, 0.5)
    with np.load(basicmotions_npz) as data:
        arrays = {key: data[key] for key in data.files}
    rng = np.random.default_rng(0)
    for split, index in (("train", budget.train_index), ("val", budget.val_index)):
        outside = np.setdiff1d(np.arange(len(arrays[f"y_{split}"])), index)
        assert len(outside) > 0
        arrays[f"X_{split}"] = arrays[f"X_{split}"].copy()
        arrays[f"X_{split}"][outside] = 100 * rng.standard_normal(arrays[f"X_{split}"][outside].shape)
    np.savez(tmp_path / "changed.npz", **arrays)
    changed = Budget(tmp_path / "changed.npz", 0.5)
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(changed.load(split)[0], budget.load(split)[0], err_msg=split)


@pytest.mark.parametrize("fraction", [None, 1.0, "1"])
def test_the_full_budget_is_the_stored_splits(basicmotions_npz, fraction):
    full = Budget(basicmotions_npz, fraction)
    for split in ("train", "val", "test"):
        X, y = load_split(basicmotions_npz, split)
        np.testing.assert_array_equal(full.load(split)[0], X)
        np.testing.assert_array_equal(full.load(split)[1], y)
    X = load_split(basicmotions_npz, "train")[0]
    assert full.restandardise(X) is X and full.setting() == {} and full.fraction is None


def test_a_file_prepared_before_budgets_says_to_prepare_again(basicmotions_npz, tmp_path):
    with np.load(basicmotions_npz) as data:
        np.savez(tmp_path / "old.npz", **{k: data[k] for k in data.files if k != "val_rank"})
    Budget(tmp_path / "old.npz", None)  # the full regime does not need it
    with pytest.raises(PrepareError, match=r"old\.npz: .*no val_rank.*--forcerun prepare"):
        Budget(tmp_path / "old.npz", 0.5)


def test_a_generator_trains_in_its_fractions_scale_and_samples_in_the_stored_one(basicmotions_npz, tmp_path):
    copies = {"sigma": 0.0, "scale_sigma": 0.0, "warp_ratio": 0.0}  # jitter without jitter: exact copies
    gen.train_generator(basicmotions_npz, "BasicMotions", "jitter", "0.5", copies, 0, tmp_path / "model",
                        tmp_path / "history.tsv")
    scaling = json.loads((tmp_path / "model" / gen.SCALING_FILE).read_text())
    X_fit = load_split(basicmotions_npz, "train", fraction=0.5)[0]
    np.testing.assert_allclose(scaling["shift"], X_fit.mean(axis=(0, 1)), atol=1e-6)
    gen.synthesize(tmp_path / "model", basicmotions_npz, 1.0, tmp_path / "synthetic.npz")
    with np.load(tmp_path / "synthetic.npz") as synthetic:
        X_syn = synthetic["X"]
    nearest = np.abs(X_syn[:, None] - X_fit[None]).max(axis=(2, 3)).min(axis=1)
    assert nearest.max() < 1e-4  # every copy is a real fraction case again, in prepared.npz's scale
