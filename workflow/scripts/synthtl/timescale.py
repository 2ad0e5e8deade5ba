"""Series taken to another number of time steps: an area average when shrinking, linear interpolation when growing.

TimeGAN trains long series at `max_length` steps and maps its samples back (synthtl.timegan).
Shrinking by bin means keeps no alias of what lies above the new Nyquist rate; growing
interpolates between bin centres, so shrinking then growing returns a slow signal.
"""

from __future__ import annotations

import numpy as np


def resample_matrix(source: int, target: int) -> np.ndarray:
    """(target, source) float64 weights taking a series of `source` steps to `target` steps.

    Shrinking: the mean over each of `target` equal bins (step j covers [j, j + 1)). Growing:
    linear interpolation between the source steps, placed at their bin centres (constant
    beyond the first and last centre). Every row sums to 1; equal lengths give the identity.
    """
    if target == source:
        return np.eye(source)
    if target < source:
        edges = np.arange(target + 1) * (source / target)
        steps = np.arange(source)
        overlap = (np.minimum(edges[1:, None], steps[None, :] + 1) - np.maximum(edges[:-1, None], steps[None, :]))
        return np.clip(overlap, 0.0, None) / (source / target)
    position = np.clip((np.arange(target) + 0.5) * (source / target) - 0.5, 0.0, source - 1)
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, source - 1)
    weights = np.zeros((target, source))
    rows = np.arange(target)
    np.add.at(weights, (rows, low), 1.0 - (position - low))
    np.add.at(weights, (rows, high), position - low)
    return weights


def resample(X: np.ndarray, length: int) -> np.ndarray:
    """(cases, time, channels) float32 series taken to `length` steps (resample_matrix); unchanged when equal."""
    if X.shape[1] == length:
        return X
    return np.einsum("ts,nsc->ntc", resample_matrix(X.shape[1], length), X).astype(np.float32)
