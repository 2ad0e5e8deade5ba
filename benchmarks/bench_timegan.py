"""Time per TimeGAN training iteration: synthtl's conditional TimeGAN against tsgm's TimeGAN; and on long series.

Usage:  .venv/bin/python benchmarks/bench_timegan.py [--epochs 12 --threads 2]
        .venv/bin/python benchmarks/bench_timegan.py --lengths [--epochs 3 --threads 1]

--lengths: time per step and peak memory of synthtl's TimeGAN on series of 30, 300 and
2,500 steps, before (max_length = the series' length: every step through the recurrent
networks, the code path before the setting existed) and after (max_length 256: trained at
256 steps, sampled at 256 and interpolated back). Data: the first 8 BasicMotions TRAIN cases
(6 channels) linearly resampled to each length. Sizes: Yoon et al.'s hidden 24 and 3 GRU
layers, batch 16 (128 in the paper config; memory and time grow with it). Each configuration
runs in a fresh process (peak RSS from resource.getrusage, and the RSS after imports and data,
before the networks are built); time per step is the median per phase with the first
(tracing) step of each phase dropped. The table also prints synthtl.timegan.estimate_memory_mb
for each configuration, which these measurements calibrate.

The reference is tsgm (https://github.com/AlexanderVNikitin/tsgm), a TF2/Keras port of
Yoon et al.'s TimeGAN, installed in its own virtualenv (it pins its own dependencies):

    python3.11 -m venv benchmarks/.venv-tsgm
    benchmarks/.venv-tsgm/bin/pip install tsgm tensorflow-cpu==2.21.0 "pandas<3"  # its statsmodels pin breaks on pandas 3

Both run in one invocation of this script, each in a fresh subprocess with the same number
of TensorFlow threads, on the same data (BasicMotions TRAIN, as prepared by synthtl, cut
into windows of 24 steps — Yoon et al.'s default sequence length — and min-max scaled) and
at the same sizes (sequence length, channels, hidden units, GRU layers, batch size). Each
implementation is fitted once for E iterations of each of its three phases; the time of
every iteration is recorded (synthtl: its per-epoch history with one step per epoch;
tsgm: timestamps taken around its own training loops, which are left untouched). The
first iteration of each phase (tracing) is dropped, the median of the rest taken per
phase (robust to other processes on a shared machine) and the three medians summed: the
time of one iteration = one step of each phase. Ratio = synthtl / tsgm; target <= 1.0.

Measured on 2 shared cores (load ~8), --epochs 10: synthtl 398 ms per iteration (embedding
33 ms, supervised 18 ms, joint 347 ms), tsgm 7517 ms (76 ms, 43 ms, 7398 ms): 0.05x; on the
two simple phases alone ~0.4x. tsgm's joint loop is not retracing (2 traces per function);
it evaluates the discriminator check eagerly every iteration (recurrent nets run op by op)
and builds a new tf.data noise pipeline for every batch, which synthtl's single compiled
train_step avoids.

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


def _phase_medians(times: dict[str, list[float]]) -> dict[str, float]:
    import numpy as np

    return {phase: float(np.median(values[1:])) for phase, values in times.items()}


def run_ours(data: Path, epochs: int, threads: int) -> dict[str, float]:
    """Median seconds per step of each phase of synthtl's TimeGAN (first step of a phase dropped)."""
    sys.path.insert(0, str(REPO / "workflow" / "scripts"))
    import numpy as np

    from synthtl import runtime
    from synthtl.timegan import TimeGANGenerator

    runtime.configure(threads, deterministic=False)  # the reference runs without op determinism
    with np.load(data) as d:
        X, y = d["X"], d["y"]
    model = TimeGANGenerator(seed=0, epochs=epochs, steps_per_epoch=1, batch_size=BATCH, hidden_dim=HIDDEN,
                             num_layers=LAYERS)
    times: dict[str, list[float]] = {}
    for row in model.fit(X, y, n_classes=int(y.max()) + 1):
        times.setdefault(row["phase"], []).append(row["seconds"])
    return _phase_medians(times)


