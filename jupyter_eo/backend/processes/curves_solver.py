"""Vectorised Levenberg–Marquardt least squares for many independent series at once (numpy only).

Every series (e.g. the time series of one pixel) shares the sample positions ``x`` and the model;
each has its own ``y`` values (NaN = missing) and its own parameters. All series of a batch take
their steps together as stacked ``k x k`` normal equations, so there is no Python loop per
series; series that converged drop out of the batch.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

#: model(params) -> values: ``params`` has shape ``(..., k)``, the result ``(..., n)``
Model = Callable[[np.ndarray], np.ndarray]

MAX_ITERATIONS = 100
FTOL = 1e-10   # relative change of the squared error that counts as converged
XTOL = 1e-10   # relative change of the parameters that counts as converged
_LAMBDA0, _LAMBDA_MAX = 1e-3, 1e12
_EPS = np.sqrt(np.finfo(np.float64).eps)
#: float64 values in flight per batch (series x samples x (parameters + 2)): ~64 MB
BATCH_VALUES = 8_000_000


def fit_series(y: np.ndarray, p0: np.ndarray, model: Model, *,
               check: Callable[[], None] | None = None) -> np.ndarray:
    """Least-squares parameters for every row of ``y`` (shape ``(P, n)``), shape ``(P, k)``.

    Missing values (NaN) are left out of a row's error. Rows with fewer valid values than
    parameters, or whose fit gives no finite error, get NaN parameters. ``check()`` runs
    before each batch (it raises to stop, e.g. on cancellation).
    """
    y = np.asarray(y, dtype=np.float64)
    p0 = np.asarray(p0, dtype=np.float64)
    rows, n = y.shape
    k = p0.shape[0]
    out = np.full((rows, k), np.nan)
    batch = max(1, BATCH_VALUES // max(1, n * (k + 2)))
    for start in range(0, rows, batch):
        if check is not None:
            check()
        stop = min(rows, start + batch)
        out[start:stop] = _fit_batch(y[start:stop], p0, model)
    return out


def _residuals(y: np.ndarray, valid: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(invalid="ignore", over="ignore"):
        r = np.where(valid, y - f, 0.0)
        cost = np.einsum("pn,pn->p", r, r)
    return r, cost


def _jacobian(p: np.ndarray, f: np.ndarray, valid: np.ndarray, model: Model) -> np.ndarray:
    """Forward-difference Jacobian ``(P, n, k)``: one model call for all ``k`` perturbations."""
    k = p.shape[1]
    h = _EPS * np.maximum(np.abs(p), 1.0)                         # (P, k)
    shifted = np.repeat(p[:, None, :], k, axis=1)                   # (P, k, k)
    idx = np.arange(k)
    shifted[:, idx, idx] += h
    h = shifted[:, idx, idx] - p                                    # exactly representable steps
    fp = model(shifted)                                             # (P, k, n)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        jac = (fp - f[:, None, :]) / h[:, :, None]
    jac = np.where(np.isfinite(jac), jac, 0.0)
    return np.where(valid[:, :, None], np.swapaxes(jac, 1, 2), 0.0)


def _solve(a: np.ndarray, g: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(a, g[..., None])[..., 0]
    except np.linalg.LinAlgError:
        return np.einsum("pkl,pl->pk", np.linalg.pinv(a), g)


def _fit_batch(y: np.ndarray, p0: np.ndarray, model: Model) -> np.ndarray:
    rows, _ = y.shape
    k = p0.shape[0]
    valid = np.isfinite(y)
    yz = np.where(valid, y, 0.0)
    p = np.repeat(p0[None, :], rows, axis=0)
    out = np.full((rows, k), np.nan)
    usable = valid.sum(axis=1) >= k
    if not usable.any():
        return out
    rows_ok = np.nonzero(usable)[0]
    y, yz, valid, p = y[rows_ok], yz[rows_ok], valid[rows_ok], p[rows_ok]
    f = np.array(model(p), dtype=np.float64)  # writable copy (models may return views)
    r, cost = _residuals(yz, valid, f)
    lam = np.full(len(p), _LAMBDA0)
    active = np.isfinite(cost) & (cost > 0)
    for _ in range(MAX_ITERATIONS):
        idx = np.nonzero(active)[0]
        if len(idx) == 0:
            break
        pa, va = p[idx], valid[idx]
        jac = _jacobian(pa, f[idx], va, model)
        a = np.einsum("pnk,pnl->pkl", jac, jac)
        g = np.einsum("pnk,pn->pk", jac, r[idx])
        diag = np.einsum("pkk->pk", a)
        floor = 1e-12 * diag.max(axis=1, keepdims=True) + 1e-300
        a_damped = a.copy()
        a_damped[:, np.arange(k), np.arange(k)] += lam[idx, None] * np.maximum(diag, floor)
        delta = _solve(a_damped, g)
        trial = pa + delta
        f_new = model(trial)
        r_new, cost_new = _residuals(yz[idx], va, f_new)
        old = cost[idx]
        better = np.isfinite(cost_new) & np.all(np.isfinite(trial), axis=1) & (cost_new <= old)
        take = idx[better]
        p[take], f[take], r[take], cost[take] = trial[better], f_new[better], r_new[better], \
            cost_new[better]
        lam[idx] = np.where(better, np.maximum(lam[idx] / 10.0, 1e-15), lam[idx] * 10.0)
        small_f = (old - cost_new) <= FTOL * old
        small_x = np.linalg.norm(delta, axis=1) <= XTOL * (np.linalg.norm(pa, axis=1) + XTOL)
        done = small_x | (better & (small_f | (cost_new == 0))) | (lam[idx] > _LAMBDA_MAX)
        active[idx[done]] = False
    fitted = np.where(np.isfinite(cost)[:, None], p, np.nan)
    out[rows_ok] = fitted
    return out
