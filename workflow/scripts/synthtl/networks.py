"""Classifier architectures: FCN and ResNet (Wang et al. 2017), stacked GRU/LSTM.

Builders hold the architecture only (no compile, no I/O); every setting is an argument.
Each network ends with a layer named ``features`` (the learned representation) followed
by the classification layer ``head``, so transfer strategies can swap or freeze them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
from keras import layers

FEATURES = "features"  # name of the last feature layer of every network
HEAD = "head"  # name of the softmax classification layer


def classification_head(features, n_classes: int, name: str = HEAD):
    """A dense softmax layer on `features`; float32 output so mixed precision keeps a stable loss."""
    return layers.Dense(n_classes, activation="softmax", dtype="float32", name=name)(features)


def _conv_bn_relu(x, filters: int, kernel_size: int, name: str):
    x = layers.Conv1D(filters, kernel_size, padding="same", name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def build_fcn(input_shape: tuple[int, int], n_classes: int, filters: Sequence[int] = (128, 256, 128),
              kernel_sizes: Sequence[int] = (8, 5, 3)) -> keras.Model:
    """Fully convolutional network: conv-BN-ReLU blocks, global average pooling, softmax."""
    if len(filters) != len(kernel_sizes):
        raise ValueError(f"fcn: filters {list(filters)} and kernel_sizes {list(kernel_sizes)} differ in length")
    inputs = keras.Input(shape=input_shape, name="series")
    x = inputs
    for i, (n_filters, kernel) in enumerate(zip(filters, kernel_sizes), start=1):
        x = _conv_bn_relu(x, n_filters, kernel, name=f"block{i}")
    x = layers.GlobalAveragePooling1D(name=FEATURES)(x)
    return keras.Model(inputs, classification_head(x, n_classes), name="fcn")


def build_resnet(input_shape: tuple[int, int], n_classes: int, filters: Sequence[int] = (64, 128, 128),
                 kernel_sizes: Sequence[int] = (8, 5, 3)) -> keras.Model:
    """ResNet: residual blocks of len(kernel_sizes) conv-BN layers with a (projected) shortcut, GAP, softmax."""
    inputs = keras.Input(shape=input_shape, name="series")
    x = inputs
    for b, n_filters in enumerate(filters, start=1):
        shortcut = x
        for c, kernel in enumerate(kernel_sizes, start=1):
            x = layers.Conv1D(n_filters, kernel, padding="same", name=f"res{b}_conv{c}")(x)
            x = layers.BatchNormalization(name=f"res{b}_bn{c}")(x)
            if c < len(kernel_sizes):
                x = layers.Activation("relu", name=f"res{b}_relu{c}")(x)
        if shortcut.shape[-1] != n_filters:
            shortcut = layers.Conv1D(n_filters, 1, padding="same", name=f"res{b}_shortcut_conv")(shortcut)
        shortcut = layers.BatchNormalization(name=f"res{b}_shortcut_bn")(shortcut)
        x = layers.Activation("relu", name=f"res{b}_out")(layers.Add(name=f"res{b}_add")([x, shortcut]))
    x = layers.GlobalAveragePooling1D(name=FEATURES)(x)
    return keras.Model(inputs, classification_head(x, n_classes), name="resnet")


def build_rnn(input_shape: tuple[int, int], n_classes: int, cell: str = "gru", units: int = 64, n_layers: int = 2,
              bidirectional: bool = False, dropout: float = 0.0) -> keras.Model:
    """Stacked GRU or LSTM (optionally bidirectional); the last layer's final state feeds the softmax."""
    recurrent = {"gru": layers.GRU, "lstm": layers.LSTM}
    if cell not in recurrent:
        raise ValueError(f"unknown recurrent cell {cell!r}; known: {', '.join(recurrent)}")
    inputs = keras.Input(shape=input_shape, name="series")
    x = inputs
    for i in range(1, n_layers + 1):
        last = i == n_layers
        name = FEATURES if last else f"{cell}{i}"
        layer = recurrent[cell](units, return_sequences=not last, dropout=dropout,
                                name=f"{name}_cell" if bidirectional else name)
        if bidirectional:
            layer = layers.Bidirectional(layer, name=name)
        x = layer(x)
    return keras.Model(inputs, classification_head(x, n_classes), name=cell)


def build_gru(input_shape: tuple[int, int], n_classes: int, units: int = 64, layers: int = 2,
              bidirectional: bool = False, dropout: float = 0.0) -> keras.Model:
    """Stacked GRU classifier."""
    return build_rnn(input_shape, n_classes, "gru", units, layers, bidirectional, dropout)


def build_lstm(input_shape: tuple[int, int], n_classes: int, units: int = 64, layers: int = 2,
               bidirectional: bool = False, dropout: float = 0.0) -> keras.Model:
    """Stacked LSTM classifier."""
    return build_rnn(input_shape, n_classes, "lstm", units, layers, bidirectional, dropout)


BUILDERS: dict[str, Callable[..., keras.Model]] = {
    "fcn": build_fcn,
    "resnet": build_resnet,
    "gru": build_gru,
    "lstm": build_lstm,
}


def build(model: str, input_shape: tuple[int, int], n_classes: int, settings: dict | None = None) -> keras.Model:
    """The network named `model` with its config settings (classifier.networks.<model>)."""
    if model not in BUILDERS:
        raise ValueError(f"unknown model {model!r} (config classifier.models); known: {', '.join(BUILDERS)}")
    try:
        return BUILDERS[model](tuple(input_shape), int(n_classes), **(settings or {}))
    except TypeError as error:
        raise ValueError(f"config classifier.networks.{model}: {error}") from error
