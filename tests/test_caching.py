"""Cached partial reruns of the real workflow, shown by `snakemake -n` on a finished small cell."""

from __future__ import annotations

import copy
import json
import shutil

import pytest

from conftest import TRANSFER_CELL_CONFIG, scheduled, snakemake

MODELS = "results/models/BasicMotions/fcn/lr0.001-bs16-ep2"
UPSTREAM = {"download", "prepare", "train_gan", "synthesize", "synthetic_quality"}


def plan(workdir, config) -> tuple[dict, str]:
    result = snakemake(workdir, "-n", config=config)
    return scheduled(result), result.stdout + result.stderr


@pytest.fixture
def cell(transfer_cell, tmp_path):
    """A private copy of the finished cell (mtimes and Snakemake's records kept)."""
    workdir = tmp_path / "cell"
    shutil.copytree(transfer_cell, workdir, copy_function=shutil.copy2, symlinks=True)
    return workdir


@pytest.mark.workflow
def test_touching_nothing_schedules_nothing(cell):
    jobs, output = plan(cell, TRANSFER_CELL_CONFIG)
    assert jobs == {} and "Nothing to be done" in output, output[-2000:]


@pytest.mark.workflow
def test_changing_the_strategy_reruns_finetune_and_evaluate_only(cell):
    config = copy.deepcopy(TRANSFER_CELL_CONFIG)
    config["transfer"] = {"strategy": "freeze_then_unfreeze", "freeze_epochs": 1}
    jobs, output = plan(cell, config)
    assert jobs.get("finetune") == 1 and jobs.get("evaluate_transfer") == 1, output[-3000:]
    # the baseline is neither retrained nor re-scored; analysis rules may follow
    assert not set(jobs) & (UPSTREAM | {"baseline", "pretrain", "evaluate"}), jobs


@pytest.mark.workflow
def test_adding_a_seed_trains_only_the_new_seed(cell):
    config = copy.deepcopy(TRANSFER_CELL_CONFIG)
    config["classifier"]["seeds"] = [0, 1]
    jobs, output = plan(cell, config)
    assert {"baseline", "pretrain", "finetune", "evaluate", "evaluate_transfer"} <= set(jobs), output[-3000:]
    assert not set(jobs) & UPSTREAM, jobs

    runs = {arm: cell / MODELS / run for arm, run in
            (("baseline", "baseline/frac1"), ("pretrain", "pretrain/jitter/frac0.5"),
             ("finetune", "finetune/jitter/frac0.5/full/full"))}
    # Snakemake touches every output of a finished job, so mtimes cannot tell; the bytes of
    # model.keras (its zip records when it was saved) and run.json's trained_at can.
    before = {arm: ((folder / "seed0/model.keras").read_bytes(),
                    json.loads((folder / "seed0/run.json").read_text())["trained_at"]) for arm, folder in runs.items()}
    metrics = [f"{MODELS.replace('models', 'metrics', 1)}/{run}/metrics.tsv" for run in
               ("baseline/frac1", "pretrain/jitter/frac0.5", "finetune/jitter/frac0.5/full/full")]
    snakemake(cell, "--cores", "2", *metrics, config=config)  # the cell's runs (analysis would follow)
    for arm, folder in runs.items():
        content, trained_at = before[arm]
        assert (folder / "seed0/model.keras").read_bytes() == content, f"{arm} seed 0 was retrained"
        assert json.loads((folder / "seed0/run.json").read_text())["trained_at"] == trained_at
        assert (folder / "seed1/run.json").is_file()
        log = (cell / "logs" / arm / "BasicMotions/fcn/lr0.001-bs16-ep2" /
               (str(folder.relative_to(cell / MODELS)).split("/", 1)[1] + ".log")).read_text()
        assert "seed 0: reused" in log and "seed 1: trained" in log
    result = snakemake(cell, "-n", *metrics, config=config)
    assert scheduled(result) == {} and "Nothing to be done" in result.stdout + result.stderr


@pytest.mark.workflow
def test_adding_a_fraction_schedules_only_that_fractions_work(cell):
    config = copy.deepcopy(TRANSFER_CELL_CONFIG)
    config["fractions"] = [0.25, 0.5]  # 0.25 is new: prepared.npz stores ranks, not a fraction list
    jobs, output = plan(cell, config)
    assert {"train_gan": 1, "synthesize": 1, "pretrain": 1, "finetune": 1}.items() <= jobs.items(), output[-3000:]
    assert not {"download", "prepare"} & set(jobs), jobs  # the data are not prepared again
    assert "baseline" not in jobs, jobs  # the full regime's baseline does not depend on the GAN fractions
    assert jobs.get("evaluate_transfer") == 1 and "evaluate" not in jobs, jobs  # the cell's transfer runs, not the baseline


@pytest.mark.workflow
def test_adding_a_gan_seed_trains_its_generator_and_retrains_only_the_seeds_it_moves(cell):
    config = copy.deepcopy(TRANSFER_CELL_CONFIG)
    config["gan"] = {**config["gan"], "seeds": [0, 1]}
    jobs, output = plan(cell, config)  # classifier seed 0 keeps GAN seed 0 (0 % 2): no classifier work
    assert {"train_gan": 1, "synthesize": 1, "synthetic_quality": 1}.items() <= jobs.items(), output[-3000:]
    assert not set(jobs) & {"download", "prepare", "baseline", "pretrain", "finetune", "evaluate",
                            "evaluate_transfer"}, jobs
    config["classifier"] = {**config["classifier"], "seeds": [0, 1]}  # seed 1 takes GAN seed 1
    jobs, output = plan(cell, config)
    assert {"train_gan": 1, "pretrain": 1, "finetune": 1}.items() <= jobs.items(), output[-3000:]
    inputs = output.split("rule pretrain:")[1].split("output:")[0]
    assert "frac0.5/gseed0/synthetic.npz" in inputs and "frac0.5/gseed1/synthetic.npz" in inputs, inputs
    # (which seeds the pretrain job then retrains is its fingerprints' business: test_transfer.py)
