"""Snakemake entry: train one generator on one fraction of TRAIN (see synthtl.generators)."""
from synthtl.generators import train_generator
from synthtl.logs import finish, log_to

log_to(snakemake.log[0])
train_generator(
    snakemake.input.npz,
    dataset=snakemake.wildcards.dataset,
    generator=snakemake.wildcards.generator,
    fraction=snakemake.wildcards.fraction,
    settings=dict(snakemake.params.settings),
    seed=snakemake.params.seed,
    model_dir=snakemake.output.model,
    history_path=snakemake.output.history,
    threads=snakemake.threads,
    mixed_precision=snakemake.params.mixed_precision,
    mem_limit_mb=snakemake.resources.mem_mb,
)
finish()
