"""Reducers over openEO arrays, vectorised along ARRAY_DIM: min max mean median sd variance sum
product count first last extrema quantiles."""
from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np
import pandas as pd
import xarray as xr

from jupyter_eo.errors import ProcessParameterInvalid

from .registry import ARRAY_DIM, as_array, process
from .values import (array_error, as_list, check_array_da, float_dtype_for, is_null, is_true,
                     null_to_none, run_callback, unwrap)


def numeric_array(data: Any, process_id: str) -> tuple[xr.DataArray, bool]:
    """``data`` as a numeric DataArray along ARRAY_DIM and whether it came from a list."""
    if isinstance(data, xr.DataArray):
        return check_array_da(data, process_id), False
    da = as_array(as_list(data, process_id))
    if da.dtype.kind == "O":
        raise ProcessParameterInvalid(
            f"The value passed for parameter 'data' in process '{process_id}' is invalid: "
            "expected an array of numbers and nulls.")
    return da, True


def scalar_out(result: Any, from_list: bool) -> Any:
    """A reduction result: a Python scalar (null as None) for list input or a 0-d in-memory
    result (a reduced 1-D labeled array), else the DataArray."""
    if from_list or (isinstance(result, xr.DataArray) and result.ndim == 0
                     and isinstance(result.data, np.ndarray)):
        return null_to_none(unwrap(result))
    return result


def list_out(result: xr.DataArray, from_list: bool) -> Any:
    """An array result: a Python list (null as None) for list input, else the DataArray."""
    if not from_list:
        return result
    return [null_to_none(unwrap(v)) for v in result.values.tolist()]


def all_null(da: xr.DataArray) -> xr.DataArray:
    """NaN with the shape of ``da`` reduced over ARRAY_DIM (result of reducing an empty array)."""
    template = da.isel({ARRAY_DIM: 0}, drop=True) if da.sizes[ARRAY_DIM] else \
        da.sum(ARRAY_DIM)
    return xr.full_like(template, np.nan, dtype=float_dtype_for(da.dtype))


def _reduce(data: Any, process_id: str, reduce: Callable[[xr.DataArray], xr.DataArray]) -> Any:
    da, from_list = numeric_array(data, process_id)
    if da.sizes[ARRAY_DIM] == 0:
        return scalar_out(all_null(da), from_list)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = reduce(da)
    return scalar_out(result, from_list)


@process("min")
def min_(data: Any, ignore_nodata: bool = True) -> Any:
    """Smallest value."""
    return _reduce(data, "min", lambda d: d.min(ARRAY_DIM, skipna=ignore_nodata))


@process("max")
def max_(data: Any, ignore_nodata: bool = True) -> Any:
    """Largest value."""
    return _reduce(data, "max", lambda d: d.max(ARRAY_DIM, skipna=ignore_nodata))


@process("mean")
def mean(data: Any, ignore_nodata: bool = True) -> Any:
    """Arithmetic mean."""
    return _reduce(data, "mean", lambda d: _folded(d, "mean", ignore_nodata)
                   if d.dtype.kind == "f" else d.mean(ARRAY_DIM, skipna=ignore_nodata))


def _fold_np(values: np.ndarray, reducer: str, ignore_nodata: bool) -> np.ndarray:
    """Fold the last axis element by element with the engine's running accumulator: float
    sums, means and products then round exactly alike on every path and chunking."""
    from jupyter_eo.backend.engine.kernels import Accumulator

    acc = Accumulator(reducer, ignore_nodata)
    for i in range(values.shape[-1]):
        acc.add(values[..., i])
    return acc.result(values.shape[-1])


