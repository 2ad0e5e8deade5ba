"""evaluate: every seed of each given run on TEST -> one metrics.tsv per run (one row per seed)."""

from synthtl.logs import finish, log_to
from synthtl.metrics import evaluate_runs

log_to(snakemake.log[0])
evaluate_runs(
    npz=snakemake.input.npz,
    dataset=snakemake.wildcards.dataset,
    model=snakemake.wildcards.model,
    hp=snakemake.wildcards.hp,
    runs=snakemake.params.runs,
    seeds=snakemake.params.seeds,
    models=snakemake.input.models,
    records=snakemake.input.records,
    out_tsvs=snakemake.output.metrics,
    threads=snakemake.threads,
)
finish()
