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
    log:
        "logs/baseline/{dataset}/{model}/{hp}/frac{fraction}.log",
    benchmark:
        "results/benchmarks/baseline/{dataset}/{model}/{hp}/frac{fraction}.tsv"
    priority: 1
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        gpu=1,
    params:
        network=get_network,
        patience=CLASSIFIER["patience"],
        seeds=SEEDS,
        mixed_precision=CLASSIFIER["mixed_precision"],
    script:
        "../scripts/baseline.py"


rule evaluate:
    input:
        npz="results/data/{dataset}/prepared.npz",
        models=get_run_models,
        records=get_run_records,
    output:
        metrics="results/metrics/{dataset}/{model}/{hp}/{run}/metrics.tsv",
    log:
        "logs/evaluate/{dataset}/{model}/{hp}/{run}.log",
    benchmark:
        "results/benchmarks/evaluate/{dataset}/{model}/{hp}/{run}.tsv"
    # Baseline runs: one job per run. Transfer runs are scored per cell by evaluate_transfer.
    wildcard_constraints:
        run=r"baseline/frac[0-9.]+",
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        gpu=1,
    params:
        seeds=SEEDS,
        runs=get_baseline_run,
    script:
        "../scripts/evaluate.py"


rule evaluate_transfer:
    # Every pretrain and finetune run of a cell (dataset x model x hp) in one job: starting
    # TensorFlow costs ~4.5 s per process, scoring a run ~0.3 s, so one job per run spent
    # most of the default experiment's evaluation time starting up. A changed or added run
    # re-scores the cell's other transfer runs too (seconds); TEST is read here only.
    input:
        npz="results/data/{dataset}/prepared.npz",
        models=get_transfer_models,
        records=get_transfer_records,
    output:
        metrics=[f"results/metrics/{{dataset}}/{{model}}/{{hp}}/{run}/metrics.tsv" for run in transfer_runs()],
    log:
        "logs/evaluate_transfer/{dataset}/{model}/{hp}.log",
    benchmark:
        "results/benchmarks/evaluate_transfer/{dataset}/{model}/{hp}.tsv"
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        gpu=1,
    params:
        seeds=SEEDS,
        runs=transfer_runs(),
    script:
        "../scripts/evaluate.py"
