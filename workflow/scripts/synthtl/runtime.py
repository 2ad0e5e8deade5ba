"""TensorFlow process setup shared by every training step: threads, GPUs, determinism, seeds."""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def configure(threads: int, mixed_precision: bool = False, deterministic: bool = True) -> None:
    """Set TF's thread pools to the job's `threads`, let GPU memory grow, make ops deterministic.

    Call once, before any TensorFlow op runs: thread pools cannot change afterwards.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    try:
        tf.config.threading.set_intra_op_parallelism_threads(int(threads))
        tf.config.threading.set_inter_op_parallelism_threads(int(threads))
    except RuntimeError:  # already initialised in this process (tests call configure repeatedly)
        log.debug("TensorFlow thread pools already set")
    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:
            log.debug("memory growth already fixed for %s", gpu.name)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.mixed_precision.set_global_policy("mixed_float16" if mixed_precision else "float32")
    log.info("TensorFlow %s, %d thread(s), GPUs: %s, mixed precision: %s",
             tf.__version__, threads, [g.name for g in gpus] or "none", mixed_precision)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow (keras.utils.set_random_seed) for one run."""
    import keras  # noqa: PLC0415

    keras.utils.set_random_seed(int(seed))
