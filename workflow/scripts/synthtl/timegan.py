"""Class-conditional TimeGAN (Yoon, Jarrett & van der Schaar, NeurIPS 2019) in Keras 3.

Five recurrent networks as in the original: embedder and recovery (an autoencoder into a
latent sequence space), generator (noise -> latent), supervisor (latent step t -> t+1) and
discriminator (latent -> real/fake logit per step). Training has the original's three
phases with its losses and weights: (1) embedding, (2) supervised, (3) joint (two
generator/embedder updates per discriminator update, which is skipped while its loss is
below 0.15; here all updates of one joint step share its real batch). Label conditioning, absent from the original: a one-hot label is joined to
every time step of the generator's noise, the supervisor's and the discriminator's input.
Data are min-max scaled to [0, 1] per channel for training, as in the original.
Under mixed precision every network's output layer and so every loss is float32, and the
optimizers scale their losses (see synthtl.gan).

Long series (setting `max_length`, default 256). TimeGAN was built for short windows (Yoon
et al. train on 24 steps); a recurrent pass costs time and memory in proportion to its
length, and at StandWalkJump's 2,500 steps, batch 128, three layers of 24 units, one joint
step took 5.5 GB and ~150 s on a CPU thread. Series longer than `max_length` are therefore
trained at `max_length` steps: each channel is averaged over `max_length` equal bins (an
area average, so no aliasing of what lies above the new Nyquist rate into what is kept), and
sampled series are mapped back to the dataset's length by linear interpolation between bin
centres, so the synthetic set has the dataset's exact shape and one label per whole series.
Shorter series are untouched (the same numbers as without the setting). The price is
detail: a synthetic series keeps at most max_length / 2 cycles per series. The alternative,
training on random windows and stitching samples together, keeps the fine detail but not
what a class is in most UEA sets (the order and shape of the whole movement or recording):
a window generator never sees where a window lies, stitched windows jump at the seams, and
a label no longer describes what one window shows. 256 steps keep every paper dataset but
AtrialFibrillation (640), UWaveGestureLibrary (315) and StandWalkJump (2,500) at full length,
and keep 10x the recurrent length that Yoon et al. used; `estimate_memory_mb` sizes a job.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from synthtl.gan import (labelled_noise_batches, make_optimizer, mixed_precision_active,
                        monitored_fit, real_batches)
from synthtl.generators import SPEC_FILE, Generator
from synthtl.memory import check_memory_limit, timegan_mb, training_length
from synthtl.timescale import resample

PHASES = ("embedding", "supervised", "joint")
GAMMA = 1.0  # weight of the discriminator's verdict on unsupervised generator output (original: 1)

def estimate_memory_mb(n_cases: int, length: int, channels: int, settings: dict) -> float:
    """Peak memory (MB) of training TimeGAN (synthtl.memory.timegan_mb), unset settings at TimeGANGenerator's defaults."""
    return timegan_mb(n_cases, length, channels, TimeGANGenerator(**settings).settings)


def _rnn(name: str, in_dim: int, hidden: int, num_layers: int, out_dim: int, length: int,
         activation: str | None = "sigmoid", n_classes: int = 0) -> keras.Model:
    """Stacked GRU + time-distributed dense; with n_classes, a one-hot label joins every step."""
    x = keras.Input((length, in_dim))
    inputs, h = [x], x
    if n_classes:
        label = keras.Input((), dtype="int32")
        onehot = ops.one_hot(label, n_classes)
        h = layers.Concatenate()([x, layers.RepeatVector(length)(onehot)])
        inputs.append(label)
    for _ in range(num_layers):
        h = layers.GRU(hidden, return_sequences=True)(h)
    out = layers.Dense(out_dim, activation=activation, dtype="float32")(h)  # float32 under mixed precision
    return keras.Model(inputs, out, name=name)


