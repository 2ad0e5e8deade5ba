# train_gan -> synthesize -> synthetic_quality: a generator per (dataset, generator, fraction,
# GAN seed; config gan.seeds), its labelled synthetic set, and how good that set is (scored on TRAIN/VAL only, never TEST).
# Priorities: a generator heads the longest chain (train_gan -> synthesize -> pretrain ->
# finetune -> evaluate_transfer), so it starts first; pretrain/finetune come next (2),
# then baselines (1), and the short scoring jobs (0) fill the end. Every TensorFlow rule
# has 1 thread, so the numbers do not depend on --cores (at 2 threads the generators used
# 1.1 cores and ran alone on a 2-core machine).


rule train_gan:
    input:
        npz="results/data/{dataset}/prepared.npz",
    output:
        model=directory("results/gan/{dataset}/{generator}/frac{fraction}/gseed{gan_seed}/model"),
        history="results/gan/{dataset}/{generator}/frac{fraction}/gseed{gan_seed}/history.tsv",
    log:
        "logs/train_gan/{dataset}/{generator}/frac{fraction}/gseed{gan_seed}.log",
    benchmark:
        "results/benchmarks/train_gan/{dataset}/{generator}/frac{fraction}/gseed{gan_seed}.tsv"
    priority: 3
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    resources:
        mem_mb=get_gan_mem_mb,
        gpu=1,
    params:
        settings=get_gan_settings,
        seed=get_gan_seed,
        mixed_precision=config["gan"]["mixed_precision"],
    script:
        "../scripts/train_gan.py"


rule synthesize:
    input:
        model=rules.train_gan.output.model,
        npz="results/data/{dataset}/prepared.npz",
    output:
        synthetic="results/synthetic/{dataset}/{generator}/frac{fraction}/gseed{gan_seed}/synthetic.npz",
    log:
        "logs/synthesize/{dataset}/{generator}/frac{fraction}/gseed{gan_seed}.log",
    benchmark:
        "results/benchmarks/synthesize/{dataset}/{generator}/frac{fraction}/gseed{gan_seed}.tsv"
    priority: 3
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        gpu=1,
    params:
        multiple=config["gan"]["synthetic_multiple"],
        mixed_precision=config["gan"]["mixed_precision"],
    script:
        "../scripts/synthesize.py"


rule synthetic_quality:
    input:
        synthetic=rules.synthesize.output.synthetic,
        npz="results/data/{dataset}/prepared.npz",
    output:
        quality="results/synthetic/{dataset}/{generator}/frac{fraction}/gseed{gan_seed}/quality.json",
        samples="results/synthetic/{dataset}/{generator}/frac{fraction}/gseed{gan_seed}/samples.png",
        embedding="results/synthetic/{dataset}/{generator}/frac{fraction}/gseed{gan_seed}/embedding.png",
        embedding_svg="results/synthetic/{dataset}/{generator}/frac{fraction}/gseed{gan_seed}/embedding.svg",
    log:
        "logs/synthetic_quality/{dataset}/{generator}/frac{fraction}/gseed{gan_seed}.log",
    benchmark:
        "results/benchmarks/synthetic_quality/{dataset}/{generator}/frac{fraction}/gseed{gan_seed}.tsv"
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        seed=get_gan_seed,
        title=get_synthetic_title,
    script:
        "../scripts/synthetic_quality.py"