def _folded(da: xr.DataArray, reducer: str, ignore_nodata: bool) -> xr.DataArray:
    """A float reduction along ARRAY_DIM in sequential order (see :func:`_fold_np`)."""
    return xr.apply_ufunc(_fold_np, da.drop_vars(ARRAY_DIM, errors="ignore"),
                          kwargs={"reducer": reducer, "ignore_nodata": ignore_nodata},
                          input_core_dims=[[ARRAY_DIM]], dask="parallelized",
                          output_dtypes=[da.dtype], dask_gufunc_kwargs={"allow_rechunk": True})


@process("median")
def median(data: Any, ignore_nodata: bool = True) -> Any:
    """Statistical median."""
    return _reduce(data, "median",
                   lambda d: quantiles_da(d, [0.5], ignore_nodata).isel({ARRAY_DIM: 0}))


def _variance_np(values: np.ndarray, ignore_nodata: bool, root: bool) -> np.ndarray:
    """Sample variance (or its root) along the last axis, on a contiguous copy so the result
    does not depend on how the data is chunked or laid out (fused blocks and dask agree)."""
    data = np.ascontiguousarray(values if values.dtype.kind == "f"
                                else values.astype(np.float64))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        var = (np.nanvar if ignore_nodata else np.var)(data, axis=-1, ddof=1)
    return np.sqrt(var) if root else var


def _variance_da(da: xr.DataArray, ignore_nodata: bool, root: bool) -> xr.DataArray:
    out_dtype = da.dtype if da.dtype.kind == "f" else np.dtype(np.float64)
    return xr.apply_ufunc(_variance_np, da.drop_vars(ARRAY_DIM, errors="ignore"),
                          kwargs={"ignore_nodata": ignore_nodata, "root": root},
                          input_core_dims=[[ARRAY_DIM]], dask="parallelized",
                          output_dtypes=[out_dtype], dask_gufunc_kwargs={"allow_rechunk": True})


@process("sd")
def sd(data: Any, ignore_nodata: bool = True) -> Any:
    """Sample standard deviation."""
    return _reduce(data, "sd", lambda d: _variance_da(d, ignore_nodata, root=True))


@process("variance")
def variance(data: Any, ignore_nodata: bool = True) -> Any:
    """Sample variance."""
    return _reduce(data, "variance", lambda d: _variance_da(d, ignore_nodata, root=False))


@process("sum")
def sum_(data: Any, ignore_nodata: bool = True) -> Any:
    """Sum of all values (null for empty or all-null arrays)."""
    return _reduce(data, "sum", lambda d: _folded(d, "sum", ignore_nodata) if d.dtype.kind == "f"
                   else d.sum(ARRAY_DIM, skipna=ignore_nodata, min_count=1))


@process("product")
def product(data: Any, ignore_nodata: bool = True) -> Any:
    """Product of all values (null for empty or all-null arrays)."""
    return _reduce(data, "product",
                   lambda d: _folded(d, "product", ignore_nodata) if d.dtype.kind == "f"
                   else d.prod(ARRAY_DIM, skipna=ignore_nodata, min_count=1))


@process("extrema")
def extrema(data: Any, ignore_nodata: bool = True) -> Any:
    """[min, max] as a two-element array."""
    da, from_list = numeric_array(data, "extrema")
    if da.sizes[ARRAY_DIM] == 0:
        lo = hi = all_null(da)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lo = da.min(ARRAY_DIM, skipna=ignore_nodata)
            hi = da.max(ARRAY_DIM, skipna=ignore_nodata)
    return list_out(xr.concat([lo, hi], dim=ARRAY_DIM), from_list)


