"""Discriminative score of "perfect generators", class mix ignored (as before) and class-matched (now).

    .venv/bin/python benchmarks/quality_scores.py [--fractions 0.5] [--repeats 5] [--noise 0.01]

For each UEA dataset in the shared mirror (../shared/uea/*.zip, unpacked to a temporary
folder and prepared with the project's own parser), a generator "fitted" on TRAIN's GAN
fraction returns real cases of that fraction plus Gaussian noise (sd --noise, on
z-normalised data), class-balanced, in two ways:

- distinct: per class, the same number of the fraction's cases (the smallest class's count),
  each once: independent draws from the real distribution, a perfect generator;
- resampled: n_train cases, class-balanced, drawn with replacement: a resampler whose
  repeated cases a classifier can learn to recognise.

Each set is scored against the real cases quality.py picks (discriminative_real: held-out
VAL + TRAIN outside the fraction, or the fraction's TRAIN cases when too few held-out cases
match), with the same seed, twice:

- unmatched: every case given one label, so real and synthetic cases are drawn without
  regard to class (the pre-matching procedure; before it, the real side was all of TRAIN);
- matched: quality.discriminative_score as quality.json reports it.

Prints one row per dataset and fraction (n_pool: the real cases drawn from; max/min: their
largest over smallest class count), and the mean of each column. 0 = indistinguishable.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow" / "scripts"))

from synthtl import quality  # noqa: E402
from synthtl.data import prepare, write_prepared  # noqa: E402
from synthtl.fetch import unpack  # noqa: E402
from dataset_table import MAX_BYTES  # noqa: E402

SHARED_UEA = REPO.parent / "shared" / "uea"
SETTINGS = {"length": "resample", "target_length": "max", "missing": "interpolate", "val_fraction": 0.2,
            "min_per_class": 1, "seed": 0}


def prepared(zip_path: Path, folder: Path) -> Path:
    """prepared.npz of one shared zip, written under `folder`."""
    name = zip_path.stem
    unpack(zip_path, name, folder, MAX_BYTES)
    arrays, meta = prepare(folder / f"{name}_TRAIN.ts", folder / f"{name}_TEST.ts", name, dict(SETTINGS))
    write_prepared(arrays, meta, folder / "prepared.npz", folder / "meta.json")
    return folder / "prepared.npz"


def perfect_generator(X_seen: np.ndarray, y_seen: np.ndarray, n: int | None, noise: float, seed: int):
    """Class-balanced seen cases plus Gaussian noise: n drawn with replacement, or (n None) each at most once."""
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(y_seen, return_counts=True)
    if n is None:
        index = np.concatenate([rng.choice(np.flatnonzero(y_seen == c), counts.min(), replace=False) for c in classes])
    else:
        index = np.array([rng.choice(np.flatnonzero(y_seen == c)) for c in np.resize(classes, n)])
    return X_seen[index] + rng.normal(0, noise, X_seen[index].shape).astype(np.float32), y_seen[index]


def main(fractions: list[str], repeats: int, noise: float, seed: int) -> None:
    zips = sorted(SHARED_UEA.glob("*.zip"))
    if not zips:
        raise SystemExit(f"no UEA zips in {SHARED_UEA}")
    print(f"{'':<56}{'distinct':^19}  {'resampled':^19}")
    print(f"{'dataset':<26} {'frac':>4} {'source':<14} {'n_pool':>6} {'max/min':>7} "
          + f"{'unmatched':>10} {'matched':>8} " * 2)
    rows = []
    start = time.perf_counter()
    for zip_path in zips:
        with tempfile.TemporaryDirectory() as tmp:
            npz = prepared(zip_path, Path(tmp))
            for fraction in fractions:
                real = quality.real_splits(npz, fraction)
                row = []
                for n in (None, len(real["train"][1])):
                    X_syn, y_syn = perfect_generator(*real["seen"], n, noise, seed)
                    source, (X_real, y_real) = quality.discriminative_real(real, y_syn)
                    for labels in (0 * y_real, y_real):  # one label for all (unmatched), then the classes
                        syn_labels = y_syn if labels is y_real else 0 * y_syn
                        row.append(quality.discriminative_score(X_real, labels, X_syn, syn_labels, seed,
                                                                repeats)["discriminative_score"])
                counts = np.bincount(y_real)
                counts = counts[counts > 0]
                rows.append(row)
                print(f"{zip_path.stem:<26} {fraction:>4} {source:<14} {len(y_real):>6} "
                      f"{counts.max() / counts.min():>7.1f} " + " ".join(f"{v:>10.3f}" if i % 2 == 0 else f"{v:>8.3f} "
                                                                            for i, v in enumerate(row)), flush=True)
    means = np.mean(rows, axis=0)
    print(f"{'mean':<26} {'':>4} {'':<14} {'':>6} {'':>7} "
          + " ".join(f"{v:>10.3f}" if i % 2 == 0 else f"{v:>8.3f} " for i, v in enumerate(means)))
    print(f"({time.perf_counter() - start:.0f} s; noise sd {noise}, {repeats} repeats, seed {seed})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fractions", nargs="+", default=["0.5"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--noise", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(args.fractions, args.repeats, args.noise, args.seed)
