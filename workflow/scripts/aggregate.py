"""Snakemake entry: every metrics.tsv with dataset factors and synthetic quality -> the runs table."""
from synthtl.logs import log_to
from synthtl.tables import aggregate

log = log_to(snakemake.log[0])
runs = aggregate(list(snakemake.input.metrics), list(snakemake.input.meta), list(snakemake.input.quality), snakemake.output.runs)
log.info("runs table: %d rows, %d columns -> %s", len(runs), runs.shape[1], snakemake.output.runs)
