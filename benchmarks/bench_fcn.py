"""Fit time of our FCN against aeon's FCNClassifier, same data, epochs and batch size, in one run.

    .venv/bin/python benchmarks/bench_fcn.py [--epochs 100] [--batch-size 16] [--threads 1]

Both fit the same prepared BasicMotions training split (aeon's shipped .ts files) with the
same architecture (FCN 128-256-128, kernels 8-5-3), Adam at 0.001, the same epochs and
batch size, in the same process and TensorFlow thread pools. Ours also evaluates the
validation split every epoch (early stopping is off here so both run every epoch); aeon's
checkpoints its best model to disk, as it does by default. Prints the times and the ratio
ours / aeon (target: <= 0.9).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))

from synthtl import networks, runtime, training  # noqa: E402
from synthtl.data import load_split, prepare, write_prepared  # noqa: E402
from synthtl.fetch import embedded_dir  # noqa: E402

SETTINGS = {"length": "resample", "target_length": "max", "missing": "interpolate", "val_fraction": 0.2,
            "min_per_class": 1, "seed": 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    runtime.configure(args.threads)
    from aeon.classification.deep_learning import FCNClassifier  # noqa: PLC0415

    folder = embedded_dir("BasicMotions")
    with tempfile.TemporaryDirectory() as tmp:
        arrays, meta = prepare(folder / "BasicMotions_TRAIN.ts", folder / "BasicMotions_TEST.ts", "BasicMotions",
                               SETTINGS, [1.0])
        write_prepared(arrays, meta, Path(tmp) / "prepared.npz", Path(tmp) / "meta.json")
        train, val = load_split(Path(tmp) / "prepared.npz", "train"), load_split(Path(tmp) / "prepared.npz", "val")

        # aeon: (cases, channels, time), its default callbacks, same epochs and batch size
        aeon = FCNClassifier(n_epochs=args.epochs, batch_size=args.batch_size, random_state=0, file_path=f"{tmp}/")
        start = time.perf_counter()
        aeon.fit(train[0].transpose(0, 2, 1), train[1])
        aeon_s = time.perf_counter() - start

        # ours: build, compile, fit with per-epoch validation (patience > epochs: no early stop)
        runtime.seed_everything(0)
        start = time.perf_counter()
        model = networks.build_fcn(train[0].shape[1:], 4, filters=(128, 256, 128), kernel_sizes=(8, 5, 3))
        hyper = training.Hyper(0.001, args.batch_size, args.epochs, patience=args.epochs + 1)
        training.compile_model(model, hyper.learning_rate)
        rows = training.fit(model, train, val, hyper, seed=0)
        ours_s = time.perf_counter() - start
    assert len(rows) == args.epochs
    print(f"BasicMotions FCN, {args.epochs} epochs, batch {args.batch_size}, {args.threads} thread(s), "
          f"{len(train[1])} training cases")
    print(f"aeon FCNClassifier fit: {aeon_s:.2f} s")
    print(f"synthtl FCN fit:        {ours_s:.2f} s (with validation every epoch)")
    print(f"ratio ours/aeon: {ours_s / aeon_s:.2f} (target <= 0.9)")


if __name__ == "__main__":
    main()
