"""Held-out quality of each generator on the shared UEA datasets, from a real workflow run.

    .venv/bin/python benchmarks/generator_quality.py [--generators wgan timegan jitter] [--fractions 0.5 1.0]
        [--set gan.wgan.learning_rate=0.0001 ...] [--workdir DIR] [--cores 2]

Runs the real workflow (Snakemake, config/config.yaml's budgets unless --set changes them)
on every dataset of the shared mirror (../shared/uea, source kind `mirror`) up to each
synthetic set's quality.json, and prints, per dataset, generator and GAN fraction, the
scores quality.json reports:

- tstr: accuracy on real cases the generator never saw (VAL, and TRAIN outside the fraction)
  of MiniRocket + ridge trained on the synthetic set; trtr: the same classifier trained on
  the fraction's real cases, scored on the same held-out cases (the reference: tstr/trtr = 1
  means the synthetic set teaches the classes as well as the real cases it came from);
- disc: the class-matched discriminative score on held-out real cases (0 = indistinguishable,
  0.5 = always told apart), with its real side (`heldout`, or `seen` when too few held-out
  cases match the synthetic classes).

Then the mean of each column per generator. --set KEY=VALUE (dotted config keys, YAML values)
changes the config, e.g. to compare the WGAN-GP at Gulrajani et al.'s settings with the
default ones; use a separate --workdir per variant (outputs are cached per workdir).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED_UEA = REPO.parent / "shared" / "uea"


def set_key(config: dict, dotted: str) -> None:
    """Apply one KEY=VALUE (dotted key, YAML value) to `config`."""
    key, _, value = dotted.partition("=")
    *parents, last = key.split(".")
    node = config
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = yaml.safe_load(value)


def run(workdir: Path, datasets: list[str], generators: list[str], fractions: list[float], changes: list[str],
        cores: int) -> dict:
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config.update(datasets=datasets, fractions=fractions, source={"kind": "mirror", "mirror": str(SHARED_UEA)})
    config["gan"]["generators"] = generators
    for change in changes:
        set_key(config, change)
    (workdir / "config").mkdir(parents=True, exist_ok=True)
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    targets = [f"results/synthetic/{d}/{g}/frac{f:g}/gseed{s}/quality.json"
               for d in datasets for g in generators for f in fractions for s in config["gan"]["seeds"]]
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir),
               "--cores", str(cores), "--keep-going", "--rerun-incomplete", *targets]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        print(result.stderr[-6000:], file=sys.stderr)
    print(f"(workflow: {time.perf_counter() - started:.0f} s, {len(targets)} synthetic sets, rc {result.returncode})")
    return config


def table(workdir: Path, datasets: list[str], generators: list[str], fractions: list[float], seeds: list[int]) -> None:
    print(f"{'dataset':<26} {'generator':<8} {'frac':>4} {'tstr':>6} {'trtr':>6} {'ratio':>6} {'n_heldout':>9} "
          f"{'disc':>6} {'real side':<9}")
    by_generator: dict[str, list[list[float]]] = {g: [] for g in generators}
    for dataset in datasets:
        for generator in generators:
            for fraction in fractions:
                for seed in seeds:
                    path = workdir / f"results/synthetic/{dataset}/{generator}/frac{fraction:g}/gseed{seed}/quality.json"
                    if not path.is_file():
                        print(f"{dataset:<26} {generator:<8} {fraction:>4g}  failed (see {workdir}/logs)")
                        continue
                    q = json.loads(path.read_text())
                    tstr, trtr, disc = q["tstr_accuracy"], q["trtr_accuracy"], q["discriminative_score"]
                    ratio = tstr / trtr if trtr else float("nan")
                    by_generator[generator].append([tstr, trtr, ratio, disc])
                    print(f"{dataset:<26} {generator:<8} {fraction:>4g} {tstr:>6.3f} {trtr:>6.3f} {ratio:>6.2f} "
                          f"{q['tstr_heldout_n']:>9} {disc:>6.3f} {q['discriminative_real_source']:<9}")
    print(f"{'mean':<26} {'generator':<8} {'':>4} {'tstr':>6} {'trtr':>6} {'ratio':>6} {'sets':>9} {'disc':>6}")
    for generator, rows in by_generator.items():
        if rows:
            m = np.nanmean(rows, axis=0)
            print(f"{'':<26} {generator:<8} {'':>4} {m[0]:>6.3f} {m[1]:>6.3f} {m[2]:>6.2f} {len(rows):>9} {m[3]:>6.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=sorted(p.stem for p in SHARED_UEA.glob("*.zip")))
    parser.add_argument("--generators", nargs="+", default=["wgan", "timegan", "jitter"])
    parser.add_argument("--fractions", nargs="+", type=float, default=[0.5, 1.0])
    parser.add_argument("--set", dest="changes", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    if not args.datasets:
        raise SystemExit(f"no UEA zips in {SHARED_UEA}")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="generator_quality_"))
    print(f"workdir {workdir}; changes {args.changes or 'none'}")
    config = run(workdir, args.datasets, args.generators, args.fractions, args.changes, args.cores)
    table(workdir, args.datasets, args.generators, args.fractions, config["gan"]["seeds"])


if __name__ == "__main__":
    main()
