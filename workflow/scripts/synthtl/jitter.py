"""The non-GAN control: real fraction cases with noise, scaling and window warping.

Plain NumPy (no TensorFlow), so its jobs start fast. Augmentations follow Um et al. 2017
(jitter, scaling) and Le Guennec et al. 2016 (window warping).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from synthtl.generators import Generator


def window_warp(series: np.ndarray, ratio: float, rng: np.random.Generator) -> np.ndarray:
    """Stretch (x2) or squeeze (x0.5) one random window of `ratio` x length, then resample back to the length."""
    length = len(series)
    width = int(round(ratio * length))
    if width < 2 or length < 4:
        return series
    start = int(rng.integers(0, length - width + 1))
    factor = rng.choice([0.5, 2.0])
    window = series[start:start + width]
    new_width = max(2, int(round(width * factor)))
    warped = _resample(window, new_width)
    joined = np.concatenate([series[:start], warped, series[start + width:]])
    return _resample(joined, length)


def _resample(series: np.ndarray, length: int) -> np.ndarray:
    old = np.linspace(0.0, 1.0, len(series))
    new = np.linspace(0.0, 1.0, length)
    return np.stack([np.interp(new, old, series[:, c]) for c in range(series.shape[1])], axis=1)


class JitterGenerator(Generator):
    """Augmented copies of the real cases it was fitted on: warping, per-channel scaling, Gaussian noise."""

    name = "jitter"

    def __init__(self, seed: int = 0, sigma: float = 0.03, scale_sigma: float = 0.1, warp_ratio: float = 0.1):
        super().__init__(seed, sigma=float(sigma), scale_sigma=float(scale_sigma), warp_ratio=float(warp_ratio))
        self.X: np.ndarray | None = None
        self.y: np.ndarray | None = None

    def fit(self, X: np.ndarray, y: np.ndarray, n_classes: int | None = None,
            on_epoch: Callable[[dict], None] | None = None) -> list[dict]:
        """Keep the real cases; the history has one row (nothing is trained)."""
        self._remember(X, y, n_classes)
        self.X, self.y = np.asarray(X, dtype=np.float32).copy(), np.asarray(y, dtype=np.int64).copy()
        missing = sorted(set(range(self.n_classes)) - set(self.y.tolist()))
        if missing:
            raise ValueError(f"jitter: no real case of class(es) {missing} to augment")
        row = {"epoch": 1, "n_cases": int(len(X))}
        if on_epoch is not None:
            on_epoch(row)
        return [row]

    def augment(self, series: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One augmented copy of a (time, channels) series."""
        s = self.settings
        out = window_warp(series.astype(np.float64), s["warp_ratio"], rng) if s["warp_ratio"] > 0 else series
        out = out * rng.normal(1.0, s["scale_sigma"], size=(1, series.shape[1]))
        return out + rng.normal(0.0, s["sigma"], size=series.shape)

    def sample(self, n_per_class: int | Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Per class, cycle through its real cases in a seeded order, augmenting each copy."""
        counts = self._counts(n_per_class)
        rng = np.random.default_rng(self.seed)
        X_out, y_out = [], []
        for c, n in enumerate(counts):
            pool = np.flatnonzero(self.y == c)
            order = np.concatenate([rng.permutation(pool) for _ in range(-(-int(n) // len(pool)))])[:n]
            X_out.extend(self.augment(self.X[i], rng) for i in order)
            y_out.extend([c] * int(n))
        perm = rng.permutation(len(y_out))
        X = np.asarray(X_out, dtype=np.float32).reshape(-1, *self.shape)[perm]
        return X, np.asarray(y_out, dtype=np.int64)[perm]

    def save(self, folder: str | Path) -> None:
        """generator.json and the real cases it augments (cases.npz)."""
        folder = self._write_spec(folder)
        np.savez_compressed(folder / "cases.npz", X=self.X, y=self.y)

    @classmethod
    def load(cls, folder: str | Path) -> "JitterGenerator":
        """Read a jitter generator written by save."""
        generator = cls._from_spec(folder)
        with np.load(Path(folder) / "cases.npz") as data:
            generator.X, generator.y = data["X"], data["y"]
        return generator
