"""Class-conditional convolutional WGAN-GP (Gulrajani et al. 2017) for multivariate series.

The generator maps noise and a class label to a (time, channels) series (label embedding
joined to the noise, dense projection, two upsampling conv blocks, cropped to the length);
the critic is a strided conv net with a projection head (Miyato & Koyama 2018) for the
label. `ConditionalWGAN` is a keras.Model with its own train_step, following Keras 3's
"Customizing fit()" GAN pattern; the helpers below it are shared with TimeGAN.

Every critic update sees its own real batch (Gulrajani et al.'s Algorithm 1): each train_step
receives n_critic consecutive batches of the seeded real stream and the critic steps take
one each. Gulrajani et al. train with Adam at lr 1e-4, beta_1 0, beta_2 0.9 and n_critic 5;
all four are settings (the defaults here are the laptop config's faster 1e-3 / 0.5 / 0.9 / 2).

Under Keras' mixed_float16 policy (gan.mixed_precision) the layers compute in float16 but
the series, the scores and every loss are float32, the gradient penalty is taken in
float32, and each optimizer is a LossScaleOptimizer whose scale_loss() the train steps
apply before differentiating (its apply() unscales and skips steps with non-finite grads).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from synthtl.generators import Generator, check_losses
from synthtl.memory import check_memory_limit, wgan_mb


def build_wgan_generator(length: int, channels: int, n_classes: int, latent_dim: int = 32,
                         filters: int = 64) -> keras.Model:
    """Noise (latent_dim,) and label () -> series (length, channels)."""
    z = keras.Input((latent_dim,), name="noise")
    label = keras.Input((), dtype="int32", name="label")
    embedded = layers.Flatten()(layers.Embedding(n_classes, latent_dim)(label[:, None]))
    h = layers.Concatenate()([z, embedded])
    start = math.ceil(length / 4)
    h = layers.Dense(start * filters * 2)(h)
    h = layers.LeakyReLU(0.2)(layers.Reshape((start, filters * 2))(h))
    for width in (filters * 2, filters):
        h = layers.UpSampling1D(2)(h)
        h = layers.Conv1D(width, 5, padding="same")(h)
        h = layers.LeakyReLU(0.2)(layers.BatchNormalization()(h))
    h = layers.Conv1D(channels, 5, padding="same", dtype="float32", name="series")(h)  # float32 under mixed precision
    series = layers.Cropping1D((0, 4 * start - length), dtype="float32")(h)
    return keras.Model([z, label], series, name="wgan_generator")


def build_wgan_critic(length: int, channels: int, n_classes: int, filters: int = 64) -> keras.Model:
    """Series (length, channels) and label () -> unbounded score (projection-conditioned)."""
    x = keras.Input((length, channels), name="series")
    label = keras.Input((), dtype="int32", name="label")
    h = x
    for width in (filters, filters * 2, filters * 2):
        h = layers.LeakyReLU(0.2)(layers.Conv1D(width, 5, strides=2, padding="same")(h))
    features = layers.Flatten()(h)
    embedded = layers.Flatten()(layers.Embedding(n_classes, features.shape[-1])(label[:, None]))
    projection = layers.Dot(axes=1)([features, embedded])
    score = layers.Add(dtype="float32")([layers.Dense(1)(features), projection])  # float32 under mixed precision
    return keras.Model([x, label], score, name="wgan_critic")


class ConditionalWGAN(keras.Model):
    """WGAN-GP: n_critic critic updates with gradient penalty per generator update."""

    def __init__(self, generator: keras.Model, critic: keras.Model, latent_dim: int, n_critic: int = 5,
                 gp_weight: float = 10.0, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.critic = generator, critic
        self.latent_dim, self.n_critic, self.gp_weight = latent_dim, n_critic, gp_weight
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("d_loss", "g_loss", "gp", "w_distance")}

    def compile(self, d_optimizer: keras.optimizers.Optimizer, g_optimizer: keras.optimizers.Optimizer) -> None:
        super().compile()
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
        self.d_optimizer.build(self.critic.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    @property
    def metrics(self) -> list:
        return list(self.trackers.values())

    def call(self, inputs, training: bool = False):
        return self.generator(inputs, training=training)

    def gradient_penalty(self, real, fake, labels):
        """Mean (||grad critic(interpolate)|| - 1)^2 on random interpolates of real and fake."""
        alpha = keras.random.uniform((ops.shape(real)[0], 1, 1), seed=self.seed_generator)
        mixed = real + alpha * (fake - real)
        with tf.GradientTape() as tape:
            tape.watch(mixed)
            score = self.critic([mixed, labels], training=True)
        grads = ops.cast(tape.gradient(score, mixed), "float32")
        norm = ops.sqrt(ops.sum(ops.square(grads), axis=(1, 2)) + 1e-12)
        return ops.mean(ops.square(norm - 1.0))

    def train_step(self, data):
        reals, all_labels = data  # (n_critic, batch, time, channels) and (n_critic, batch): a real batch per critic step
        batch = ops.shape(reals)[1]
        # 1. Train the critic n_critic times, each on its own real batch against fresh fakes
        #    (a graph loop: traced once, not unrolled n_critic times).
        def critic_step(i, d_loss, gp, w_distance):
            real, labels = reals[i], all_labels[i]
            z = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
            with tf.GradientTape() as tape:
                fake = self.generator([z, labels], training=True)
                d_real = ops.mean(self.critic([real, labels], training=True))
                d_fake = ops.mean(self.critic([fake, labels], training=True))
                gp = self.gradient_penalty(real, fake, labels)
                d_loss = d_fake - d_real + self.gp_weight * gp
                scaled = self.d_optimizer.scale_loss(d_loss)  # loss scaling under mixed precision
            grads = tape.gradient(scaled, self.critic.trainable_variables)
            self.d_optimizer.apply_gradients(zip(grads, self.critic.trainable_variables))
            return i + 1, d_loss, gp, d_real - d_fake

        zero = tf.constant(0.0)
        _, d_loss, gp, w_distance = tf.while_loop(lambda i, *_: i < self.n_critic, critic_step,
                                                  (tf.constant(0), zero, zero, zero))
        # 2. Train the generator to raise the critic's score of its fakes (for the last real batch's labels).
        labels = all_labels[-1]
        z = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            fake = self.generator([z, labels], training=True)
            g_loss = -ops.mean(self.critic([fake, labels], training=True))
            scaled = self.g_optimizer.scale_loss(g_loss)
        grads = tape.gradient(scaled, self.generator.trainable_variables)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_variables))
        # 3. Track the losses; Keras resets the trackers every epoch.
        for name, value in (("d_loss", d_loss), ("g_loss", g_loss), ("gp", gp), ("w_distance", w_distance)):
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}


class LossMonitor(keras.callbacks.Callback):
    """Checks every step's losses for divergence and hands one row per epoch to `on_epoch`."""

    def __init__(self, steps_per_epoch: int, max_abs_loss: float, on_epoch: Callable[[dict], None] | None,
                 extra: dict | None = None, first_epoch: int = 0):
        super().__init__()
        self.steps_per_epoch, self.max_abs_loss, self.on_epoch = steps_per_epoch, max_abs_loss, on_epoch
        self.extra, self.first_epoch, self.rows = extra or {}, first_epoch, []

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self.started = epoch, time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        step = (self.first_epoch + self.epoch) * self.steps_per_epoch + batch + 1
        check_losses(logs or {}, step, self.max_abs_loss)

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": self.first_epoch + epoch + 1, **self.extra,
               "step": (self.first_epoch + epoch + 1) * self.steps_per_epoch,
               **{k: float(v) for k, v in (logs or {}).items()},
               "seconds": round(time.perf_counter() - self.started, 4)}
        self.rows.append(row)
        if self.on_epoch is not None:
            self.on_epoch(row)


