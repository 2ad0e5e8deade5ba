"""Where the workflow's time goes: job seconds per rule from Snakemake's benchmark files, the total,
and the share spent outside classifier training (run.json train_time_s).

    python benchmarks/rule_times.py [--results results]

Reads results/benchmarks/{rule}/**.tsv (every rule writes one per job via `benchmark:`) and
results/models/**/run.json. Job seconds add up over parallel jobs; the wall-clock span is
estimated from the benchmark files' modification times.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd


def rule_times(results: Path) -> pd.DataFrame:
    """Jobs, total and largest seconds, and peak memory per rule, from every benchmark file."""
    rows = []
    root = results / "benchmarks"
    for path in sorted(root.rglob("*.tsv")):
        table = pd.read_csv(path, sep="\t")
        if "s" not in table.columns or table.empty:
            raise ValueError(f"{path}: not a Snakemake benchmark file (no 's' column)")
        rule = path.relative_to(root).parts[0]
        mtime = path.stat().st_mtime
        rows.append({"rule": rule, "s": float(table["s"].mean()), "max_rss": pd.to_numeric(table.get("max_rss"), errors="coerce").max(),
                     "end": mtime, "start": mtime - float(table["s"].mean())})
    if not rows:
        raise SystemExit(f"no benchmark files under {root}; run the workflow first")
    jobs = pd.DataFrame(rows)
    per_rule = jobs.groupby("rule").agg(jobs=("s", "size"), seconds=("s", "sum"), longest_s=("s", "max"),
                                        max_rss_mb=("max_rss", "max"))
    per_rule.attrs["wall_s"] = float(jobs["end"].max() - jobs["start"].min())
    return per_rule.sort_values("seconds", ascending=False)


def training_seconds(results: Path) -> tuple[float, int]:
    """Classifier fit time summed over every run.json, and the number of runs."""
    total, count = 0.0, 0
    for path in (results / "models").rglob("run.json"):
        record = json.loads(path.read_text())
        if "train_time_s" not in record:
            raise ValueError(f"{path}: run.json lacks train_time_s")
        total += float(record["train_time_s"])
        count += 1
    return total, count


def main(argv: list[str] | None = None) -> None:
    """Print time per rule, the total, and the share outside training."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"), help="the workflow's results folder")
    args = parser.parse_args(argv)
    per_rule = rule_times(args.results)
    total = float(per_rule["seconds"].sum())
    train, runs = training_seconds(args.results)
    per_rule["share"] = per_rule["seconds"] / total
    pd.set_option("display.width", 160)
    print(per_rule.to_string(float_format=lambda v: f"{v:.2f}"))
    print(f"\ntotal job time      {total:10.1f} s  ({len(per_rule)} rules, {int(per_rule['jobs'].sum())} jobs)")
    print(f"wall-clock span     {per_rule.attrs['wall_s']:10.1f} s  (from benchmark file times)")
    print(f"classifier training {train:10.1f} s  ({runs} runs' run.json train_time_s)")
    if total > 0:
        print(f"outside training    {total - train:10.1f} s  = {100 * (total - train) / total:.1f} % of job time")


if __name__ == "__main__":
    sys.exit(main())
