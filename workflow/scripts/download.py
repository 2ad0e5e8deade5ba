"""Snakemake entry: fetch one UEA dataset (see synthtl.fetch)."""
from pathlib import Path

from synthtl.fetch import fetch
from synthtl.logs import log_to

log_to(snakemake.log[0])
fetch(snakemake.wildcards.dataset, Path(snakemake.output.record).parent, snakemake.params.source)
