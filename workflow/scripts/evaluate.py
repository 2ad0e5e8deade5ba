"""evaluate: every seed of one run on TEST -> metrics.tsv (one row per seed)."""

from synthtl.logs import log_to
from synthtl.metrics import evaluate_run

log_to(snakemake.log[0])
evaluate_run(
    npz=snakemake.input.npz,
    dataset=snakemake.wildcards.dataset,
    model=snakemake.wildcards.model,
    hp=snakemake.wildcards.hp,
    run=snakemake.wildcards.run,
    seeds=snakemake.params.seeds,
    models=snakemake.input.models,
    records=snakemake.input.records,
    out_tsv=snakemake.output.metrics,
    threads=snakemake.threads,
)