def mixed_precision_active() -> bool:
    """Whether Keras' global policy computes in float16 (runtime.configure(..., mixed_precision=True))."""
    return keras.mixed_precision.global_policy().compute_dtype == "float16"


def make_optimizer(learning_rate: float, **kwargs) -> keras.optimizers.Optimizer:
    """Adam, wrapped in a LossScaleOptimizer when the mixed_float16 policy is active."""
    optimizer = keras.optimizers.Adam(learning_rate, **kwargs)
    return keras.optimizers.LossScaleOptimizer(optimizer) if mixed_precision_active() else optimizer


def real_batches(X: np.ndarray, y: np.ndarray, batch_size: int, seed: int, group: int = 1) -> tf.data.Dataset:
    """An endless, seeded, reshuffled stream of full (X, y) batches; with group > 1, `group` consecutive batches stacked."""
    data = tf.data.Dataset.from_tensor_slices((X.astype(np.float32), y.astype(np.int32)))
    data = data.shuffle(len(X), seed=seed, reshuffle_each_iteration=True).repeat()
    data = data.batch(batch_size, drop_remainder=True)
    if group > 1:
        data = data.batch(group, drop_remainder=True)
    return data.prefetch(2)


def estimate_memory_mb(n_cases: int, length: int, channels: int, settings: dict) -> float:
    """Peak memory (MB) of training the WGAN-GP (synthtl.memory.wgan_mb), unset settings at WGANGenerator's defaults."""
    return wgan_mb(n_cases, length, channels, WGANGenerator(**settings).settings)


