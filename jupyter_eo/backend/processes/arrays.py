"""Array processes: element access, labels, apply/filter callbacks, find/contains, concat/append/create,
rearrange. Lists for plain values, DataArrays along ARRAY_DIM vectorised over all other dimensions."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from jupyter_eo.backend.limits import (MAX_ARRAY_ELEMENTS, check_created,
                                       cube_value_limit)
from jupyter_eo.errors import ProcessParameterInvalid

from .registry import ARRAY_DIM, as_array, has_per_pixel_elements, process, stack_elements
from .values import (array_error, as_list, check_array_da, is_bool, is_labeled, is_null,
                     is_number, is_true, run_callback, to_py, unwrap)

# --- shared helpers (also used by arrays_labels and arrays_numeric) -------------------------


def label_strings(values: np.ndarray) -> list[Any]:
    """Coordinate labels as openEO values (datetimes as ISO 8601 strings in UTC)."""
    if values.dtype.kind == "M":
        return [pd.Timestamp(v).strftime("%Y-%m-%dT%H:%M:%SZ") for v in values]
    return [to_py(v) for v in values]


def utc_datetime64(label: Any) -> np.datetime64:
    """A temporal label (string or timestamp) as a naive UTC datetime64."""
    stamp = pd.Timestamp(label)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.to_datetime64()


def label_position(da: xr.DataArray, label: Any) -> int | None:
    """Index of ``label`` in the ARRAY_DIM coordinate of ``da``, or None."""
    coord = da[ARRAY_DIM].values
    if coord.dtype.kind == "M":
        try:
            stamp = utc_datetime64(label)
        except (ValueError, TypeError):
            return None
        matches = np.nonzero(coord == stamp)[0]
    else:
        matches = [i for i, v in enumerate(coord.tolist()) if _strict_equal(v, label)]
    return int(matches[0]) if len(matches) else None


def _strict_equal(a: Any, b: Any) -> bool:
    """openEO ``eq`` for two non-null scalars, null treated as no match."""
    if is_null(a) or is_null(b):
        return False
    if is_number(a) and is_number(b):
        return bool(a == b)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if is_bool(a) and is_bool(b):
        return bool(a) == bool(b)
    return False


def null_like(da: xr.DataArray) -> Any:
    """A null value with the shape of ``da`` without ARRAY_DIM (scalar null for 1-D arrays)."""
    template = da.isel({ARRAY_DIM: 0}, drop=True) if da.sizes[ARRAY_DIM] else da.sum(ARRAY_DIM)
    if template.ndim == 0:
        return None
    if da.dtype.kind == "O":
        return xr.full_like(template, None, dtype=object)
    return xr.full_like(template, np.nan, dtype=da.dtype if da.dtype.kind == "f" else float)


def scalar_or_da(value: xr.DataArray) -> Any:
    """0-d in-memory results as Python scalars, DataArrays otherwise."""
    return unwrap(value) if value.ndim == 0 else value


def broadcast_to_array(value: Any, data: xr.DataArray) -> xr.DataArray:
    """A callback result as a DataArray with the dimensions (and order) of ``data``."""
    if not isinstance(value, xr.DataArray):
        value = xr.DataArray(value)
    value = value.broadcast_like(data)
    return value.transpose(*data.dims, ...)


def array_like(values: Any, template: xr.DataArray) -> xr.DataArray:
    """An openEO array value (list or DataArray) as a DataArray broadcast over ``template``'s
    non-array dimensions, so it can be combined with ``template`` along ARRAY_DIM."""
    da = values if isinstance(values, xr.DataArray) else as_array(as_list(values, "array"))
    others = template.isel({ARRAY_DIM: 0}, drop=True) if template.sizes[ARRAY_DIM] else \
        template.sum(ARRAY_DIM)
    return da.broadcast_like(others).transpose(*template.dims)


def index_coord(n: int) -> xr.DataArray:
    """The zero-based indices along ARRAY_DIM."""
    return xr.DataArray(np.arange(n), dims=(ARRAY_DIM,))


# --- element access and labels --------------------------------------------------------------


@process("array_element")
def array_element(data: Any, index: Any = None, label: Any = None,
                  return_nodata: bool = False) -> Any:
    """The element at ``index`` or with ``label``."""
    if index is None and label is None:
        raise array_error("ArrayElementParameterMissing",
                          "The process 'array_element' requires either the 'index' or "
                          "'labels' parameter to be set.")
    if index is not None and label is not None:
        raise array_error("ArrayElementParameterConflict",
                          "The process 'array_element' only allows that either the 'index' or "
                          "the 'labels' parameter is set.")
    if index is not None and (not is_number(index) or int(index) != index):
        raise ProcessParameterInvalid(
            "The value passed for parameter 'index' in process 'array_element' is invalid: "
            "expected a non-negative integer.")
    if index is not None and index < 0:
        if return_nodata:
            return null_like(data) if isinstance(data, xr.DataArray) else None
        raise _not_available()
    if isinstance(data, xr.DataArray):
        da = check_array_da(data, "array_element")
        if label is not None:
            if not is_labeled(da):
                raise array_error("ArrayNotLabeled",
                                  "The array is not a labeled array, but the 'label' parameter "
                                  "is set. Use the 'index' instead.")
            position = label_position(da, label)
        else:
            position = int(index)
        if position is None or position >= da.sizes[ARRAY_DIM]:
            if return_nodata:
                return null_like(da)
            raise _not_available()
        return scalar_or_da(da.isel({ARRAY_DIM: position}, drop=True))
    values = as_list(data, "array_element")
    if label is not None:
        raise array_error("ArrayNotLabeled",
                          "The array is not a labeled array, but the 'label' parameter is set. "
                          "Use the 'index' instead.")
    if int(index) < len(values):
        return values[int(index)]
    if return_nodata:
        return None
    raise _not_available()


def _not_available() -> Exception:
    return array_error("ArrayElementNotAvailable",
                       "The array has no element with the specified index or label.")


@process("array_labels")
def array_labels(data: Any) -> list[Any]:
    """The labels of a labeled array, else the zero-based indices."""
    if isinstance(data, xr.DataArray):
        da = check_array_da(data, "array_labels")
        if is_labeled(da):
            return label_strings(da[ARRAY_DIM].values)
        return list(range(da.sizes[ARRAY_DIM]))
    return list(range(len(as_list(data, "array_labels"))))


# --- callbacks ------------------------------------------------------------------------------


def _callback_parameters(da: xr.DataArray, context: Any) -> dict[str, Any]:
    labels = da[ARRAY_DIM] if is_labeled(da) else None
    return {"x": da, "index": index_coord(da.sizes[ARRAY_DIM]), "label": labels,
            "context": context}


@process("array_apply")
def array_apply(data: Any, process: Any, context: Any = None, *, ctx: Any = None) -> Any:
    """Applies the callback ``process`` to every element (vectorised for DataArrays)."""
    if isinstance(data, xr.DataArray):
        da = check_array_da(data, "array_apply")
        result = run_callback(ctx, process, _callback_parameters(da, context))
        return broadcast_to_array(result, da)
    values = as_list(data, "array_apply")
    return [unwrap(run_callback(ctx, process, {"x": v, "index": i, "label": None,
                                              "context": context}))
            for i, v in enumerate(values)]


def _compact(values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Kept values moved to the front (order preserved) along the last axis, nulls after."""
    order = np.argsort(~keep, axis=-1, kind="stable")
    out = np.take_along_axis(values, order, axis=-1)
    kept = keep.sum(axis=-1, keepdims=True)
    positions = np.arange(values.shape[-1])
    if out.dtype.kind == "O":
        return np.where(positions < kept, out, None)
    if out.dtype.kind != "f":
        out = out.astype(np.float64)
    return np.where(positions < kept, out, np.nan).astype(out.dtype)


