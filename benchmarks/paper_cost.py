"""Expected device-hours and job count of config/paper.yaml, from step times measured on this machine.

    .venv/bin/python benchmarks/paper_cost.py [--datasets ...] [--epochs 3] [--gan-steps 2] [--threads 1]
        [--epoch-share 1.0]

Shapes: each paper dataset's TRAIN split as prepared (from ../shared/uea when it is there,
else the published sizes of benchmarks/dataset_table.PUBLISHED, marked ≈); the data are
random, because only shape matters for time. For each paper network (config/paper.yaml's
sizes) and batch size of its grid, `--epochs` epochs of synthtl.training.fit on the full
training split are timed (the first, with tracing, dropped) -> seconds per optimiser step.
For wgan and timegan at paper.yaml's settings, two epochs of `--gan-steps` steps each are
timed the same way (timegan: its three phases summed).

Then paper.yaml is multiplied out, job by job as the workflow plans it: one classifier job
trains every seed, a run of n cases at batch b takes ceil(n / b) steps per epoch, every run
is charged the epoch cap (`classifier.grid.epochs`) times --epoch-share (early stopping,
patience 50, ends most runs sooner: 1.0 is an upper bound), pretrain runs on the synthetic
set (synthetic_multiple x TRAIN), finetune and baseline on the real cases of their regime.
Scoring, synthesis and quality jobs are counted as jobs but not as device time (seconds
each). Prints device-hours by rule and by dataset, and the job count by rule.

Measured on the machine it runs on: a CPU here, a GPU where one is lent (run it there as one
script). Item 3 of issue 14 (seeds trained together) would change the classifier rows; this
script prices the workflow as it is.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections import defaultdict
from itertools import product
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow" / "scripts"))
sys.path.insert(0, str(REPO / "benchmarks"))

from dataset_table import MAX_BYTES, PUBLISHED  # noqa: E402
from synthtl.data import fraction_ranks, fraction_subset, prepare, validation_split  # noqa: E402
from synthtl.fetch import unpack  # noqa: E402

SHARED_UEA = REPO.parent / "shared" / "uea"


def paper_config() -> dict:
    from snakemake.utils import update_config  # noqa: PLC0415

    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    update_config(config, yaml.safe_load((REPO / "config" / "paper.yaml").read_text()))
    return config


def shape(name: str, settings: dict) -> tuple[np.ndarray, int, int, str]:
    """(TRAIN split labels, length, channels, source) of a dataset as prepared; balanced labels (≈) when
    only its published sizes are known."""
    zip_path = SHARED_UEA / f"{name}.zip"
    if not zip_path.is_file():
        n_total, n_classes, channels, length = PUBLISHED[name]
        y = np.arange(n_total) % n_classes
        val = validation_split(y, settings["val_fraction"], np.random.default_rng(settings["seed"]))
        return np.delete(y, val), length, channels, "≈"
    with tempfile.TemporaryDirectory() as tmp:
        unpack(zip_path, name, Path(tmp), MAX_BYTES)
        arrays, meta = prepare(Path(tmp) / f"{name}_TRAIN.ts", Path(tmp) / f"{name}_TEST.ts", name, dict(settings))
    return arrays["y_train"], meta["length"], meta["n_channels"], ""


def fraction_cases(y: np.ndarray, fraction: float, settings: dict) -> int:
    """Training cases of a fraction, by the workflow's own rule (synthtl.data.fraction_subset)."""
    rank = fraction_ranks(y, np.random.default_rng(settings["seed"]))
    return len(fraction_subset(y, rank, fraction, settings["min_per_class"], "", range(int(y.max()) + 1)))


def classifier_step_s(model: str, network: dict, n: int, length: int, channels: int, n_classes: int,
                      batch_size: int, epochs: int) -> float:
    """Seconds per optimiser step of `model` (paper sizes) at this shape and batch size."""
    import keras  # noqa: PLC0415

    from synthtl import networks, runtime, training  # noqa: PLC0415

    runtime.seed_everything(0)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, length, channels)).astype(np.float32)
    y = rng.integers(0, n_classes, n).astype(np.int64)
    net = networks.build(model, (length, channels), n_classes, network)
    hyper = training.Hyper(0.001, batch_size, epochs, patience=epochs + 1)
    training.compile_model(net, hyper.learning_rate)
    started, ends = time.perf_counter(), []
    callback = keras.callbacks.LambdaCallback(on_epoch_end=lambda *_: ends.append(time.perf_counter()))
    training.fit(net, (X, y), (X[:batch_size], y[:batch_size]), hyper, seed=0, callbacks=[callback])
    epoch_s = np.diff([started, *ends])[1:]  # the first epoch traces
    return float(np.median(epoch_s)) / math.ceil(n / batch_size)


