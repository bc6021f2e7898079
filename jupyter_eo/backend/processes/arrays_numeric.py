"""Numeric array processes along ARRAY_DIM: sort, order, array_interpolate_linear and the
cumulative cummax/cummin/cumsum/cumproduct, vectorised with numpy kernels over other dimensions."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd
import xarray as xr

from jupyter_eo.errors import ProcessParameterInvalid

from .registry import ARRAY_DIM, as_array, process
from .values import as_list, check_array_da, is_labeled, is_null, is_number, null_to_none, to_py


def _along_array(func: Callable[..., np.ndarray], da: xr.DataArray, out_dtype: Any,
                 *args: Any) -> xr.DataArray:
    """Apply a numpy kernel working on the last axis to ARRAY_DIM of ``da`` (lazy on dask)."""
    result = xr.apply_ufunc(func, da, *args, input_core_dims=[[ARRAY_DIM]],
                            output_core_dims=[[ARRAY_DIM]], dask="parallelized",
                            output_dtypes=[out_dtype], dask_gufunc_kwargs={"allow_rechunk": True})
    return result.transpose(*da.dims)


def _to_list(da: xr.DataArray) -> list[Any]:
    return [null_to_none(to_py(v)) for v in da.values.tolist()]


def _all_int(values: list[Any]) -> bool:
    return all(isinstance(v, int) or v is None for v in values)


def _numbers(data: Any, process_id: str) -> tuple[xr.DataArray, bool, bool]:
    """DataArray, came-from-list flag, and whether list values were all integers."""
    if isinstance(data, xr.DataArray):
        return check_array_da(data, process_id), False, False
    values = as_list(data, process_id)
    if not all(v is None or is_number(v) for v in values):
        raise ProcessParameterInvalid(
            f"The value passed for parameter 'data' in process '{process_id}' is invalid: "
            "expected an array of numbers and nulls.")
    return as_array(values), True, _all_int(values)


def _restore_ints(values: list[Any], ints: bool) -> list[Any]:
    if not ints:
        return values
    return [int(v) if isinstance(v, float) and v.is_integer() else v for v in values]


# --- sorting --------------------------------------------------------------------------------


def _sort_key(value: Any) -> Any:
    """Numbers by value, temporal strings as instants (so time zones compare correctly)."""
    if isinstance(value, str):
        stamp = pd.Timestamp(value)
        return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return value


def _order_list(values: list[Any], asc: bool, nodata: Any) -> list[int]:
    valid = [i for i, v in enumerate(values) if not is_null(v)]
    nulls = [i for i, v in enumerate(values) if is_null(v)]
    ranked = sorted(valid, key=lambda i: _sort_key(values[i]), reverse=not asc)
    if nodata is None:
        return ranked
    return ranked + nulls if nodata else nulls + ranked


def _order_np(values: np.ndarray, asc: bool, nodata: Any) -> np.ndarray:
    """Stable ranking along the last axis; nulls last (nodata true/None) or first (false)."""
    values = values.astype(np.float64)
    nan = np.isnan(values)
    key = values if asc else -values           # NaN stays NaN and numpy sorts it last
    ranked = np.argsort(key, axis=-1, kind="stable")
    if nodata is False:
        n_null = nan.sum(axis=-1, keepdims=True)
        n = values.shape[-1]
        shift = (np.arange(n) - n_null) % n     # nulls (at the end) rotated to the front
        ranked = np.take_along_axis(ranked, shift, axis=-1)
    out = ranked.astype(np.float64)
    if nodata is None:
        valid = (~nan).sum(axis=-1, keepdims=True)
        out = np.where(np.arange(values.shape[-1]) < valid, out, np.nan)
    return out


@process("order")
def order(data: Any, asc: bool = True, nodata: Any = None) -> Any:
    """The permutation that sorts ``data``; nulls removed (None), last (true) or first (false).

    For DataArrays the array keeps its length; with ``nodata`` null the removed positions at
    the end are null (the result is float with NaN in that case)."""
    if isinstance(data, xr.DataArray):
        da = check_array_da(data, "order")
        result = _along_array(lambda v: _order_np(v, asc, nodata), da, np.float64)
        result = result.drop_vars(ARRAY_DIM, errors="ignore")
        if nodata is not None:
            result = result.astype(np.int64)
        elif da.ndim == 1:
            result = result.dropna(ARRAY_DIM).astype(np.int64)
        return result
    return _order_list(as_list(data, "order"), asc, nodata)


@process("sort")
def sort(data: Any, asc: bool = True, nodata: Any = None) -> Any:
    """``data`` sorted; nulls removed (None), last (true) or first (false)."""
    if isinstance(data, xr.DataArray):
        da = check_array_da(data, "sort")
        out_dtype = da.dtype if da.dtype.kind == "f" else np.dtype(np.float64)

        def kernel(values: np.ndarray) -> np.ndarray:
            ranks = _order_np(values, asc, nodata)
            index = np.where(np.isnan(ranks), 0, ranks).astype(np.intp)
            out = np.take_along_axis(values.astype(out_dtype), index, axis=-1)
            return np.where(np.isnan(ranks), np.nan, out).astype(out_dtype)

        result = _along_array(kernel, da, out_dtype).drop_vars(ARRAY_DIM, errors="ignore")
        if nodata is None and da.ndim == 1:
            result = result.dropna(ARRAY_DIM)
        return result
    values = as_list(data, "sort")
    return [values[i] for i in _order_list(values, asc, nodata)]


# --- interpolation --------------------------------------------------------------------------


def lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """a + t * (b - a), also for infinite end points (e.g. lerp(-inf, 1, 0.5) = -inf)."""
    with np.errstate(invalid="ignore"):
        exact = a + t * (b - a)
        weighted = a * (1 - t) + b * t
    out = np.where(np.isfinite(a) & np.isfinite(b), exact, weighted)
    return np.where(t == 0, a, np.where(t == 1, b, out))


def _interpolate_np(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Linear interpolation of inner NaN gaps along the last axis at ``positions``."""
    out_dtype = values.dtype if values.dtype.kind == "f" else np.dtype(np.float64)
    y = values.astype(np.float64)
    valid = ~np.isnan(y)
    n = y.shape[-1]
    idx = np.broadcast_to(np.arange(n), y.shape)
    prev_i = np.maximum.accumulate(np.where(valid, idx, -1), axis=-1)
    next_i = np.flip(np.minimum.accumulate(np.flip(np.where(valid, idx, n), -1), axis=-1), -1)
    inner = (prev_i >= 0) & (next_i < n)
    p = np.clip(prev_i, 0, n - 1)
    q = np.clip(next_i, 0, n - 1)
    y_prev = np.take_along_axis(y, p, axis=-1)
    y_next = np.take_along_axis(y, q, axis=-1)
    x = positions.astype(np.float64)
    span = x[q] - x[p]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(span == 0, 0.0, (x[idx] - x[p]) / np.where(span == 0, 1, span))
    filled = lerp(y_prev, y_next, frac)
    return np.where(valid, y, np.where(inner, filled, np.nan)).astype(out_dtype)