@process("array_filter")
def array_filter(data: Any, condition: Any, context: Any = None, *, ctx: Any = None) -> Any:
    """The elements for which ``condition`` is true.

    For DataArrays whose condition differs between pixels the kept values are moved to the
    front of the array dimension and the rest is filled with null (a rectangular result)."""
    if isinstance(data, xr.DataArray):
        da = check_array_da(data, "array_filter")
        keep = run_callback(ctx, condition, _callback_parameters(da, context))
        keep = is_true(keep)
        if not isinstance(keep, xr.DataArray):
            keep = xr.DataArray(np.asarray(keep))
        if set(keep.dims) <= {ARRAY_DIM}:
            keep = keep.broadcast_like(da[ARRAY_DIM] if ARRAY_DIM in da.coords
                                       else index_coord(da.sizes[ARRAY_DIM]))
            return da.isel({ARRAY_DIM: np.nonzero(np.asarray(keep.values))[0]})
        keep = keep.broadcast_like(da)
        out_dtype = da.dtype if da.dtype.kind in "fO" else np.dtype(np.float64)
        result = xr.apply_ufunc(_compact, da, keep, input_core_dims=[[ARRAY_DIM], [ARRAY_DIM]],
                                output_core_dims=[[ARRAY_DIM]], dask="parallelized",
                                output_dtypes=[out_dtype],
                                dask_gufunc_kwargs={"allow_rechunk": True})
        return result.transpose(*da.dims)
    values = as_list(data, "array_filter")
    return [v for i, v in enumerate(values)
            if is_true(unwrap(run_callback(ctx, condition, {"x": v, "index": i, "label": None,
                                                           "context": context})))]


