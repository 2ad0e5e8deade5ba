"""Time per TimeGAN training iteration: synthtl's conditional TimeGAN against tsgm's TimeGAN.

Usage:  .venv/bin/python benchmarks/bench_timegan.py [--epochs-short 3 --epochs-long 13 --threads 2]

The reference is tsgm (https://github.com/AlexanderVNikitin/tsgm), a TF2/Keras port of
Yoon et al.'s TimeGAN, installed in its own virtualenv (it pins its own dependencies):

    python3.11 -m venv benchmarks/.venv-tsgm
    benchmarks/.venv-tsgm/bin/pip install tsgm tensorflow-cpu==2.21.0 "pandas<3"  # its statsmodels pin breaks on pandas 3

Both run in one invocation of this script, each in a fresh subprocess with the same number
of TensorFlow threads, on the same data (BasicMotions TRAIN, as prepared by synthtl, cut
into windows of 24 steps — Yoon et al.'s default sequence length — and min-max scaled) and
at the same sizes (sequence length, channels, hidden units, GRU layers, batch size). Each
implementation is fitted twice, for E_short and E_long iterations of each of the three
phases; (t_long - t_short) / (E_long - E_short) is the time per iteration (one step of
each phase) with tracing and set-up cancelled out. Ratio = synthtl / tsgm; target <= 1.0.

Sizes differ only where the original does: synthtl's supervisor has num_layers - 1 GRU
layers, as in Yoon et al.'s code; tsgm's has num_layers. synthtl's TimeGAN is also
class-conditional (one-hot labels joined to three networks' inputs), tsgm's is not.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REFERENCE_PYTHON = REPO / "benchmarks" / ".venv-tsgm" / "bin" / "python"
SEQ_LEN, HIDDEN, LAYERS, BATCH = 24, 24, 3, 32


def make_data(path: Path) -> None:
    """BasicMotions TRAIN windows of SEQ_LEN steps, min-max scaled, with their labels."""
    sys.path.insert(0, str(REPO / "workflow" / "scripts"))
    import numpy as np

    from synthtl.data import prepare
    from synthtl.fetch import embedded_dir

    folder = embedded_dir("BasicMotions")
    settings = {"length": "resample", "target_length": "max", "missing": "interpolate", "val_fraction": 0.2,
                "min_per_class": 1, "seed": 0}
    arrays, _ = prepare(folder / "BasicMotions_TRAIN.ts", folder / "BasicMotions_TEST.ts", "BasicMotions",
                        settings, [1.0])
    X, y = arrays["X_train"], arrays["y_train"]
    starts = range(0, X.shape[1] - SEQ_LEN + 1, SEQ_LEN // 2)
    windows = np.concatenate([X[:, s:s + SEQ_LEN] for s in starts])
    labels = np.concatenate([y for _ in starts])
    low, high = windows.min(axis=(0, 1)), windows.max(axis=(0, 1))
    np.savez(path, X=((windows - low) / (high - low + 1e-7)).astype(np.float32), y=labels)


def run_ours(data: Path, epochs: int, threads: int) -> float:
    """Seconds of one fit of synthtl's TimeGAN for `epochs` iterations of each phase."""
    sys.path.insert(0, str(REPO / "workflow" / "scripts"))
    import numpy as np

    from synthtl import runtime
    from synthtl.timegan import TimeGANGenerator

    runtime.configure(threads, deterministic=False)  # the reference runs without op determinism
    with np.load(data) as d:
        X, y = d["X"], d["y"]
    model = TimeGANGenerator(seed=0, epochs=epochs, steps_per_epoch=1, batch_size=BATCH, hidden_dim=HIDDEN,
                             num_layers=LAYERS)
    started = time.perf_counter()
    model.fit(X, y, n_classes=int(y.max()) + 1)
    return time.perf_counter() - started


def run_reference(data: Path, epochs: int, threads: int) -> float:
    """Seconds of one fit of tsgm's TimeGAN for `epochs` iterations of each phase."""
    import contextlib
    import io
    import os

    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    import tsgm

    with np.load(data) as d:
        X = d["X"]
    tf.keras.utils.set_random_seed(0)
    model = tsgm.models.timeGAN.TimeGAN(seq_len=SEQ_LEN, module="gru", hidden_dim=HIDDEN, n_features=X.shape[2],
                                        n_layers=LAYERS, batch_size=BATCH)
    model.compile()
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        model.fit(X, epochs=epochs)  # prints model summaries and progress bars
    return time.perf_counter() - started


def measure(python: Path, which: str, data: Path, epochs: int, threads: int) -> float:
    """Run one fit in a fresh process of `python` and return its seconds."""
    command = [str(python), __file__, "--worker", which, "--data", str(data), "--epochs", str(epochs),
               "--threads", str(threads)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise RuntimeError(f"{which} worker failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs-short", type=int, default=3)
    parser.add_argument("--epochs-long", type=int, default=13)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--worker", choices=["ours", "reference"])
    parser.add_argument("--data")
    parser.add_argument("--epochs", type=int)
    args = parser.parse_args()
    if args.worker:
        run = run_ours if args.worker == "ours" else run_reference
        print(json.dumps({"seconds": run(Path(args.data), args.epochs, args.threads)}))
        return
    if not REFERENCE_PYTHON.is_file():
        sys.exit(f"no reference environment at {REFERENCE_PYTHON}; create it as the docstring says")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "windows.npz"
        make_data(data)
        per_iteration = {}
        for which, python in (("ours", Path(sys.executable)), ("reference", REFERENCE_PYTHON)):
            short = measure(python, which, data, args.epochs_short, args.threads)
            long = measure(python, which, data, args.epochs_long, args.threads)
            per_iteration[which] = (long - short) / (args.epochs_long - args.epochs_short)
            print(f"{which:9s}: fit({args.epochs_short}) {short:.1f} s, fit({args.epochs_long}) {long:.1f} s, "
                  f"{per_iteration[which] * 1000:.1f} ms per iteration", flush=True)
    ratio = per_iteration["ours"] / per_iteration["reference"]
    print(f"sizes: seq_len {SEQ_LEN}, hidden {HIDDEN}, layers {LAYERS}, batch {BATCH}, threads {args.threads}")
    print(f"time per TimeGAN iteration, synthtl / tsgm: {ratio:.2f}x (target <= 1.0)")


if __name__ == "__main__":
    main()