def run_reference(data: Path, epochs: int, threads: int) -> dict[str, float]:
    """Median seconds per iteration of each of tsgm's three training loops (first dropped)."""
    import contextlib
    import io
    import os

    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    import tsgm
    import tsgm.models.timeGAN as module

    times: dict[str, list[float]] = {}

    def timed(iterable, desc=""):  # stands in for tqdm around each of tsgm's loops
        laps = times.setdefault(desc, [])
        last = time.perf_counter()
        for item in iterable:
            yield item
            now = time.perf_counter()
            laps.append(now - last)
            last = now

    module.tqdm = timed
    with np.load(data) as d:
        X = d["X"]
    tf.keras.utils.set_random_seed(0)
    model = tsgm.models.timeGAN.TimeGAN(seq_len=SEQ_LEN, module="gru", hidden_dim=HIDDEN, n_features=X.shape[2],
                                        n_layers=LAYERS, batch_size=BATCH)
    model.compile()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        model.fit(X, epochs=epochs)  # prints model summaries
    return _phase_medians(times)


LONG_LENGTHS, LONG_CASES, LONG_BATCH, LONG_MAX_LENGTH = (30, 300, 2500), 8, 16, 256


def run_long(length: int, max_length: int, epochs: int, threads: int) -> dict:
    """One fit of synthtl's TimeGAN on BasicMotions resampled to `length`: per-phase step time, peak RSS, estimate."""
    import resource

    sys.path.insert(0, str(REPO / "workflow" / "scripts"))
    import numpy as np

    from synthtl import runtime
    from synthtl.data import prepare
    from synthtl.fetch import embedded_dir
    from synthtl.timegan import TimeGANGenerator, estimate_memory_mb

    runtime.configure(threads)
    folder = embedded_dir("BasicMotions")
    settings = {"length": "resample", "target_length": "max", "missing": "interpolate", "val_fraction": 0.2,
                "min_per_class": 1, "seed": 0}
    arrays, _ = prepare(folder / "BasicMotions_TRAIN.ts", folder / "BasicMotions_TEST.ts", "BasicMotions",
                        settings, [1.0])
    X, y = arrays["X_train"][:LONG_CASES], arrays["y_train"][:LONG_CASES]
    grid = np.linspace(0, X.shape[1] - 1, length)
    X = np.stack([[np.interp(grid, np.arange(X.shape[1]), case[:, c]) for c in range(X.shape[2])] for case in X])
    X = X.transpose(0, 2, 1).astype(np.float32)
    base_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    gan_settings = {"epochs": epochs, "steps_per_epoch": 1, "batch_size": LONG_BATCH, "hidden_dim": HIDDEN,
                    "num_layers": LAYERS, "max_length": max_length}
    model = TimeGANGenerator(seed=0, **gan_settings)
    times: dict[str, list[float]] = {}
    for row in model.fit(X, y, n_classes=4):
        times.setdefault(row["phase"], []).append(row["seconds"])
    X_syn, _ = model.sample(2)
    assert X_syn.shape == (8, length, X.shape[2]), X_syn.shape
    return {"phases": _phase_medians(times), "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "base_mb": base_mb, "estimate_mb": estimate_memory_mb(len(X), length, X.shape[2], gan_settings)}


def long_series(epochs: int, threads: int) -> None:
    """The --lengths table: before/after per length, with ratios after / before."""
    print(f"TimeGAN on long series: {LONG_CASES} cases x 6 channels, hidden {HIDDEN}, layers {LAYERS}, batch "
          f"{LONG_BATCH}, {epochs} steps per phase (first dropped), {threads} thread(s)", flush=True)
    header = (f"{'length':>6} {'path':>6} {'trained':>7} {'embed ms':>9} {'superv ms':>9} {'joint ms':>9} "
              f"{'step ms':>8} {'peak MB':>8} {'above base':>10} {'estimate':>8}")
    print(header, flush=True)
    ratios = []
    for length in LONG_LENGTHS:
        results = {}
        for path, max_length in (("before", length), ("after", LONG_MAX_LENGTH)):
            command = [sys.executable, __file__, "--worker", "long", "--length", str(length), "--max-length",
                       str(max_length), "--epochs", str(epochs), "--threads", str(threads)]
            done = subprocess.run(command, capture_output=True, text=True, timeout=3600)
            if done.returncode != 0:
                raise RuntimeError(f"long worker failed:\n{done.stderr[-3000:]}")
            r = results[path] = json.loads(done.stdout.strip().splitlines()[-1])
            r["step"] = sum(r["phases"].values())
            ph = r["phases"]
            print(f"{length:>6} {path:>6} {min(length, max_length):>7} {ph['embedding'] * 1e3:>9.1f} "
                  f"{ph['supervised'] * 1e3:>9.1f} {ph['joint'] * 1e3:>9.1f} {r['step'] * 1e3:>8.1f} "
                  f"{r['peak_mb']:>8.0f} {r['peak_mb'] - r['base_mb']:>10.0f} {r['estimate_mb']:>8.0f}", flush=True)
        before, after = results["before"], results["after"]
        ratios.append((length, after["step"] / before["step"], after["peak_mb"] / before["peak_mb"],
                       (after["peak_mb"] - after["base_mb"]) / max(before["peak_mb"] - before["base_mb"], 1.0)))
    print("after / before:")
    for length, time_ratio, peak_ratio, above_ratio in ratios:
        print(f"  length {length:>5}: time per step {time_ratio:.2f}x, peak memory {peak_ratio:.2f}x "
              f"(above base {above_ratio:.2f}x)")


def measure(python: Path, which: str, data: Path, epochs: int, threads: int) -> dict[str, float]:
    """Run one fit in a fresh process of `python`; median seconds per step of each phase."""
    command = [str(python), __file__, "--worker", which, "--data", str(data), "--epochs", str(epochs),
               "--threads", str(threads)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        raise RuntimeError(f"{which} worker failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12, help="iterations of each phase")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--worker", choices=["ours", "reference", "long"])
    parser.add_argument("--data")
    parser.add_argument("--lengths", action="store_true", help="time and memory on series of 30, 300 and 2,500 steps")
    parser.add_argument("--length", type=int)
    parser.add_argument("--max-length", type=int)
    args = parser.parse_args()
    if args.worker == "long":
        print(json.dumps(run_long(args.length, args.max_length, args.epochs, args.threads)))
        return
    if args.lengths:
        long_series(args.epochs, args.threads)
        return
    if args.worker:
        run = run_ours if args.worker == "ours" else run_reference
        print(json.dumps(run(Path(args.data), args.epochs, args.threads)))
        return
    if not REFERENCE_PYTHON.is_file():
        sys.exit(f"no reference environment at {REFERENCE_PYTHON}; create it as the docstring says")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "windows.npz"
        make_data(data)
        per_iteration = {}
        for which, python in (("ours", Path(sys.executable)), ("reference", REFERENCE_PYTHON)):
            phases = measure(python, which, data, args.epochs, args.threads)
            per_iteration[which] = sum(phases.values())
            detail = ", ".join(f"{phase}: {seconds * 1000:.1f} ms" for phase, seconds in phases.items())
            print(f"{which:9s}: {per_iteration[which] * 1000:.1f} ms per iteration ({detail})", flush=True)
    ratio = per_iteration["ours"] / per_iteration["reference"]
    print(f"sizes: seq_len {SEQ_LEN}, hidden {HIDDEN}, layers {LAYERS}, batch {BATCH}, threads {args.threads}, "
          f"{args.epochs} iterations per phase")
    print(f"time per TimeGAN iteration, synthtl / tsgm: {ratio:.2f}x (target <= 1.0)")


if __name__ == "__main__":
    main()
