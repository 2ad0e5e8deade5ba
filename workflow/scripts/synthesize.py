"""Snakemake entry: sample a class-balanced synthetic set from a trained generator (see synthtl.generators)."""
from synthtl.generators import synthesize
from synthtl.logs import finish, log_to

log_to(snakemake.log[0])
synthesize(
    snakemake.input.model,
    snakemake.input.npz,
    multiple=snakemake.params.multiple,
    out_path=snakemake.output.synthetic,
    threads=snakemake.threads,
    mixed_precision=snakemake.params.mixed_precision,
)
finish()