def build_timegan_networks(length: int, channels: int, n_classes: int, hidden_dim: int = 24,
                           num_layers: int = 2) -> dict[str, keras.Model]:
    """The five networks of a conditional TimeGAN; noise has `channels` dimensions per step, as in the original."""
    return {
        "embedder": _rnn("embedder", channels, hidden_dim, num_layers, hidden_dim, length),
        "recovery": _rnn("recovery", hidden_dim, hidden_dim, num_layers, channels, length),
        "generator": _rnn("generator", channels, hidden_dim, num_layers, hidden_dim, length, n_classes=n_classes),
        "supervisor": _rnn("supervisor", hidden_dim, hidden_dim, max(num_layers - 1, 1), hidden_dim, length,
                           n_classes=n_classes),
        "discriminator": _rnn("discriminator", hidden_dim, hidden_dim, num_layers, 1, length, activation=None,
                              n_classes=n_classes),
    }


def build_sampler(nets: dict[str, keras.Model]) -> keras.Model:
    """Noise and label -> series in [0, 1]: generator, supervisor, recovery."""
    z = keras.Input(nets["generator"].inputs[0].shape[1:])
    label = keras.Input((), dtype="int32")
    h = nets["supervisor"]([nets["generator"]([z, label]), label])
    return keras.Model([z, label], nets["recovery"](h), name="timegan_sampler")


def _mse(a, b):
    return ops.mean(ops.square(a - b))


def _bce(logits, target: float):
    return ops.mean(ops.binary_crossentropy(ops.full_like(logits, target), logits, from_logits=True))


