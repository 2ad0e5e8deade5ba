"""finetune: continue each seed's pretrained classifier on real TRAIN with the configured strategy."""

from synthtl.logs import finish, log_to
from synthtl.naming import parse_hp

log_to(snakemake.log[0])  # first: TensorFlow's start-up lines then go to the job's log
from synthtl.transfer import run_finetune  # noqa: E402

run_finetune(
    npz=snakemake.input.npz,
    pretrained=snakemake.input.pretrained,
    pretrained_records=snakemake.input.pretrained_records,
    model=snakemake.wildcards.model,
    hp=parse_hp(snakemake.wildcards.hp),
    patience=snakemake.params.patience,
    seeds=snakemake.params.seeds,
    regime=snakemake.wildcards.regime,
    fraction=snakemake.wildcards.fraction,
    strategy=snakemake.wildcards.strategy,
    strategy_settings=snakemake.params.strategy_settings,
    models=snakemake.output.models,
    histories=snakemake.output.histories,
    records=snakemake.output.records,
    threads=snakemake.threads,
    mixed_precision=snakemake.params.mixed_precision,
)
finish()
