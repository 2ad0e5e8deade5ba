# baseline -> evaluate: classifiers trained on real data only, and the TEST evaluation of
# every arm's runs (baseline, pretrain-only, finetune).


rule baseline:
    input:
        npz="results/data/{dataset}/prepared.npz",
    # One job trains ALL seeds of the cell in one process (TensorFlow's start-up costs
    # seconds). The per-seed files are update() outputs: Snakemake does not delete existing
    # seed folders before the job, and the job reuses every seed whose run.json fingerprint
    # (sha256 of the inputs + every setting + the seed) still matches, training only the
    # missing or stale seeds — so adding a seed trains only that seed.
    output:
        models=update(per_seed(BASELINE_DIR, "model.keras")),
        histories=update(per_seed(BASELINE_DIR, "history.tsv")),
        records=update(per_seed(BASELINE_DIR, "run.json")),
    params:
        network=get_network,
        patience=CLASSIFIER["patience"],
        seeds=SEEDS,
        mixed_precision=CLASSIFIER["mixed_precision"],
    log:
        "logs/baseline/{dataset}/{model}/{hp}/frac{fraction}.log",
    benchmark:
        "results/benchmarks/baseline/{dataset}/{model}/{hp}/frac{fraction}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        gpu=1,
    conda:
        "../../envs/tensorflow.yaml"
    script:
        "../scripts/baseline.py"


rule evaluate:
    input:
        npz="results/data/{dataset}/prepared.npz",
        models=get_run_models,
        records=get_run_records,
    output:
        metrics="results/metrics/{dataset}/{model}/{hp}/{run}/metrics.tsv",
    params:
        seeds=SEEDS,
    log:
        "logs/evaluate/{dataset}/{model}/{hp}/{run}.log",
    benchmark:
        "results/benchmarks/evaluate/{dataset}/{model}/{hp}/{run}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        gpu=1,
    conda:
        "../../envs/tensorflow.yaml"
    script:
        "../scripts/evaluate.py"