class ConditionalTimeGAN(keras.Model):
    """TimeGAN with its three training phases; set `phase` before each fit."""

    def __init__(self, nets: dict[str, keras.Model], seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.nets = nets
        self.embedder, self.recovery = nets["embedder"], nets["recovery"]
        self.generator, self.supervisor, self.discriminator = nets["generator"], nets["supervisor"], nets["discriminator"]
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.phase = PHASES[0]
        names = {"embedding": ["e_loss"], "supervised": ["s_loss"],
                 "joint": ["e_loss", "s_loss", "g_loss_u", "g_loss_v", "d_loss"]}
        self.trackers = {p: {n: keras.metrics.Mean(name=n) for n in ns} for p, ns in names.items()}

    def compile(self, learning_rate: float = 0.001) -> None:
        super().compile()
        # one Adam per objective, like the original's E0/E/D/G/GS solvers
        parts = {"e0": ("embedder", "recovery"), "e": ("embedder", "recovery"), "s": ("supervisor",),
                 "g": ("generator", "supervisor"), "d": ("discriminator",)}
        self.var_lists = {k: [v for n in names for v in self.nets[n].trainable_variables] for k, names in parts.items()}
        self.optimizers = {k: make_optimizer(learning_rate) for k in parts}
        for k, opt in self.optimizers.items():
            opt.build(self.var_lists[k])

    @property
    def metrics(self) -> list:
        return list(self.trackers[self.phase].values())

    def _scaled(self, key: str, loss):
        """The loss as optimizer `key` differentiates it (scaled under mixed precision); call inside the tape."""
        return self.optimizers[key].scale_loss(loss)

    def _apply(self, key: str, tape, scaled_loss) -> None:
        self._update(key, tape.gradient(scaled_loss, self.var_lists[key]))

    def _update(self, key: str, grads):
        self.optimizers[key].apply_gradients(zip(grads, self.var_lists[key]))
        return tf.constant(True)

    def _embedding_losses(self, x, labels):
        h = self.embedder(x, training=True)
        e_loss_t0 = _mse(x, self.recovery(h, training=True))
        s_loss = _mse(h[:, 1:], self.supervisor([h, labels], training=True)[:, :-1])
        return e_loss_t0, s_loss

    def _generator_losses(self, x, labels, z):
        h = self.embedder(x, training=True)
        e_hat = self.generator([z, labels], training=True)
        h_hat = self.supervisor([e_hat, labels], training=True)
        x_hat = self.recovery(h_hat, training=True)
        g_loss_u = _bce(self.discriminator([h_hat, labels], training=True), 1.0)
        g_loss_u_e = _bce(self.discriminator([e_hat, labels], training=True), 1.0)
        s_loss = _mse(h[:, 1:], self.supervisor([h, labels], training=True)[:, :-1])
        mean_hat, var_hat = ops.moments(x_hat, axes=[0])
        mean_x, var_x = ops.moments(x, axes=[0])
        g_loss_v = (ops.mean(ops.abs(ops.sqrt(var_hat + 1e-6) - ops.sqrt(var_x + 1e-6)))
                    + ops.mean(ops.abs(mean_hat - mean_x)))
        g_loss = g_loss_u + GAMMA * g_loss_u_e + 100.0 * ops.sqrt(s_loss) + 100.0 * g_loss_v
        return g_loss, g_loss_u, g_loss_v, s_loss

    def train_step(self, data):
        x, labels = data
        if self.phase == "embedding":
            # 1. Autoencoder: embedder + recovery reconstruct the data.
            with tf.GradientTape() as tape:
                e_loss_t0, _ = self._embedding_losses(x, labels)
                e_loss0 = self._scaled("e0", 10.0 * ops.sqrt(e_loss_t0))
            self._apply("e0", tape, e_loss0)
            values = {"e_loss": e_loss_t0}
        elif self.phase == "supervised":
            # 2. Supervisor learns next-step dynamics in the (real) latent space.
            with tf.GradientTape() as tape:
                _, s_loss = self._embedding_losses(x, labels)
                scaled = self._scaled("s", s_loss)
            self._apply("s", tape, scaled)
            values = {"s_loss": s_loss}
        else:
            # 3. Joint: two generator and embedder updates, then the discriminator.
            shape = ops.shape(x)

            def generator_and_embedder_step(i, *_):
                z = keras.random.uniform(shape, seed=self.seed_generator)
                with tf.GradientTape() as tape:
                    g_loss, g_loss_u, g_loss_v, s_loss = self._generator_losses(x, labels, z)
                    scaled = self._scaled("g", g_loss)
                self._apply("g", tape, scaled)
                with tf.GradientTape() as tape:
                    e_loss_t0, s_loss_real = self._embedding_losses(x, labels)
                    e_loss = self._scaled("e", 10.0 * ops.sqrt(e_loss_t0) + 0.1 * s_loss_real)
                self._apply("e", tape, e_loss)
                return i + 1, e_loss_t0, s_loss, g_loss_u, g_loss_v

            zero = tf.constant(0.0)
            _, e_loss_t0, s_loss, g_loss_u, g_loss_v = tf.while_loop(  # a graph loop: traced once, not twice
                lambda i, *_: i < 2, generator_and_embedder_step, (tf.constant(0), zero, zero, zero, zero))
            z = keras.random.uniform(shape, seed=self.seed_generator)
            with tf.GradientTape() as tape:
                h = self.embedder(x, training=False)
                e_hat = self.generator([z, labels], training=False)
                h_hat = self.supervisor([e_hat, labels], training=False)
                d_loss = (_bce(self.discriminator([h, labels], training=True), 1.0)
                          + _bce(self.discriminator([h_hat, labels], training=True), 0.0)
                          + GAMMA * _bce(self.discriminator([e_hat, labels], training=True), 0.0))
                scaled = self._scaled("d", d_loss)
            grads = tape.gradient(scaled, self.var_lists["d"])
            # the original trains the discriminator only while it is not too good (loss > 0.15)
            tf.cond(d_loss > 0.15, lambda: self._update("d", grads), lambda: tf.constant(False))
            values = {"e_loss": e_loss_t0, "s_loss": s_loss, "g_loss_u": g_loss_u, "g_loss_v": g_loss_v,
                      "d_loss": d_loss}
        trackers = self.trackers[self.phase]
        for name, value in values.items():
            trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in trackers.items()}