# --- search ---------------------------------------------------------------------------------


def _searchable(value: Any) -> bool:
    return not (value is None or is_null(value) or isinstance(value, (list, dict, tuple)))


def _da_matches(da: xr.DataArray, value: Any) -> xr.DataArray:
    """Elementwise strict equality of ``da`` with a scalar (false where the types differ)."""
    kind = da.dtype.kind
    if (is_number(value) and kind in "iuf") or (is_bool(value) and kind == "b"):
        return da == value
    if kind == "O" or (isinstance(value, str) and kind in "US"):
        return xr.apply_ufunc(np.vectorize(lambda v: _strict_equal(v, value), otypes=[bool]), da,
                              dask="parallelized", output_dtypes=[bool])
    return xr.zeros_like(da, dtype=bool)


@process("array_find")
def array_find(data: Any, value: Any, reverse: bool = False) -> Any:
    """Index of the first (or last) element equal to ``value``; null if none."""
    if isinstance(data, xr.DataArray):
        da = check_array_da(data, "array_find")
        n = da.sizes[ARRAY_DIM]
        if not _searchable(value) or n == 0:
            return null_like(da) if da.ndim > 1 else None
        match = _da_matches(da, value)
        if reverse:
            match = match.isel({ARRAY_DIM: slice(None, None, -1)})
        position = match.argmax(ARRAY_DIM)
        if reverse:
            position = n - 1 - position
        if position.ndim == 0:
            return int(position) if bool(match.any()) else None
        return position.where(match.any(ARRAY_DIM))
    values = as_list(data, "array_find")
    if not _searchable(value):
        return None
    indices = range(len(values) - 1, -1, -1) if reverse else range(len(values))
    for i in indices:
        if _strict_equal(values[i], value):
            return i
    return None


@process("array_contains")
def array_contains(data: Any, value: Any) -> Any:
    """True if any element equals ``value`` (false for null values)."""
    if isinstance(data, xr.DataArray):
        da = check_array_da(data, "array_contains")
        if not _searchable(value) or da.sizes[ARRAY_DIM] == 0:
            template = null_like(da)
            return False if template is None else xr.zeros_like(template, dtype=bool)
        return scalar_or_da(_da_matches(da, value).any(ARRAY_DIM))
    if not _searchable(value):
        return False
    return any(_strict_equal(v, value) for v in as_list(data, "array_contains"))


# --- building arrays ------------------------------------------------------------------------


def _concat_da(first: xr.DataArray, second: xr.DataArray) -> xr.DataArray:
    both_labeled = is_labeled(first) and is_labeled(second)
    if both_labeled:
        common = set(label_strings(first[ARRAY_DIM].values)) & \
            set(label_strings(second[ARRAY_DIM].values))
        if common:
            raise array_error("ArrayLabelConflict",
                              f"The label(s) {sorted(map(str, common))} exist in both arrays.")
    else:
        first = first.drop_vars(ARRAY_DIM, errors="ignore")
        second = second.drop_vars(ARRAY_DIM, errors="ignore")
    return xr.concat([first, second], dim=ARRAY_DIM, coords="minimal", compat="override",
                     join="override")


@process("array_concat")
def array_concat(array1: Any, array2: Any, *, ctx: Any = None) -> Any:
    """array2 appended to array1 (labels kept only if both are labeled)."""
    if isinstance(array1, xr.DataArray) or isinstance(array2, xr.DataArray):
        template = array1 if isinstance(array1, xr.DataArray) else array2
        check_array_da(template, "array_concat")
        check_created(sum(int(getattr(a, "size", 1)) for a in (array1, array2)),
                      "array_concat", cube_value_limit(ctx))
        return _concat_da(array_like(array1, template), array_like(array2, template))
    first = as_list(array1, "array_concat", "array1")
    second = as_list(array2, "array_concat", "array2")
    check_created(len(first) + len(second), "array_concat", MAX_ARRAY_ELEMENTS, "elements")
    return first + second


