# pretrain -> finetune: the two-phase arm. A classifier with the baseline cell's network,
# hyperparameters and seeds is trained on a synthetic set, then fine-tuned on real TRAIN.
# finetune depends on the pretrained model files only (not on the GAN), so changing the
# fine-tuning strategy reruns finetune and evaluate, never pretraining or the generators.


rule pretrain:
    input:
        npz="results/data/{dataset}/prepared.npz",
        # one per classifier seed (SEEDS order): the set of its GAN seed, gan_seed_for(seed, gan.seeds)
        synthetic=get_pretrain_synthetic,
    # All seeds in one job; update() keeps existing seed folders and the job retrains only
    # seeds whose run.json fingerprint (sha256 of the inputs + settings + seed) is missing
    # or stale — adding a seed trains only that seed. A seed's fingerprint covers only its
    # own synthetic set and GAN seed, so adding a GAN seed retrains only the seeds it moves.
    output:
        models=update(per_seed(PRETRAIN_DIR, "model.keras")),
        histories=update(per_seed(PRETRAIN_DIR, "history.tsv")),
        records=update(per_seed(PRETRAIN_DIR, "run.json")),
    log:
        "logs/pretrain/{dataset}/{model}/{hp}/{generator}/frac{fraction}.log",
    benchmark:
        "results/benchmarks/pretrain/{dataset}/{model}/{hp}/{generator}/frac{fraction}.tsv"
    priority: 2
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
        gan_seeds=pretrain_gan_seeds(),
        mixed_precision=CLASSIFIER["mixed_precision"],
        budget=get_pretrain_budget,
    script:
        "../scripts/pretrain.py"


rule finetune:
    input:
        npz="results/data/{dataset}/prepared.npz",
        pretrained=per_seed(PRETRAIN_DIR, "model.keras"),
        # the pretrain run.json beside each model: the GAN seed of the set it was pretrained on
        pretrained_records=per_seed(PRETRAIN_DIR, "run.json"),
    # Same per-seed reuse as pretrain: update() outputs, fingerprint in run.json (it covers
    # each seed's pretrained model.keras, so a retrained pretrain seed is fine-tuned again).
    output:
        models=update(per_seed(FINETUNE_DIR, "model.keras")),
        histories=update(per_seed(FINETUNE_DIR, "history.tsv")),
        records=update(per_seed(FINETUNE_DIR, "run.json")),
    log:
        "logs/finetune/{dataset}/{model}/{hp}/{generator}/frac{fraction}/{regime}/{strategy}.log",
    benchmark:
        "results/benchmarks/finetune/{dataset}/{model}/{hp}/{generator}/frac{fraction}/{regime}/{strategy}.tsv"
    priority: 2
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        gpu=1,
    params:
        patience=CLASSIFIER["patience"],
        seeds=SEEDS,
        strategy_settings=get_strategy_settings,
        mixed_precision=CLASSIFIER["mixed_precision"],
    script:
        "../scripts/finetune.py"