def gan_step_s(generator: str, settings: dict, n: int, length: int, channels: int, n_classes: int,
               steps: int) -> float:
    """Seconds per generator step (timegan: one step of each phase) at paper.yaml's settings."""
    from synthtl.generators import make_generator  # noqa: PLC0415

    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, length, channels)).astype(np.float32)
    y = np.arange(n) % n_classes
    model = make_generator(generator, {**settings, "epochs": 2, "steps_per_epoch": steps}, 0)
    rows = model.fit(X, y, n_classes=n_classes)
    second = [row for row in rows if int(row["epoch"]) == 2]  # per phase for timegan
    return sum(float(row["seconds"]) for row in second) / steps


def main() -> None:
    config = paper_config()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=config["datasets"])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--gan-steps", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epoch-share", type=float, default=1.0)
    args = parser.parse_args()
    from synthtl import runtime  # noqa: PLC0415

    runtime.configure(args.threads)
    cls, gan = config["classifier"], config["gan"]
    grid = list(product(cls["grid"]["learning_rate"], cls["grid"]["batch_size"], cls["grid"]["epochs"]))
    fractions, seeds, gseeds = config["fractions"], cls["seeds"], gan["seeds"]
    generators, trained_gans = gan["generators"], [g for g in gan["generators"] if g != "jitter"]
    regime = config["transfer"]["regime"]
    hours, jobs = defaultdict(float), defaultdict(int)
    print(f"per-step seconds on this machine ({args.threads} thread(s)); epochs charged: cap x {args.epoch_share}")
    print(f"{'dataset':<26} {'n':>5} {'len':>5} {'ch':>3} " + " ".join(f"{m + '/' + str(b):>11}" for m in cls["models"]
          for b in cls["grid"]["batch_size"]) + " " + " ".join(f"{g:>8}" for g in trained_gans))
    started = time.perf_counter()
    for name in args.datasets:
        y_train, length, channels, mark = shape(name, config["prepare"])
        n, n_classes = len(y_train), int(y_train.max()) + 1
        step = {(m, b): classifier_step_s(m, cls["networks"][m], n, length, channels, n_classes, b, args.epochs)
                for m in cls["models"] for b in cls["grid"]["batch_size"]}
        gstep = {g: gan_step_s(g, gan[g], n, length, channels, n_classes, args.gan_steps) for g in trained_gans}
        print(f"{name:<26} {mark + str(n):>5} {length:>5} {channels:>3} "
              + " ".join(f"{step[k]:>11.4f}" for k in step) + " " + " ".join(f"{gstep[g]:>8.3f}" for g in gstep),
              flush=True)
        cases = {f: fraction_cases(y_train, f, config["prepare"]) for f in fractions}
        base_fracs = [1.0] if regime == "full" else fractions
        synthetic = max(round(gan["synthetic_multiple"] * n), n_classes)
        for model, (_, bs, epochs) in product(cls["models"], grid):
            charge = len(seeds) * epochs * args.epoch_share * step[(model, bs)] / 3600
            for f in base_fracs:
                hours[("baseline", name)] += charge * math.ceil((n if f == 1 else cases[f]) / bs)
            for g, f in product(generators, fractions):
                hours[("pretrain", name)] += charge * math.ceil(synthetic / bs)
                hours[("finetune", name)] += charge * math.ceil((n if regime == "full" else cases[f]) / bs)
        for g in trained_gans:
            total = gan[g]["epochs"] * gan[g]["steps_per_epoch"]
            hours[("train_gan", name)] += len(fractions) * len(gseeds) * total * gstep[g] / 3600
        cells = len(cls["models"]) * len(grid)
        sets = len(generators) * len(fractions) * len(gseeds)
        for rule, count in {"download": 1, "prepare": 1, "train_gan": sets, "synthesize": sets,
                            "synthetic_quality": sets, "synthetic_figure": 2 * sets,
                            "baseline": cells * len(base_fracs), "evaluate": cells * len(base_fracs),
                            "pretrain": cells * len(generators) * len(fractions),
                            "finetune": cells * len(generators) * len(fractions), "evaluate_transfer": cells}.items():
            jobs[rule] += count
    for rule in ("aggregate", "stats", "figures", "all"):
        jobs[rule] = 1
    print(f"(measured in {time.perf_counter() - started:.0f} s)\n\ndevice-hours by rule and dataset")
    rules = ["train_gan", "baseline", "pretrain", "finetune"]
    print(f"{'dataset':<26} " + " ".join(f"{r:>10}" for r in rules) + f" {'total':>10}")
    for name in args.datasets:
        row = [hours[(r, name)] for r in rules]
        print(f"{name:<26} " + " ".join(f"{v:>10.1f}" for v in row) + f" {sum(row):>10.1f}")
    totals = [sum(hours[(r, d)] for d in args.datasets) for r in rules]
    print(f"{'total':<26} " + " ".join(f"{v:>10.1f}" for v in totals) + f" {sum(totals):>10.1f}")
    print(f"\njobs: {sum(jobs.values())} (" + ", ".join(f"{r} {c}" for r, c in jobs.items()) + ")")


if __name__ == "__main__":
    main()