def monitored_fit(model: keras.Model, data: tf.data.Dataset, epochs: int, steps_per_epoch: int,
                  max_abs_loss: float, on_epoch, extra: dict | None = None, first_epoch: int = 0) -> list[dict]:
    """model.fit with the divergence check and per-epoch rows; returns the rows."""
    monitor = LossMonitor(steps_per_epoch, max_abs_loss, on_epoch, extra, first_epoch)
    model.fit(data, epochs=epochs, steps_per_epoch=steps_per_epoch, callbacks=[monitor], shuffle=False, verbose=0)
    return monitor.rows


def labelled_noise_batches(model: keras.Model, counts: np.ndarray, latent_shape: tuple, seed: int,
                           noise: str = "normal", batch: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Run `model` on seeded noise for counts[c] cases of each class c; returns shuffled (X, y)."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.repeat(np.arange(len(counts)), counts)).astype(np.int64)
    draw = rng.standard_normal if noise == "normal" else rng.random
    out = []
    for start in range(0, len(labels), batch):
        part = labels[start:start + batch]
        z = draw((len(part), *latent_shape)).astype(np.float32)
        out.append(np.asarray(model([z, part.astype(np.int32)], training=False)))
    X = np.concatenate(out) if out else np.zeros((0,), np.float32)
    return X.astype(np.float32), labels


class WGANGenerator(Generator):
    """The config's `wgan` generator: fit/sample/save/load around ConditionalWGAN."""

    name = "wgan"

    def __init__(self, seed: int = 0, epochs: int = 12, steps_per_epoch: int = 40, batch_size: int = 32,
                 latent_dim: int = 32, filters: int = 32, learning_rate: float = 0.001, n_critic: int = 2,
                 gp_weight: float = 10.0, max_abs_loss: float = 1.0e6, beta_1: float = 0.5, beta_2: float = 0.9):
        super().__init__(seed, epochs=int(epochs), steps_per_epoch=int(steps_per_epoch), batch_size=int(batch_size),
                         latent_dim=int(latent_dim), filters=int(filters), learning_rate=float(learning_rate),
                         n_critic=int(n_critic), gp_weight=float(gp_weight), max_abs_loss=float(max_abs_loss),
                         beta_1=float(beta_1), beta_2=float(beta_2))
        self.network: keras.Model | None = None

    def check_memory(self, shape: Sequence[int], limit_mb: float, where: str = "") -> None:
        """Raise ValueError before training when data of `shape` (cases, time, channels) need more than limit_mb."""
        n_cases, length, channels = (int(v) for v in shape)
        s = self.settings
        check_memory_limit(
            estimate_memory_mb(n_cases, length, channels, s), limit_mb, where,
            f"wgan on {n_cases} cases of length {length} x {channels} channels (gan.wgan.batch_size="
            f"{s['batch_size']}, filters={s['filters']})", "lower gan.wgan.batch_size or gan.wgan.filters")

    def _build(self) -> keras.Model:
        s = self.settings
        return build_wgan_generator(*self.shape, self.n_classes, s["latent_dim"], s["filters"])

    def fit(self, X: np.ndarray, y: np.ndarray, n_classes: int | None = None,
            on_epoch: Callable[[dict], None] | None = None) -> list[dict]:
        """Train the WGAN-GP for epochs x steps_per_epoch generator steps."""
        self._remember(X, y, n_classes)
        s = self.settings
        self.mixed_precision = mixed_precision_active()
        keras.utils.set_random_seed(self.seed)
        self.network = self._build()
        critic = build_wgan_critic(*self.shape, self.n_classes, s["filters"])
        gan = ConditionalWGAN(self.network, critic, s["latent_dim"], s["n_critic"], s["gp_weight"], seed=self.seed)
        betas = {"beta_1": s["beta_1"], "beta_2": s["beta_2"]}
        gan.compile(d_optimizer=make_optimizer(s["learning_rate"], **betas),
                    g_optimizer=make_optimizer(s["learning_rate"], **betas))
        data = real_batches(X, y, s["batch_size"], self.seed, group=s["n_critic"])  # a real batch per critic step
        return monitored_fit(gan, data, s["epochs"], s["steps_per_epoch"], s["max_abs_loss"], on_epoch)

    def sample(self, n_per_class: int | Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Seeded noise through the trained generator, counts per class as asked."""
        return labelled_noise_batches(self.network, self._counts(n_per_class), (self.settings["latent_dim"],),
                                      self.seed + 1)

    def save(self, folder: str | Path) -> None:
        """generator.json and the generator network's weights."""
        folder = self._write_spec(folder)
        self.network.save_weights(folder / "generator.weights.h5")

    @classmethod
    def load(cls, folder: str | Path) -> "WGANGenerator":
        """Rebuild the network from generator.json and read its weights."""
        generator = cls._from_spec(folder)
        generator.network = generator._build()
        generator.network.load_weights(Path(folder) / "generator.weights.h5")
        return generator
