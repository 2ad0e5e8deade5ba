"""The judge of the statistics: error rates and coverage on simulated runs tables whose truth is known.

Runs the same function the stats rule calls (synthtl.stats.analyse) on tables from simulate_runs.py: with no
effect anywhere (with and without generator-instance effects), and with planted effects (+3 points for one
generator; +2 points per SD of log length). Prints one line per measure with its target and PASS/FAIL; with
--reference REV, the same measures for that commit's analysis (checked out into a temporary git worktree and
run in its own process) beside them.

    python benchmarks/null_calibration.py --reps 200 --reference ef032e5
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "workflow" / "scripts"), str(Path(__file__).resolve().parent)]

from simulate_runs import simulate  # noqa: E402

METRIC, ALPHA, MIN_SEEDS, MIN_DATASETS = "f1_macro", 0.05, 3, 5
CONTRASTS = ["generator", "fraction"]
SEARCH = ["dataset", "model", "fraction", "generator", "learning_rate", "batch_size"]
SCENARIOS = {  # name -> simulate() arguments
    "null": {},
    "null, no generator-instance effect": {"set_sd": 0.0},
    "+3 points for wgan": {"generator_effect": 0.03},
    "+2 points per SD of log length": {"length_effect": 0.02},
}


def _excludes(low, high, value=0.0) -> bool:
    return bool(np.isfinite(low) and np.isfinite(high) and not (low <= value <= high))


def measure(scenario: str, rep: int, n_boot: int, **sizes) -> dict:
    """Every measure of one simulated table (1 = the event happened), analysed by today's code.

    `sizes` override simulate()'s arguments (the test suite's small version)."""
    from synthtl import stats

    runs = simulate(rep, **{**SCENARIOS[scenario], **sizes})
    t = stats.analyse(runs, METRIC, [METRIC], ALPHA, MIN_SEEDS, MIN_DATASETS, n_boot, rep, CONTRASTS, SEARCH)
    out = {}
    effects, anova, cells = t["effects"], t["factor_anova"], t["cells"]
    best = t["headline"].iloc[1]
    out["headline: simultaneous interval excludes 0"] = _excludes(best.get("sim_ci_low"), best.get("sim_ci_high"))
    for comparison in ("tuned on VAL", "each grid point"):
        part = effects[effects["comparison"] == comparison]
        overall = part[part["grouping"] == "all"].iloc[0]
        out[f"overall ({comparison}): interval excludes 0"] = _excludes(overall["ci_low"], overall["ci_high"])
        for _, row in part[part["grouping"].isin(CONTRASTS)].iterrows():
            out[f"contrast {row['level']} ({comparison}): interval excludes 0"] = _excludes(row["ci_low"], row["ci_high"])
    out["per-cell primary test (units: synthetic sets): any Holm rejection"] = bool(cells["unit_reject_holm"].fillna(False).any())
    out["per-cell study test (seeds): any Holm rejection"] = bool(cells["reject_holm"].fillna(False).any())
    out["per-cell study paired test (seeds): any Holm rejection"] = bool(cells["paired_reject_holm"].fillna(False).any())
    ran = anova[anova["status"] == "in model"]
    out["factor tests: any Holm rejection"] = bool(ran["significant"].fillna(False).astype(bool).any())
    for _, row in ran.iterrows():
        out[f"factor {row['factor']}: p < {ALPHA}"] = bool(row["p_value"] < ALPHA)
    friedman = t["friedman"]
    out["Friedman: p < alpha"] = bool((friedman.get("p_value", np.nan) < ALPHA).any()) if not friedman.empty else False
    return out


def measure_reference(scenario: str, rep: int, n_boot: int) -> dict:
    """The same measures for an older analysis (its stats.write_stats-era functions), where they exist."""
    from synthtl import factors, stats

    runs = simulate(rep, **SCENARIOS[scenario])
    pairs = stats.seed_pairs(runs, METRIC)
    aggregated = stats.aggregations(pairs, n_boot, rep)
    head = stats.headline(aggregated, METRIC, MIN_SEEDS)
    cells = stats.cell_tests(runs, [METRIC], ALPHA, MIN_SEEDS, n_boot, rep)
    _, anova = factors.factor_analysis(pairs, ALPHA, MIN_DATASETS)
    largest, overall = head[head["kind"] == "largest"].iloc[0], head[head["kind"] == "overall"].iloc[0]
    out = {"headline: simultaneous interval excludes 0": _excludes(largest.get("ci_low"), largest.get("ci_high")),
           "overall (each grid point): interval excludes 0": _excludes(overall.get("ci_low"), overall.get("ci_high")),
           "per-cell study test (seeds): any Holm rejection": bool(cells["reject_holm"].fillna(False).any()),
           "per-cell study paired test (seeds): any Holm rejection": bool(cells["paired_reject_holm"].fillna(False).any())}
    ran = anova[anova["status"] == "in model"]
    out["factor tests: any Holm rejection"] = bool(ran["significant"].fillna(False).astype(bool).any())
    for _, row in ran.iterrows():
        out[f"factor {row['factor']}: p < {ALPHA}"] = bool(row["p_value"] < ALPHA)
    return out


def target(scenario: str, name: str) -> tuple[str, float] | None:
    """(direction, bound) a measure must meet in a scenario; None where it is reported, not judged."""
    if scenario.startswith("null"):
        if "study" in name and scenario == "null":
            return None  # seeds as units ignore generator-instance variance: judged without it (next scenario)
        return ("<=", 0.06)
    return None  # power: reported, not judged


def run(scenario: str, reps: int, n_boot: int, workers: int, reference: bool = False) -> dict:
    fn = measure_reference if reference else measure
    with ProcessPoolExecutor(workers) as pool:
        results = list(pool.map(fn, [scenario] * reps, range(reps), [n_boot] * reps))
    names = sorted({k for r in results for k in r})
    return {n: (float(np.mean([r[n] for r in results if n in r])), sum(n in r for r in results)) for n in names}


def reference_rates(rev: str, scenarios: list[str], reps: int, n_boot: int, workers: int) -> dict:
    """Check out `rev` into a temporary worktree and measure it there, in its own process."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "ref"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), rev], check=True,
                       capture_output=True)
        try:
            out = subprocess.run([sys.executable, __file__, "--as-reference", str(tree), "--reps", str(reps),
                                  "--boot", str(n_boot), "--workers", str(workers), "--scenarios", *scenarios],
                                 check=True, capture_output=True, text=True).stdout
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
    return json.loads(out.strip().splitlines()[-1])