def _probabilities(probabilities: Any, q: Any) -> list[float]:
    if probabilities is None and q is None:
        raise array_error("QuantilesParameterMissing",
                          "The process 'quantiles' requires either the 'probabilities' or 'q' "
                          "parameter to be set.")
    if probabilities is not None and q is not None:
        raise array_error("QuantilesParameterConflict",
                          "The process 'quantiles' only allows that either the 'probabilities' "
                          "or the 'q' parameter is set.")
    if probabilities is None or isinstance(probabilities, (int, np.integer)):
        n = int(q if probabilities is None else probabilities)
        if n < 2:
            raise ProcessParameterInvalid("The number of intervals for quantiles must be >= 2.")
        return [i / n for i in range(1, n)]
    probs = [float(p) for p in probabilities]
    if any(p < 0 or p > 1 for p in probs):
        raise ProcessParameterInvalid("Quantile probabilities must be between 0 and 1.")
    if any(b < a for a, b in zip(probs, probs[1:])):
        raise array_error("AscendingProbabilitiesRequired",
                          "The values passed for parameter 'probabilities' must be sorted in "
                          "ascending order.")
    return probs


def _quantiles_np(values: np.ndarray, probs: list[float], ignore_nodata: bool) -> np.ndarray:
    """Type-7 sample quantiles along the last axis (NaN = null), one sort for all probabilities."""
    from .arrays_numeric import lerp

    out_dtype = values.dtype if values.dtype.kind == "f" else np.dtype(np.float64)
    data = values if values.dtype.kind == "f" else values.astype(np.float64)
    ordered = np.sort(np.ascontiguousarray(data), axis=-1)  # nulls (NaN) sort last
    valid = data.shape[-1] - np.isnan(ordered).sum(axis=-1)
    out = np.empty(data.shape[:-1] + (len(probs),), dtype=out_dtype)
    last = np.maximum(valid - 1, 0)
    for k, p in enumerate(probs):  # a loop over the few probabilities, not over pixels
        h = (valid - 1) * p
        lo = np.clip(np.floor(h).astype(np.intp), 0, None)
        hi = np.minimum(lo + 1, last)
        a = np.take_along_axis(ordered, lo[..., None], axis=-1)[..., 0].astype(np.float64)
        b = np.take_along_axis(ordered, hi[..., None], axis=-1)[..., 0].astype(np.float64)
        result = lerp(a, b, h - lo)
        result = np.where(valid == 0, np.nan, result)
        if not ignore_nodata:
            result = np.where(valid < data.shape[-1], np.nan, result)
        out[..., k] = result
    return out


def quantiles_da(da: xr.DataArray, probs: list[float], ignore_nodata: bool) -> xr.DataArray:
    """Quantiles of a non-empty DataArray along ARRAY_DIM, as a new ARRAY_DIM of len(probs)."""
    out_dtype = da.dtype if da.dtype.kind == "f" else np.dtype(np.float64)
    result = xr.apply_ufunc(
        _quantiles_np, da.drop_vars(ARRAY_DIM, errors="ignore"),
        kwargs={"probs": probs, "ignore_nodata": ignore_nodata},
        input_core_dims=[[ARRAY_DIM]], output_core_dims=[["__quantile__"]],
        dask="parallelized", output_dtypes=[out_dtype],
        dask_gufunc_kwargs={"output_sizes": {"__quantile__": len(probs)},
                            "allow_rechunk": True})
    return result.rename({"__quantile__": ARRAY_DIM}).transpose(ARRAY_DIM, ...)


@process("quantiles")
def quantiles(data: Any, probabilities: Any = None, q: Any = None,
              ignore_nodata: bool = True) -> Any:
    """Sample quantiles (Hyndman & Fan type 7, i.e. linear interpolation)."""
    probs = _probabilities(probabilities, q)
    da, from_list = numeric_array(data, "quantiles")
    if da.sizes[ARRAY_DIM] == 0 or not probs:
        template = all_null(da)
        result = xr.concat([template] * len(probs), dim=ARRAY_DIM) if probs else \
            template.expand_dims({ARRAY_DIM: 0})
        return list_out(result, from_list)
    return list_out(quantiles_da(da, probs, ignore_nodata), from_list)


# --- reducers over any data type ------------------------------------------------------------


def _generic_list(data: Any, process_id: str) -> list[Any]:
    return as_list(data, process_id)


