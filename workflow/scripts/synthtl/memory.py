"""Memory models of the generator jobs: what a job needs, what it asks the scheduler for, and the early check.

Pure arithmetic (no TensorFlow), so the workflow sizes each train_gan job from its data
(results/data/{dataset}/meta.json) while it plans, and the job itself stops before training
when it was given less than it needs (check_memory_limit). Every function takes the
generator's complete settings (the config's, with the schema's defaults filled in).
The constants were fitted to peak RSS on CPU (TensorFlow 2.21, one thread): WGAN to the
workflow's train_gan jobs (711-766 MB at config.yaml's sizes), TimeGAN to
benchmarks/bench_timegan.py --lengths and those jobs.
"""

from __future__ import annotations

import math

WGAN_BASE_MB = 700.0  # Python, TensorFlow, Keras and the traced networks
WGAN_BYTES_PER_FILTER_STEP = 200.0  # bytes kept per (batch case, time step, filter) in a critic step with its penalty
# TimeGAN, refitted 2026-12-04 to bench_timegan.py --lengths (3 layers: peak 1,337 MB at 30 steps, 1,411 at
# 300, 2,043 at 2,500) and to the workflow's own train_gan jobs (2 layers, <= 256 steps: 1,063-1,140 MB).
TIMEGAN_BASE_MB = 700.0  # Python, TensorFlow, Keras
TIMEGAN_MB_PER_LAYER = 210.0  # the five networks' traced graphs of the three phases grow with num_layers
TIMEGAN_BYTES_PER_UNIT_STEP = 250.0  # joint phase: bytes per (batch case, time step, GRU unit of each layer)
JITTER_MB = 500.0  # numpy only: a few copies of one fraction of TRAIN
HEADROOM = 1.25  # a request is the estimate plus a quarter (allocator slack, measurement spread)
MIN_REQUEST_MB = 1000


def training_length(length: int, max_length: int) -> int:
    """Steps TimeGAN's recurrent networks run over: the series' length, at most max_length."""
    return min(int(length), int(max_length))


def wgan_mb(n_cases: int, length: int, channels: int, settings: dict) -> float:
    """Peak MB of training the WGAN-GP: a critic step keeps the generator's and three critic passes'
    activations (real, fake, the penalty's interpolates, differentiated twice), ~batch x length x filters."""
    batch, filters, n_critic = (int(settings[k]) for k in ("batch_size", "filters", "n_critic"))
    activations = WGAN_BYTES_PER_FILTER_STEP * batch * length * filters
    data = 4.0 * channels * length * (3 * n_cases + 2 * n_critic * batch)
    return WGAN_BASE_MB + (activations + data) / 2 ** 20


def timegan_mb(n_cases: int, length: int, channels: int, settings: dict) -> float:
    """Peak MB of training TimeGAN. The joint phase dominates: its generator loss keeps every step of
    ~19 GRU layer passes for the tape, so memory grows with batch x training_length x hidden_dim x
    num_layers; the data (float32, a few copies at full and training length) are small for every UEA set."""
    steps = training_length(length, settings["max_length"])
    batch, hidden, layers = (int(settings[k]) for k in ("batch_size", "hidden_dim", "num_layers"))
    activations = TIMEGAN_BYTES_PER_UNIT_STEP * batch * steps * hidden * layers
    data = 4.0 * n_cases * channels * (3 * length + 2 * steps)
    return TIMEGAN_BASE_MB + TIMEGAN_MB_PER_LAYER * layers + (activations + data) / 2 ** 20


def generator_mb(generator: str, n_cases: int, length: int, channels: int, settings: dict) -> float:
    """Peak MB of training `generator` (wgan | timegan | jitter) on n_cases x length x channels."""
    if generator == "wgan":
        return wgan_mb(n_cases, length, channels, settings)
    if generator == "timegan":
        return timegan_mb(n_cases, length, channels, settings)
    return JITTER_MB + 3 * 4.0 * n_cases * length * channels / 2 ** 20


def request_mb(need_mb: float, attempt: int = 1) -> int:
    """The mem_mb a job asks for: the estimate with HEADROOM, rounded up to 100 MB, times the attempt."""
    return int(max(MIN_REQUEST_MB, math.ceil(need_mb * HEADROOM / 100) * 100) * attempt)


def check_memory_limit(need_mb: float, limit_mb: float | None, where: str, what: str, remedy: str) -> None:
    """Raise ValueError when a job needs more memory than it may use; the message says what, where and what to do."""
    if limit_mb is not None and need_mb > limit_mb:
        prefix = f"{where}: " if where else ""
        raise ValueError(f"{prefix}{what} needs about {need_mb:,.0f} MB but the job may use {limit_mb:,.0f} MB "
                         f"(resources mem_mb); {remedy}, or give the job more memory")