def report(rates: dict, reps: dict, ref: dict | None, rev: str | None) -> bool:
    """Print one line per measure; True when every judged line passes."""
    ok = True
    head = f"{'scenario / measure':<82} {'rate':>6}  {'target':<8} {'':4}"
    print(head + (f"  {rev:>8}" if ref is not None else ""))
    for scenario, measures in rates.items():
        print(f"-- {scenario} ({reps[scenario]} replicates)")
        for name, (rate, n) in measures.items():
            goal = target(scenario, name)
            verdict = "" if goal is None else ("PASS" if (rate <= goal[1] if goal[0] == "<=" else rate >= goal[1])
                                              else "FAIL")
            ok &= verdict != "FAIL"
            goal_text = "report" if goal is None else f"{goal[0]} {goal[1]:g}"
            label = name if n == reps[scenario] else f"{name} [{n} reps]"
            line = f"   {label:<79} {rate:6.3f}  {goal_text:<8} {verdict:4}"
            if ref is not None:
                old = ref.get(scenario, {}).get(name)
                line += f"  {old[0]:8.3f}" if old else f"  {'—':>8}"
            print(line)
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200, help="replicates of each null scenario")
    parser.add_argument("--planted-reps", type=int, default=60, help="replicates of each planted scenario")
    parser.add_argument("--boot", type=int, default=500, help="bootstrap replicates per analysis")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reference", help="also measure this git revision's analysis (e.g. ef032e5)")
    parser.add_argument("--reference-reps", type=int, default=60)
    parser.add_argument("--scenarios", nargs="*", default=list(SCENARIOS))
    parser.add_argument("--as-reference", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.as_reference:  # child process: the old package first on the path
        sys.path.insert(0, str(Path(args.as_reference) / "workflow" / "scripts"))
        print(json.dumps({s: run(s, args.reps, args.boot, args.workers, reference=True) for s in args.scenarios}))
        return 0
    start = time.time()
    reps = {s: args.reps if s.startswith("null") else args.planted_reps for s in args.scenarios}
    rates = {s: run(s, reps[s], args.boot, args.workers) for s in args.scenarios}
    ref = None
    if args.reference:
        nulls = [s for s in args.scenarios if s.startswith("null")]
        ref = reference_rates(args.reference, nulls, args.reference_reps, args.boot, args.workers)
        print(f"reference {args.reference}: {args.reference_reps} replicates per null scenario")
    ok = report(rates, reps, ref, args.reference)
    print(f"{'all judged lines PASS' if ok else 'some lines FAIL'} ({time.time() - start:.0f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