def _first_or_last(data: Any, ignore_nodata: bool, process_id: str) -> Any:
    reverse = process_id == "last"
    if isinstance(data, xr.DataArray):
        return scalar_out(_first_da(check_array_da(data, process_id), ignore_nodata,
                                    reverse=reverse), False)
    values = _generic_list(data, process_id)
    if ignore_nodata:
        values = [v for v in values if not is_null(v)]
    return null_to_none(values[-1 if reverse else 0]) if values else None


@process("first")
def first(data: Any, ignore_nodata: bool = True) -> Any:
    """The first (non-null, by default) element."""
    return _first_or_last(data, ignore_nodata, "first")


@process("last")
def last(data: Any, ignore_nodata: bool = True) -> Any:
    """The last (non-null, by default) element."""
    return _first_or_last(data, ignore_nodata, "last")


def _first_np(values: np.ndarray) -> np.ndarray:
    """First non-null value along the last axis (NaN/None where all are null)."""
    valid = ~pd.isnull(values)
    index = valid.argmax(axis=-1)
    picked = np.take_along_axis(values, index[..., None], axis=-1)[..., 0]
    if values.dtype.kind == "O":
        picked = np.where(valid.any(axis=-1), picked, None)
    else:
        picked = np.where(valid.any(axis=-1), picked, np.nan).astype(values.dtype)
    return picked


def _first_da(da: xr.DataArray, ignore_nodata: bool, reverse: bool) -> xr.DataArray:
    n = da.sizes[ARRAY_DIM]
    if n == 0:
        return all_null(da)
    if reverse:
        da = da.isel({ARRAY_DIM: slice(None, None, -1)})
    if not ignore_nodata or da.dtype.kind not in "fcOM":
        return da.isel({ARRAY_DIM: 0}, drop=True)
    return xr.apply_ufunc(_first_np, da, input_core_dims=[[ARRAY_DIM]], dask="parallelized",
                          output_dtypes=[da.dtype], dask_gufunc_kwargs={"allow_rechunk": True})


def _condition_parameters(value: Any, context: Any) -> dict[str, Any]:
    """Parameters of count's condition: ``x`` and ``context`` (spec), plus ``element`` as an
    alias because the spec's own example and the upstream test suite refer to it."""
    return {"x": value, "element": value, "context": context}


def _count_da(da: xr.DataArray, condition: Any, context: Any, ctx: Any) -> xr.DataArray:
    """count() vectorised along ARRAY_DIM."""
    if condition is None:
        from .comparison import is_valid
        return is_valid(da).sum(ARRAY_DIM)
    if condition is True:
        return xr.full_like(da.isel({ARRAY_DIM: 0}, drop=True) if da.sizes[ARRAY_DIM]
                            else da.sum(ARRAY_DIM), da.sizes[ARRAY_DIM], dtype=np.int64)
    mask = run_callback(ctx, condition, _condition_parameters(da, context))
    mask = is_true(mask)
    if not isinstance(mask, xr.DataArray) or ARRAY_DIM not in mask.dims:
        mask = xr.broadcast(xr.DataArray(mask), da)[0]
    return mask.sum(ARRAY_DIM)


@process("count")
def count(data: Any, condition: Any = None, context: Any = None, *, ctx: Any = None) -> Any:
    """Number of elements that are valid (default), all (condition true) or match a condition."""
    if isinstance(data, xr.DataArray):
        return scalar_out(_count_da(check_array_da(data, "count"), condition, context, ctx),
                          False)
    values = as_list(data, "count")
    if condition is None:
        from .comparison import is_valid
        return sum(1 for v in values if is_valid(v))
    if condition is True:
        return len(values)
    if condition is False:
        return 0
    return sum(1 for v in values
               if is_true(unwrap(run_callback(ctx, condition, _condition_parameters(v, context)))))



# Climatology (temporal means and anomalies) registers with the reducers.
from . import climatology  # noqa: E402,F401
