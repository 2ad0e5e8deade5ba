"""What the workflow does to each dataset: length handling, classes and cases at each fraction, validation sizes.

    .venv/bin/python benchmarks/dataset_table.py [--mirror ../shared/uea] [--fractions 0.1 0.25 0.5 1]

Each {dataset}.zip of the mirror folder is unpacked to a temporary folder and prepared with
the project's own code and config/config.yaml's prepare settings (synthtl.data.prepare); the
scarce regime's budget of each fraction is synthtl.budget.Budget. Prints one markdown row per
dataset: the archive's length range and what prepare makes of it (and the length TimeGAN
trains at, gan.timegan.max_length), then per fraction the training cases / classes kept, and
the validation cases of the full regime (always all of VAL) and of the scarce one.

--published adds the paper datasets missing from the mirror, from their published sizes
(Bagnall et al. 2018) with equal class sizes assumed (marked ≈): the same splitting code run
on balanced labels, so a row is exact when the classes are balanced.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow" / "scripts"))

from synthtl.budget import Budget, val_subset  # noqa: E402
from synthtl.data import fraction_ranks, fraction_subset, prepare, validation_split, write_prepared  # noqa: E402
from synthtl.fetch import unpack  # noqa: E402
from synthtl.memory import training_length  # noqa: E402

MAX_BYTES = 500 * 2 ** 20  # source.max_mb's default


def describe(zip_path: Path, folder: Path, settings: dict, fractions: list[float], max_length: int) -> str:
    name = zip_path.stem
    unpack(zip_path, name, folder, MAX_BYTES)
    arrays, meta = prepare(folder / f"{name}_TRAIN.ts", folder / f"{name}_TEST.ts", name, dict(settings), fractions)
    write_prepared(arrays, meta, folder / "prepared.npz", folder / "meta.json")
    low, high, length = meta["original_min_length"], meta["original_max_length"], meta["length"]
    handling = f"{length}" if low == high == length else f"{low}-{high} → {settings['length']} to {length}"
    trained = training_length(length, max_length)
    cells = []
    for fraction in fractions:
        budget = Budget(folder / "prepared.npz", fraction)
        y_train = arrays["y_train"][budget.train_index]
        cells.append(f"{len(y_train)} / {len(np.unique(y_train))} · {len(budget.val_index)}")
    return (f"| {name} | {meta['n_train_total']} | {meta['n_classes']} | {meta['n_channels']} | {handling} | "
            f"{trained if trained < length else '='} | {meta['n_val']} | " + " | ".join(cells) + " |")


# The paper datasets not in the shared mirror: TRAIN cases, classes, channels, length (all equal-length).
PUBLISHED = {"Handwriting": (150, 26, 3, 152), "Libras": (180, 15, 2, 45), "LSST": (2459, 14, 6, 36),
             "PenDigits": (7494, 10, 2, 8), "StandWalkJump": (12, 3, 4, 2500),
             "UWaveGestureLibrary": (120, 8, 3, 315)}


def describe_published(name: str, settings: dict, fractions: list[float], max_length: int) -> str:
    n_total, n_classes, channels, length = PUBLISHED[name]
    rng = np.random.default_rng(settings["seed"])
    y = np.arange(n_total) % n_classes
    val = validation_split(y, settings["val_fraction"], rng)
    y_val, y_train = y[val], np.delete(y, val)
    train_rank, val_rank = fraction_ranks(y_train, rng), fraction_ranks(y_val, rng)
    cells = []
    for fraction in fractions:
        kept = fraction_subset(y_train, train_rank, fraction, settings["min_per_class"], name, range(n_classes))
        scarce_val = len(y_val) if fraction == 1 else len(val_subset(y_val, val_rank, fraction))
        cells.append(f"≈{len(kept)} / {len(np.unique(y_train[kept]))} · ≈{scarce_val}")
    trained = training_length(length, max_length)
    return (f"| {name} | {n_total} | {n_classes} | {channels} | {length} | {trained if trained < length else '='} | "
            f"≈{len(y_val)} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=REPO.parent / "shared" / "uea")
    parser.add_argument("--fractions", nargs="+", type=float, default=[0.1, 0.25, 0.5, 1.0])
    parser.add_argument("--published", action="store_true", help="add the paper datasets missing from the mirror")
    args = parser.parse_args()
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    max_length = config["gan"]["timegan"].get("max_length", 256)
    zips = sorted(args.mirror.glob("*.zip"))
    if not zips:
        raise SystemExit(f"no {{dataset}}.zip in {args.mirror}")
    print("| dataset | TRAIN | classes | channels | length | TimeGAN length | VAL (full) | "
          + " | ".join(f"f={f:g}: train / classes · VAL (scarce)" for f in args.fractions) + " |")
    print("|---" * (7 + len(args.fractions)) + "|")
    for zip_path in zips:
        with tempfile.TemporaryDirectory() as tmp:
            print(describe(zip_path, Path(tmp), config["prepare"], args.fractions, max_length), flush=True)
    if args.published:
        for name in sorted(set(PUBLISHED) - {p.stem for p in zips}):
            print(describe_published(name, config["prepare"], args.fractions, max_length))


if __name__ == "__main__":
    main()