@process("array_append")
def array_append(data: Any, value: Any, label: Any = None) -> Any:
    """``value`` appended to the array (with ``label`` for labeled arrays)."""
    if isinstance(data, xr.DataArray):
        da = check_array_da(data, "array_append")
        new = value if isinstance(value, xr.DataArray) else xr.DataArray(
            np.nan if value is None else value)
        new = new.expand_dims(ARRAY_DIM)
        if is_labeled(da):
            new_label = label if label is not None else str(da.sizes[ARRAY_DIM])
            if label_position(da, new_label) is not None:
                raise array_error("LabelExists", f"The label {new_label!r} exists already.")
            if da[ARRAY_DIM].dtype.kind == "M":
                new_label = utc_datetime64(new_label)
            new = new.assign_coords({ARRAY_DIM: [new_label]})
            return xr.concat([da, array_like(new, da)], dim=ARRAY_DIM, coords="minimal",
                             compat="override", join="override")
        if label is not None:
            raise array_error("ArrayNotLabeled",
                              "A label can't be provided as the given array is not labeled.")
        return _concat_da(da, array_like(new, da))
    if label is not None:
        raise array_error("ArrayNotLabeled",
                          "A label can't be provided as the given array is not labeled.")
    return as_list(data, "array_append") + [value]


@process("array_create")
def array_create(data: Any = None, repeat: int = 1, *, ctx: Any = None) -> Any:
    """A new array: ``data`` repeated ``repeat`` times."""
    if not is_number(repeat) or int(repeat) != repeat or repeat < 1:
        raise ProcessParameterInvalid(
            "The value passed for parameter 'repeat' in process 'array_create' is invalid: "
            "expected an integer >= 1.")
    if isinstance(data, xr.DataArray):
        da = check_array_da(data, "array_create")
        if repeat == 1:
            return da
        check_created(int(da.size) * int(repeat), "array_create", cube_value_limit(ctx))
        plain = da.drop_vars(ARRAY_DIM, errors="ignore")
        return xr.concat([plain] * int(repeat), dim=ARRAY_DIM)
    if has_per_pixel_elements(data):  # per-pixel values inside a dimension callback
        da = stack_elements(data)
        check_created(int(da.size) * int(repeat), "array_create", cube_value_limit(ctx))
        return da if repeat == 1 else xr.concat([da] * int(repeat), dim=ARRAY_DIM)
    values = [] if data is None else as_list(data, "array_create")
    check_created(len(values) * int(repeat), "array_create", MAX_ARRAY_ELEMENTS, "elements")
    return values * int(repeat)


@process("rearrange")
def rearrange(data: Any, order: Any) -> Any:
    """The elements of ``data`` at the positions given in ``order``."""
    if isinstance(order, xr.DataArray):  # a per-pixel permutation, e.g. from order()
        da = check_array_da(data, "rearrange") if isinstance(data, xr.DataArray) else None
        if da is None:
            da = array_like(data, order)
        return _rearrange_per_pixel(da, order)
    positions = [int(i) for i in as_list(order, "rearrange", "order")]
    if isinstance(data, xr.DataArray):
        da = check_array_da(data, "rearrange")
        if any(p < 0 or p >= da.sizes[ARRAY_DIM] for p in positions):
            raise _not_available()
        return da.isel({ARRAY_DIM: positions})
    values = as_list(data, "rearrange")
    if any(p < 0 or p >= len(values) for p in positions):
        raise _not_available()
    return [values[p] for p in positions]


def _take(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    invalid = np.isnan(positions) if positions.dtype.kind == "f" else np.zeros(positions.shape,
                                                                               bool)
    index = np.where(invalid, 0, positions).astype(np.intp)
    index = np.clip(index, 0, max(values.shape[-1] - 1, 0))
    out = np.take_along_axis(values, index, axis=-1)
    if out.dtype.kind != "f":
        out = out.astype(np.float64)
    return np.where(invalid, np.nan, out).astype(out.dtype)


def _rearrange_per_pixel(da: xr.DataArray, order: xr.DataArray) -> xr.DataArray:
    order = check_array_da(order, "rearrange", "order")
    plain = da.drop_vars(ARRAY_DIM, errors="ignore")
    out_dtype = da.dtype if da.dtype.kind == "f" else np.dtype(np.float64)
    renamed = order.drop_vars(ARRAY_DIM, errors="ignore").rename({ARRAY_DIM: "__order__"})
    result = xr.apply_ufunc(_take, plain, renamed, input_core_dims=[[ARRAY_DIM], ["__order__"]],
                            output_core_dims=[["__order__"]], dask="parallelized",
                            output_dtypes=[out_dtype],
                            dask_gufunc_kwargs={"allow_rechunk": True})
    return result.rename({"__order__": ARRAY_DIM}).transpose(*da.dims)


# The labeled-array and numeric-array families register on import of this module too, so that
# importing ``arrays`` registers every array process.
from . import arrays_labels, arrays_numeric  # noqa: E402,F401
