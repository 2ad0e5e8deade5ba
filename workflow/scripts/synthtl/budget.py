"""What a researcher holding only a fraction f of the labelled data has: the scarce regime's view of prepared.npz.

The budget of fraction f is
- its training cases: the nested, stratified fraction f of the train split (data.fraction_subset,
  the cases the generator of fraction f is trained on), and
- its validation cases: the nested, stratified fraction f of the validation split (at least one
  case of every class the validation split holds), so the budget keeps prepare.val_fraction of
  its cases for early stopping and model choice, as the full data do.

Normalisation comes out of the budget too. prepared.npz stores every split standardised per
channel with the mean and SD of the full train split. Standardisation is affine per channel, so
standardising the stored arrays again with the mean and SD of the budget's training cases (taken
on the stored arrays) gives exactly the raw series standardised with the budget's own statistics:
no number from outside the budget enters a run. Every split a scarce run sees (its train and val,
its synthetic sets, TEST when it is scored) goes through the same map.

`fraction` None or 1 is the full data: the stored splits, unchanged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from synthtl.data import PrepareError, _fraction_index, scaling, standardise
from synthtl.naming import fmt_frac


def is_full(fraction: str | float | None) -> bool:
    return fraction is None or float(fraction) == 1.0


def val_subset(y_val: np.ndarray, val_rank: np.ndarray, fraction: float) -> np.ndarray:
    """Indices of the budget's validation cases: per class, the round(f·n) lowest-ranked, at least one (when any)."""
    chosen = []
    for c in np.unique(y_val):
        members = y_val == c
        n = int(members.sum())
        k = min(n, max(1, int(round(float(fraction) * n))))
        chosen.append(np.flatnonzero(members & (val_rank < k)))
    return np.sort(np.concatenate(chosen)).astype(np.int64) if chosen else np.zeros(0, dtype=np.int64)


class Budget:
    """The splits of prepared.npz as a run with budget `fraction` sees them (see the module docstring)."""

    def __init__(self, npz_path: str | Path, fraction: str | float | None):
        self.npz_path, self.full = str(npz_path), is_full(fraction)
        self.fraction = None if self.full else fmt_frac(float(fraction))
        with np.load(npz_path, allow_pickle=False) as data:
            if self.full:  # every stored case, in the stored scale
                self.train_index, self.val_index = np.arange(len(data["y_train"])), np.arange(len(data["y_val"]))
                return
            self.train_index = _fraction_index(data, self.fraction)
            if "val_rank" not in data.files:
                raise PrepareError(f"{npz_path}: prepared before the scarce regime kept its own validation cases "
                                   f"(no val_rank); prepare it again: snakemake --forcerun prepare")
            self.val_index = val_subset(data["y_val"], data["val_rank"], float(self.fraction))
            self.shift, self.scale = scaling(data["X_train"][self.train_index])

    def load(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """X, y of 'train', 'val' or 'test' (only synthtl.metrics asks for 'test'), in the budget's scale."""
        with np.load(self.npz_path, allow_pickle=False) as data:
            X, y = data[f"X_{split}"], data[f"y_{split}"]
        index = {"train": self.train_index, "val": self.val_index}.get(split)
        if index is not None:
            X, y = X[index], y[index]
        return (X, y) if self.full else (standardise(X, self.shift, self.scale), y)

    def restandardise(self, X: np.ndarray) -> np.ndarray:
        """Series in prepared.npz's scale (a synthetic set) in the budget's scale."""
        return X if self.full else standardise(X, self.shift, self.scale)

    def setting(self) -> dict:
        """The run.json setting naming a scarce run's budget; none for the full data (older runs stay reusable)."""
        return {} if self.full else {"budget": self.fraction}
