"""pretrain: train one cell's classifier on synthetic data only (each seed on its GAN seed's set; early stopping on real val)."""

from synthtl.logs import finish, log_to
from synthtl.naming import parse_hp

log_to(snakemake.log[0])  # first: TensorFlow's start-up lines then go to the job's log
from synthtl.transfer import run_pretrain  # noqa: E402

run_pretrain(
    npz=snakemake.input.npz,
    synthetic=list(snakemake.input.synthetic),
    gan_seeds=snakemake.params.gan_seeds,
    model=snakemake.wildcards.model,
    network=snakemake.params.network,
    hp=parse_hp(snakemake.wildcards.hp),
    patience=snakemake.params.patience,
    seeds=snakemake.params.seeds,
    models=snakemake.output.models,
    histories=snakemake.output.histories,
    records=snakemake.output.records,
    threads=snakemake.threads,
    mixed_precision=snakemake.params.mixed_precision,
    budget=snakemake.params.budget,
)
finish()
