"""Differential privacy for clean-room answers: the Laplace mechanism from OpenDP, calibrated to each aggregate's
sensitivity, and how a query's ε is split across the aggregates it releases.

A released aggregate of sensitivity Δ (the most one shopper can change it, after the executor bounds each
shopper's contribution) gets Laplace noise of scale Δ/ε_a; a query releasing m aggregates per row spends
ε = Σ ε_a = m·ε_a over all its rows, because each shopper's bounded contribution is already counted in Δ
(the executor caps the groups a shopper may touch, so Δ covers every row together).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import opendp.prelude as dp

dp.enable_features("contrib")

NOT_POSITIVE = "{name}: must be positive; got {value!r}"


def laplace_scale(*, sensitivity: float, epsilon: float) -> float:
    if not sensitivity > 0:
        raise ValueError(NOT_POSITIVE.format(name="sensitivity", value=sensitivity))
    if not epsilon > 0:
        raise ValueError(NOT_POSITIVE.format(name="epsilon", value=epsilon))
    return sensitivity / epsilon


def laplace(values: Sequence[float], *, sensitivity: float, epsilon: float) -> np.ndarray:
    """`values` released with OpenDP's vector Laplace mechanism: noise of scale Δ/ε on each one, ε-DP for any
    change of L1 size Δ across the whole vector (OpenDP checks the privacy map for the scale it is given)."""
    scale = laplace_scale(sensitivity=sensitivity, epsilon=epsilon)
    if len(values) == 0:
        return np.zeros(0)
    mechanism = dp.m.make_laplace(dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l1_distance(T=float),
                                  scale=scale)
    # OpenDP's own accounting must agree with ours: a change of Δ costs ε.
    charged = mechanism.map(float(sensitivity))
    if charged > epsilon * (1 + 1e-9):
        raise RuntimeError(f"OpenDP charges ε = {charged} for Δ = {sensitivity}, not {epsilon}")
    return np.asarray(mechanism([float(v) for v in values]), dtype=float)
