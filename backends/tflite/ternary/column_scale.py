"""Ternary weights whose columns the converter has scaled: W = diag(a) . T . diag(g).

The TFLite converter folds a constant MUL in front of a FULLY_CONNECTED (here the preceding
LayerNorm's gamma) into the weight's columns, and the ADD (beta) into the bias. Such a weight
is no longer ternary per row, but it factors exactly: |W[n, k]| = a_n * g_k on its support.
The rewrite undoes the fold: a MUL by g in front, the ternary op on diag(a) . T behind.
"""

from __future__ import annotations

import numpy as np


def factor_column_scaled(weight: np.ndarray, rtol: float = 1e-5):
    """(values int8 [N, K], row scales a [N], column scales g [K]) or None if W does not factor."""
    w = np.asarray(weight, dtype=np.float64)
    if w.ndim != 2 or w.size == 0 or not np.all(np.isfinite(w)):
        return None
    support = w != 0
    if not support.any(axis=0).all() or not support.any(axis=1).all():
        return None  # an all-zero row or column leaves its scale undetermined; detect_ternary handles it
    log_w = np.where(support, np.log(np.abs(w) + (~support)), 0.0)
    log_a, log_g = np.zeros(w.shape[0]), np.zeros(w.shape[1])
    for _ in range(4):  # alternating means in the log domain; exact data converge at once
        log_a = (log_w - log_g[None, :]).sum(1, where=support) / support.sum(1)
        log_g = (log_w - log_a[:, None]).sum(0, where=support) / support.sum(0)
    a, g = np.exp(log_a), np.exp(log_g)
    fit = a[:, None] * g[None, :]
    if not np.all(np.abs(np.abs(w) - fit)[support] <= rtol * fit[support]):
        return None
    values = (np.sign(w) * support).astype(np.int8)
    return values, a.astype(np.float32), g.astype(np.float32)
