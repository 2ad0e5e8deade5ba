"""baseline: train one cell's classifier on real TRAIN (or a fraction of it), every seed."""

from synthtl.logs import finish, log_to
from synthtl.naming import parse_hp

log_to(snakemake.log[0])  # first: TensorFlow's start-up lines then go to the job's log
from synthtl.training import run_baseline  # noqa: E402

run_baseline(
    npz=snakemake.input.npz,
    model=snakemake.wildcards.model,
    network=snakemake.params.network,
    hp=parse_hp(snakemake.wildcards.hp),
    patience=snakemake.params.patience,
    seeds=snakemake.params.seeds,
    train_fraction=snakemake.wildcards.fraction,
    models=snakemake.output.models,
    histories=snakemake.output.histories,
    records=snakemake.output.records,
    threads=snakemake.threads,
    mixed_precision=snakemake.params.mixed_precision,
)
finish()
