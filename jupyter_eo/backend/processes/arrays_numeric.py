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


def _nulls_first(ordered: np.ndarray, nulls: np.ndarray) -> np.ndarray:
    """Rotate trailing nulls (``nulls`` per row, keepdims) to the front of the last axis."""
    n = ordered.shape[-1]
    shift = (np.arange(n) - nulls) % n
    return np.take_along_axis(ordered, shift, axis=-1)


def _order_np(values: np.ndarray, asc: bool, nodata: Any) -> np.ndarray:
    """Stable ranking along the last axis; nulls last (nodata true/None) or first (false)."""
    data = np.ascontiguousarray(values if values.dtype.kind == "f" else
                                values.astype(np.float64))
    nan = np.isnan(data)
    key = data if asc else -data               # NaN stays NaN and numpy sorts it last
    ranked = np.argsort(key, axis=-1, kind="stable")
    nulls = nan.sum(axis=-1, keepdims=True)
    if nodata is False:
        ranked = _nulls_first(ranked, nulls)
    if nodata is None:
        keep = np.arange(data.shape[-1]) < data.shape[-1] - nulls
        return np.where(keep, ranked, np.nan)
    return ranked


def _sort_np(values: np.ndarray, asc: bool, nodata: Any) -> np.ndarray:
    """Values sorted along the last axis, nulls (NaN) last or, with nodata false, first."""
    data = values if values.dtype.kind == "f" else values.astype(np.float64)
    ordered = np.sort(np.ascontiguousarray(data), axis=-1)  # NaN last
    n = ordered.shape[-1]
    valid = n - np.isnan(ordered).sum(axis=-1, keepdims=True)
    if not asc:  # reverse the valid part only
        positions = np.arange(n)
        ordered = np.take_along_axis(
            ordered, np.where(positions < valid, valid - 1 - positions, positions), axis=-1)
    if nodata is False:
        ordered = _nulls_first(ordered, n - valid)
    return ordered


@process("order")
def order(data: Any, asc: bool = True, nodata: Any = None) -> Any:
    """The permutation that sorts ``data``; nulls removed (None), last (true) or first (false).

    For DataArrays the array keeps its length; with ``nodata`` null the removed positions at
    the end are null (the result is float with NaN in that case)."""
    if isinstance(data, xr.DataArray):
        da = check_array_da(data, "order")
        out_dtype = np.float64 if nodata is None else np.int64
        result = _along_array(lambda v: _order_np(v, asc, nodata), da, out_dtype)
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

        result = _along_array(lambda v: _sort_np(v, asc, nodata), da, out_dtype)
        result = result.drop_vars(ARRAY_DIM, errors="ignore")
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
    """Linear interpolation of inner NaN gaps along the last axis at ``positions``.

    Loops over the (few) array positions with whole-plane numpy operations, so each step
    touches contiguous memory; only gap pixels are interpolated."""
    out_dtype = values.dtype if values.dtype.kind == "f" else np.dtype(np.float64)
    if values.ndim == 1:
        return _interpolate_np(values[None, :], positions)[0]
    planes = np.moveaxis(values, -1, 0).astype(out_dtype)  # a copy in the source layout
    n = planes.shape[0]
    valid = ~np.isnan(planes)
    next_value = np.empty_like(planes)
    next_index = np.empty(planes.shape, dtype=np.int32)
    value = np.full(planes.shape[1:], np.nan, dtype=out_dtype)
    index = np.full(planes.shape[1:], -1, dtype=np.int32)
    for k in range(n - 1, -1, -1):  # backward: the next valid value of every position
        np.copyto(value, planes[k], where=valid[k])
        np.copyto(index, k, where=valid[k])
        next_value[k] = value
        next_index[k] = index
    value = np.full(planes.shape[1:], np.nan, dtype=out_dtype)
    index = np.full(planes.shape[1:], -1, dtype=np.int32)
    for k in range(n):  # forward: fill gaps between the previous and the next valid value
        gap = ~valid[k] & (index >= 0) & (next_index[k] >= 0)
        if gap.any():
            x0 = positions[index[gap]]
            x1 = positions[next_index[k][gap]]
            t = (positions[k] - x0) / (x1 - x0)
            planes[k][gap] = lerp(value[gap].astype(np.float64),
                                  next_value[k][gap].astype(np.float64), t)
        np.copyto(value, planes[k], where=valid[k])
        np.copyto(index, k, where=valid[k])
    return np.moveaxis(planes, 0, -1)


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
    """Running ``ufunc`` along the last axis, one contiguous plane per step."""
    if values.ndim == 1:
        return _cumulative_np(values[None, :], ufunc, neutral, ignore_nodata)[0]
    planes = np.moveaxis(values, -1, 0).copy()
    nullable = planes.dtype.kind == "f"
    accumulated = np.full(planes.shape[1:], neutral, dtype=planes.dtype) \
        if nullable and ignore_nodata else None
    for k in range(planes.shape[0]):
        if accumulated is None:  # nulls propagate (or cannot occur)
            if k:
                planes[k] = ufunc(planes[k - 1], planes[k])
            continue
        valid = ~np.isnan(planes[k])
        np.copyto(accumulated, ufunc(accumulated, planes[k]), where=valid)
        planes[k] = np.where(valid, accumulated, np.nan)
    return np.moveaxis(planes, 0, -1)


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