def _positions(da: xr.DataArray) -> np.ndarray:
    """Interpolation x values: numeric or temporal labels when labeled, else the indices."""
    if is_labeled(da):
        coord = da[ARRAY_DIM].values
        if coord.dtype.kind == "M":
            return (coord - coord[0]).astype("timedelta64[ms]").astype(np.float64)
        if coord.dtype.kind in "iuf":
            return coord.astype(np.float64)
    return np.arange(da.sizes[ARRAY_DIM], dtype=np.float64)


@process("array_interpolate_linear")
def array_interpolate_linear(data: Any) -> Any:
    """Fills inner nulls by linear interpolation (leading/trailing nulls stay null)."""
    da, from_list, _ = _numbers(data, "array_interpolate_linear")
    if da.sizes[ARRAY_DIM] == 0:
        return [] if from_list else da
    positions = _positions(da)
    out_dtype = da.dtype if da.dtype.kind == "f" else np.dtype(np.float64)
    result = _along_array(lambda v: _interpolate_np(v, positions), da, out_dtype)
    return _to_list(result) if from_list else result


# --- cumulative -----------------------------------------------------------------------------

_CUMULATIVE = {
    # process id: (ufunc accumulating with NaN propagation, neutral value for skipped nulls)
    "cumsum": (np.add, 0.0),
    "cumproduct": (np.multiply, 1.0),
    "cummax": (np.maximum, -np.inf),
    "cummin": (np.minimum, np.inf),
}


def _cumulative_np(values: np.ndarray, ufunc: np.ufunc, neutral: float,
                   ignore_nodata: bool) -> np.ndarray:
    if values.dtype.kind != "f":
        return ufunc.accumulate(values, axis=-1)
    if not ignore_nodata:
        return ufunc.accumulate(values, axis=-1)
    nan = np.isnan(values)
    out = ufunc.accumulate(np.where(nan, neutral, values), axis=-1)
    return np.where(nan, np.nan, out).astype(values.dtype)


def _make_cumulative(process_id: str) -> Callable[..., Any]:
    ufunc, neutral = _CUMULATIVE[process_id]

    def cumulative(data: Any, ignore_nodata: bool = True) -> Any:
        da, from_list, ints = _numbers(data, process_id)
        if da.sizes[ARRAY_DIM] == 0:
            return [] if from_list else da
        out_dtype = da.dtype
        result = _along_array(lambda v: _cumulative_np(v, ufunc, neutral, ignore_nodata), da,
                              out_dtype)
        return _restore_ints(_to_list(result), ints) if from_list else result

    cumulative.__name__ = process_id
    cumulative.__doc__ = (f"Cumulative {process_id[3:]} along the array; nulls stay null and are "
                          "skipped (or, with ignore_nodata false, make all later values null).")
    return process(process_id)(cumulative)


for _pid in _CUMULATIVE:
    globals()[_pid] = _make_cumulative(_pid)
