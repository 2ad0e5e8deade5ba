"""Snakemake entry: parse, harmonise, split and normalise one dataset (see synthtl.data)."""
from synthtl.data import prepare_files
from synthtl.logs import log_to

log_to(snakemake.log[0])
prepare_files(
    snakemake.input.train,
    snakemake.input.test,
    snakemake.input.record,
    snakemake.wildcards.dataset,
    snakemake.params.settings,
    snakemake.output.npz,
    snakemake.output.meta,
)