class TimeGANGenerator(Generator):
    """The config's `timegan` generator: fit/sample/save/load around ConditionalTimeGAN."""

    name = "timegan"

    def __init__(self, seed: int = 0, epochs: int = 10, steps_per_epoch: int = 20, batch_size: int = 32,
                 hidden_dim: int = 24, num_layers: int = 2, learning_rate: float = 0.001, max_abs_loss: float = 1.0e6,
                 max_length: int = 256):
        if int(max_length) < 2:
            raise ValueError(f"gan.timegan.max_length must be at least 2 (the supervisor predicts the next step), "
                             f"got {max_length}")
        super().__init__(seed, epochs=int(epochs), steps_per_epoch=int(steps_per_epoch), batch_size=int(batch_size),
                         hidden_dim=int(hidden_dim), num_layers=int(num_layers), learning_rate=float(learning_rate),
                         max_abs_loss=float(max_abs_loss), max_length=int(max_length))
        self.sampler: keras.Model | None = None
        self.low = self.high = None  # per-channel min-max scaling of the training data

    @property
    def train_length(self) -> int:
        """Steps of the recurrent networks: the data's length, at most max_length."""
        return training_length(self.shape[0], self.settings["max_length"])

    def _networks(self) -> dict[str, keras.Model]:
        s = self.settings
        return build_timegan_networks(self.train_length, self.shape[1], self.n_classes, s["hidden_dim"],
                                      s["num_layers"])

    def check_memory(self, shape: Sequence[int], limit_mb: float, where: str = "") -> None:
        """Raise ValueError before training when data of `shape` (cases, time, channels) need more than limit_mb."""
        n_cases, length, channels = (int(v) for v in shape)
        need = estimate_memory_mb(n_cases, length, channels, self.settings)
        s = self.settings
        check_memory_limit(
            need, limit_mb, where,
            f"timegan on {n_cases} cases of length {length} x {channels} channels, trained at "
            f"{training_length(length, s['max_length'])} steps (gan.timegan.max_length={s['max_length']}, "
            f"batch_size={s['batch_size']}, hidden_dim={s['hidden_dim']}, num_layers={s['num_layers']})",
            "lower gan.timegan.max_length or gan.timegan.batch_size")

    def fit(self, X: np.ndarray, y: np.ndarray, n_classes: int | None = None,
            on_epoch: Callable[[dict], None] | None = None) -> list[dict]:
        """Each of the three phases for epochs x steps_per_epoch steps, on min-max scaled data of train_length steps."""
        self._remember(X, y, n_classes)
        s = self.settings
        self.mixed_precision = mixed_precision_active()
        self.low, self.high = X.min(axis=(0, 1)), X.max(axis=(0, 1))
        scaled = resample((X - self.low) / np.maximum(self.high - self.low, 1e-7), self.train_length)
        keras.utils.set_random_seed(self.seed)
        nets = self._networks()
        model = ConditionalTimeGAN(nets, seed=self.seed)
        model.compile(s["learning_rate"])
        data = real_batches(scaled, y, s["batch_size"], self.seed)
        rows = []
        for phase in PHASES:
            model.phase = phase
            model.train_function = None  # retrace train_step for this phase
            rows += monitored_fit(model, data, s["epochs"], s["steps_per_epoch"], s["max_abs_loss"], on_epoch,
                                  extra={"phase": phase}, first_epoch=len(rows))
        self.sampler = build_sampler(nets)
        return rows

    def sample(self, n_per_class: int | Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Seeded uniform noise through generator, supervisor and recovery, at the data's length, scaled back."""
        X, y = labelled_noise_batches(self.sampler, self._counts(n_per_class), (self.train_length, self.shape[1]),
                                      self.seed + 1, noise="uniform")
        X = resample(X.reshape(len(y), self.train_length, self.shape[1]), self.shape[0])
        return (X * np.maximum(self.high - self.low, 1e-7) + self.low).astype(np.float32), y

    def save(self, folder: str | Path) -> None:
        """generator.json (with the scaling) and the sampler's weights."""
        folder = self._write_spec(folder)
        np.savez(folder / "scaling.npz", low=self.low, high=self.high)
        self.sampler.save_weights(folder / "sampler.weights.h5")

    @classmethod
    def load(cls, folder: str | Path) -> "TimeGANGenerator":
        """Rebuild the sampler from generator.json and read its weights and scaling."""
        generator = cls._from_spec(folder)
        if "max_length" not in json.loads((Path(folder) / SPEC_FILE).read_text())["settings"]:
            generator.settings["max_length"] = max(generator.shape[0], 2)  # saved before the setting: full length
        generator.sampler = build_sampler(generator._networks())
        generator.sampler.load_weights(Path(folder) / "sampler.weights.h5")
        with np.load(Path(folder) / "scaling.npz") as data:
            generator.low, generator.high = data["low"], data["high"]
        return generator
