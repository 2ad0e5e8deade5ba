# Config checks, wildcard constraints, target lists and input functions.
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "scripts"))

from snakemake.utils import validate

from synthtl import config as synthtl_config
from synthtl import memory
from itertools import product

from synthtl.naming import fmt_frac, gan_seed_for, hp_id, run_path

SCHEMA = str(Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml")
synthtl_config.check(config, SCHEMA)  # clear messages, before any job
validate(config, schema=SCHEMA, set_default=True)  # fills in the defaults

DATASETS = config["datasets"]
GAN_FRACTIONS = sorted({fmt_frac(f) for f in config["fractions"]}, key=float)


MODELS = config["classifier"]["models"]
SEEDS = config["classifier"]["seeds"]
GRID = config["classifier"]["grid"]
HPS = [hp_id(lr, bs, ep) for lr, bs, ep in product(GRID["learning_rate"], GRID["batch_size"], GRID["epochs"])]
GENERATORS = config["gan"]["generators"]
GAN_SEEDS = config["gan"]["seeds"]
REGIME = config["transfer"]["regime"]
STRATEGY = config["transfer"]["strategy"]


wildcard_constraints:
    dataset="|".join(DATASETS),
    fraction=r"[0-9.]+",
    model="fcn|resnet|gru|lstm",
    hp=r"lr[0-9.e-]+-bs[0-9]+-ep[0-9]+",
    generator="wgan|timegan|jitter",
    seed=r"[0-9]+",
    gan_seed=r"[0-9]+",
    regime="full|scarce",
    strategy="full|freeze_then_unfreeze|discriminative_lr",


def get_source(wildcards):
    """The download settings of one dataset (only what that source uses, so other edits rerun nothing)."""
    source = config["source"]
    settings = {"kind": source["kind"]}
    if source["kind"] != "embedded":
        settings.update(
            url=source["archive_url"] if source["kind"] == "archive" else source["mirror"],
            sha256=source["sha256"].get(wildcards.dataset),
            timeout_s=source["timeout_s"],
            retries=source["retries"],
            backoff_s=source["backoff_s"],
            max_mb=source["max_mb"],
        )
    return settings


def baseline_fractions():
    """Real-data fractions the baseline trains on: all of TRAIN (full) or each GAN fraction (scarce)."""
    return ["1"] if REGIME == "full" else GAN_FRACTIONS


def runs():
    """Every trained-model folder below results/models/{dataset}/{model}/{hp}/, as run paths."""
    out = [run_path("baseline", f) for f in baseline_fractions()]
    for generator, fraction in product(GENERATORS, GAN_FRACTIONS):
        out.append(run_path("pretrain", fraction, generator))
        out.append(run_path("finetune", fraction, generator, REGIME, STRATEGY))
    return out


def data_targets():
    return expand("results/data/{dataset}/prepared.npz", dataset=DATASETS)


# --- classifiers: baseline, evaluate (classify.smk); pretrain, finetune (transfer.smk) ---
CLASSIFIER = config["classifier"]
BASELINE_DIR = "results/models/{dataset}/{model}/{hp}/baseline/frac{fraction}"
PRETRAIN_DIR = "results/models/{dataset}/{model}/{hp}/pretrain/{generator}/frac{fraction}"
FINETUNE_DIR = "results/models/{dataset}/{model}/{hp}/finetune/{generator}/frac{fraction}/{regime}/{strategy}"


def per_seed(run_dir, name):
    """One file per configured seed below a run folder (wildcards left in place)."""
    return [f"{run_dir}/seed{seed}/{name}" for seed in SEEDS]


def get_network(wildcards):
    """The architecture settings of one model (classifier.networks.<model>), so other edits rerun nothing."""
    return dict(CLASSIFIER["networks"].get(wildcards.model, {}))


def get_strategy_settings(wildcards):
    """The transfer settings the fine-tuning strategy uses (only those, so other edits rerun nothing)."""
    used = {
        "full": [],
        "freeze_then_unfreeze": ["freeze_epochs"],
        "discriminative_lr": ["pretrained_lr_factor"],
    }[wildcards.strategy]
    return {key: config["transfer"][key] for key in used}


def _run_files(wildcards, name):
    run_dir = f"results/models/{wildcards.dataset}/{wildcards.model}/{wildcards.hp}/{wildcards.run}"
    return [f"{run_dir}/seed{seed}/{name}" for seed in SEEDS]


def get_run_models(wildcards):
    """Every seed's model.keras of the run being evaluated."""
    return _run_files(wildcards, "model.keras")


def get_run_records(wildcards):
    """Every seed's run.json of the run being evaluated."""
    return _run_files(wildcards, "run.json")


def transfer_runs():
    """The pretrain and finetune run paths of one cell (every generator x GAN fraction)."""
    return [run for run in runs() if not run.startswith("baseline/")]


def _transfer_files(wildcards, name):
    return [
        f"results/models/{wildcards.dataset}/{wildcards.model}/{wildcards.hp}/{run}/seed{seed}/{name}"
        for run in transfer_runs()
        for seed in SEEDS
    ]


def get_transfer_models(wildcards):
    """Every seed's model.keras of every transfer run of the cell (run-major, then seed)."""
    return _transfer_files(wildcards, "model.keras")


def get_transfer_records(wildcards):
    """Every seed's run.json of every transfer run of the cell (same order)."""
    return _transfer_files(wildcards, "run.json")


def get_baseline_run(wildcards):
    """The one run an evaluate job scores."""
    return [wildcards.run]


def metrics_targets(arms=("baseline", "pretrain", "finetune")):
    """The metrics.tsv of every run of `arms` for every dataset x model x hp."""
    return expand(
        "results/metrics/{dataset}/{model}/{hp}/{run}/metrics.tsv",
        dataset=DATASETS,
        model=MODELS,
        hp=HPS,
        run=[run for run in runs() if run.split("/")[0] in arms],
    )


# --- generators: train_gan, synthesize, synthetic_quality (workflow/rules/gan.smk) ---
def get_gan_settings(wildcards):
    """The config's settings of one generator (gan.{generator}), so other edits rerun nothing."""
    return dict(config["gan"][wildcards.generator])


PLANNING_MEM_MB = 4000  # a train_gan job's request while its dataset is not yet prepared


def get_gan_mem_mb(wildcards, input, attempt):
    """mem_mb of a train_gan job, from its data (meta.json beside prepared.npz) and settings (synthtl.memory).

    Before prepare has run the size is unknown and the request is PLANNING_MEM_MB; Snakemake
    evaluates resources again when it schedules the job, by which time the data are there.
    """
    meta_path = Path(input.npz).with_name("meta.json")
    if not meta_path.is_file():
        return PLANNING_MEM_MB * attempt
    meta = json.loads(meta_path.read_text())
    n_cases = math.ceil(float(wildcards.fraction) * meta["n_train"])
    need = memory.generator_mb(
        wildcards.generator, n_cases, meta["length"], meta["n_channels"], get_gan_settings(wildcards)
    )
    return memory.request_mb(need, attempt)


def get_gan_seed(wildcards):
    """The seed of one generator run: its {gan_seed} wildcard, as an int."""
    return int(wildcards.gan_seed)


def get_synthetic_title(wildcards):
    """The title of a synthetic set's figures."""
    return f"{wildcards.dataset} {wildcards.generator} frac{wildcards.fraction} gseed{wildcards.gan_seed}:"


SYNTHETIC_DIR = "results/synthetic/{dataset}/{generator}/frac{fraction}/gseed{gan_seed}"


def synthetic_targets():
    """Every synthetic set with its quality scores and figures (dataset x generator x GAN fraction x GAN seed)."""
    return expand(
        f"{SYNTHETIC_DIR}/{{name}}",
        dataset=DATASETS,
        generator=GENERATORS,
        fraction=GAN_FRACTIONS,
        gan_seed=GAN_SEEDS,
        name=["synthetic.npz", "quality.json", "samples.png", "embedding.png", "embedding.svg"],
    )


def pretrain_gan_seeds():
    """The GAN seed of each classifier seed's synthetic set (SEEDS order; synthtl.naming.gan_seed_for)."""
    return [gan_seed_for(seed, GAN_SEEDS) for seed in SEEDS]


def get_pretrain_budget(wildcards):
    """The scarce regime's data budget of a pretrain run (synthtl.budget): its fraction; None in the full regime."""
    return wildcards.fraction if REGIME == "scarce" and float(wildcards.fraction) < 1 else None


def get_pretrain_synthetic(wildcards):
    """Each classifier seed's synthetic set (SEEDS order): the sets of every GAN seed some seed uses."""
    return [f"{SYNTHETIC_DIR}/synthetic.npz".format(**wildcards, gan_seed=g) for g in pretrain_gan_seeds()]


# --- analysis: aggregate, stats, figures (workflow/rules/analysis.smk) ---
ANALYSIS = config["analysis"]
STATS_TABLES = [
    "effects",
    "tuned_epochs",
    "cells",
    "pairs",
    "aggregations",
    "headline",
    "friedman",
    "posthoc",
    "ranks",
    "factor_coefficients",
    "factor_anova",
]
FIGURES = [
    "boxplots",
    "heatmap",
    "cd_diagram",
    "factor_effects",
    "gain_vs_quality",
    "learning_curves",
]
SYNTHETIC_FIGURES = ["samples", "embedding"]


def get_metrics_files(wildcards):
    """Every run's metrics.tsv."""
    return expand(
        "results/metrics/{dataset}/{model}/{hp}/{run}/metrics.tsv",
        dataset=DATASETS,
        model=MODELS,
        hp=HPS,
        run=runs(),
    )


def get_meta_files(wildcards):
    """Every dataset's meta.json (its factors)."""
    return expand("results/data/{dataset}/meta.json", dataset=DATASETS)


def get_quality_files(wildcards):
    """Every synthetic set's quality.json."""
    return expand(
        f"{SYNTHETIC_DIR}/quality.json",
        dataset=DATASETS,
        generator=GENERATORS,
        fraction=GAN_FRACTIONS,
        gan_seed=GAN_SEEDS,
    )


def get_histories(wildcards):
    """Every trained model's history.tsv (learning curves)."""
    return expand(
        "results/models/{dataset}/{model}/{hp}/{run}/seed{seed}/history.tsv",
        dataset=DATASETS,
        model=MODELS,
        hp=HPS,
        run=runs(),
        seed=SEEDS,
    )


def analysis_targets():
    """The runs table, the statistics, the figures and the synthetic-vs-real figures."""
    return (
        ["results/tables/runs.tsv"]
        + expand("results/stats/{table}.tsv", table=STATS_TABLES)
        + expand("results/figures/{name}.{ext}", name=FIGURES, ext=["png", "svg"])
        + expand(
            "results/figures/synthetic/{dataset}/{generator}/frac{fraction}/gseed{gan_seed}/{figure}.png",
            dataset=DATASETS,
            generator=GENERATORS,
            fraction=GAN_FRACTIONS,
            gan_seed=GAN_SEEDS,
            figure=SYNTHETIC_FIGURES,
        )
    )


def all_targets():
    """What the default target (all) builds: the furthest stage that exists for every configured cell."""
    return data_targets() + synthetic_targets() + metrics_targets() + analysis_targets()
