"""Value helpers shared by the non-cube process families: null handling, scalars vs arrays, errors.

Conventions (see :mod:`registry`): a *null* number is NaN (or ``None``), other nulls are ``None``.
A *nullable boolean array* (the result of comparing arrays that may hold NaN) is a float32
array of ``1.0`` (true), ``0.0`` (false) and NaN (null); arrays that cannot hold nulls give
plain ``bool`` arrays. All logic processes accept both forms; :func:`truthy` turns either into
a plain boolean array (null → false) for consumers such as masks.
"""
from __future__ import annotations

import math as _math
from numbers import Number
from typing import Any, Callable

import numpy as np
import xarray as xr

from jupyter_eo.errors import ProcessArgumentInvalid, ProcessParameterInvalid

from .registry import ARRAY_DIM

NULLABLE_BOOL = np.float32


def is_array(value: Any) -> bool:
    """True for DataArrays, numpy/dask arrays with at least one dimension (not for 0-d values)."""
    if isinstance(value, xr.DataArray):
        return True
    return hasattr(value, "dtype") and hasattr(value, "shape") and getattr(value, "ndim", 0) > 0


def is_number(value: Any) -> bool:
    """A scalar openEO number (booleans are not numbers)."""
    return isinstance(value, (Number, np.number)) and not isinstance(value, (bool, np.bool_))


def is_bool(value: Any) -> bool:
    """A scalar boolean."""
    return isinstance(value, (bool, np.bool_))


def is_null(value: Any) -> bool:
    """A scalar null: ``None`` or a NaN number."""
    if value is None:
        return True
    if is_number(value):
        try:
            return _math.isnan(value)
        except TypeError:
            return False
    return False


def to_py(value: Any) -> Any:
    """Numpy scalars (and 0-d numpy arrays) as Python scalars; other values unchanged."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    return value


def unwrap(value: Any) -> Any:
    """0-d in-memory DataArrays/arrays as Python scalars (NaN stays NaN); others unchanged."""
    if isinstance(value, xr.DataArray) and value.ndim == 0 and isinstance(value.data, np.ndarray):
        return to_py(value.values[()])
    return to_py(value)


def null_to_none(value: Any) -> Any:
    """Scalar NaN → None (openEO ``null`` of a scalar result); arrays unchanged."""
    return None if is_null(value) else value


def null_mask(value: Any) -> Any:
    """Elementwise null test of an array: NaN for floats, None for object arrays; None if impossible."""
    dtype = value.dtype
    if dtype.kind in "fc":
        return np.isnan(value)
    if dtype.kind == "O":
        if isinstance(value, xr.DataArray):
            return value.isnull()
        return xr.DataArray(value).isnull().data
    if dtype.kind == "M":
        return np.isnat(value)
    return None


def truthy(value: Any) -> Any:
    """A (nullable) boolean value or array as plain booleans: true stays true, false/null → false."""
    if is_array(value):
        if value.dtype.kind == "b":
            return value
        return value == 1
    if value is None:
        return False
    if is_bool(value):
        return bool(value)
    if is_number(value):
        return value == 1
    raise ProcessParameterInvalid(f"Expected a boolean value, got {type(value).__name__}.")


def is_true(value: Any) -> Any:
    """Elementwise "is true" for (nullable) boolean arrays or scalars."""
    return truthy(value)


def is_false(value: Any) -> Any:
    """Elementwise "is false" (null is not false) for (nullable) boolean arrays or scalars."""
    if is_array(value):
        if value.dtype.kind == "b":
            return ~value
        return value == 0
    if value is None:
        return False
    if is_bool(value):
        return not value
    if is_number(value):
        return value == 0
    raise ProcessParameterInvalid(f"Expected a boolean value, got {type(value).__name__}.")


def where(cond: Any, a: Any, b: Any) -> Any:
    """``xr.where`` that keeps numpy/dask inputs as such and maps None to NaN."""
    a = np.nan if a is None else a
    b = np.nan if b is None else b
    if any(isinstance(v, xr.DataArray) for v in (cond, a, b)):
        return _with_input_attrs(xr.where(cond, a, b, keep_attrs=True), (a, b, cond))
    if any(hasattr(v, "__dask_graph__") for v in (cond, a, b)):
        import dask.array as da
        return da.where(cond, a, b)
    return np.where(cond, a, b)


def _with_input_attrs(result: xr.DataArray, inputs: tuple[Any, ...]) -> xr.DataArray:
    """``xr.where(keep_attrs=True)`` gives every coordinate the attributes of ``a`` (none for
    a number), which dropped the CRS of ``spatial_ref``: restore coordinate attributes, and
    the data attributes, from the inputs that have them."""
    arrays = [v for v in inputs if isinstance(v, xr.DataArray)]
    for name in result.coords:
        for source in arrays:
            if name in source.coords and source[name].attrs:
                if result[name].attrs != source[name].attrs:
                    result[name].attrs = dict(source[name].attrs)
                break
    if not result.attrs and arrays:
        result.attrs = dict(next((v.attrs for v in arrays if v.attrs), {}))
    return result


def float_dtype_for(dtype: np.dtype) -> np.dtype:
    """The float type integer/bool data is promoted to (float32 up to 16 bit, else float64)."""
    if dtype.kind == "f":
        return dtype
    if dtype.kind in "biu" and dtype.itemsize <= 2:
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def as_float_array(value: Any) -> Any:
    """An array cast to a float type that can hold NaN (float arrays unchanged)."""
    if value.dtype.kind == "f":
        return value
    return value.astype(float_dtype_for(value.dtype))


def prepare_operand(value: Any, promote_int: bool) -> Any:
    """An operand of an elementwise numeric op on arrays: None → NaN, numpy scalars → Python
    (so float32 arrays stay float32), integer arrays → float when ``promote_int``."""
    if value is None:
        return np.nan
    if isinstance(value, np.generic):
        return value.item()
    if promote_int and is_array(value) and value.dtype.kind in "biu":
        return as_float_array(value)
    return value


def check_number(process: str, name: str, value: Any) -> None:
    """Raise ProcessParameterInvalid unless ``value`` is a number, null or an array."""
    if value is None or is_number(value) or is_array(value):
        return
    if isinstance(value, xr.DataArray):
        return
    raise ProcessParameterInvalid(
        f"The value passed for parameter '{name}' in process '{process}' is invalid: "
        f"expected a number or null, got {type(value).__name__}.")


def numeric(process: str, func: Callable[..., Any], names: tuple[str, ...], *args: Any,
            promote_int: bool = True) -> Any:
    """Apply a numpy ufunc-like ``func`` elementwise with openEO null semantics.

    Scalars: any null argument gives ``None``; the result is a Python scalar. Arrays: nulls are
    NaN and propagate; float32 stays float32; integer arrays are promoted to float when
    ``promote_int`` (no wrap-around, room for NaN).
    """
    for name, value in zip(names, args):
        check_number(process, name, value)
    if any(is_array(a) or isinstance(a, xr.DataArray) for a in args):
        ops = [prepare_operand(a, promote_int) for a in args]
        with np.errstate(all="ignore"):
            return func(*ops)
    if any(is_null(a) for a in args):
        return None
    with np.errstate(all="ignore"):
        result = func(*[to_py(a) for a in args])
    return to_py(result)


def array_error(code: str, message: str) -> ProcessArgumentInvalid:
    """A process-specific openEO error (e.g. ``ArrayElementNotAvailable``)."""
    return ProcessArgumentInvalid(code, message)


def as_list(data: Any, process: str, name: str = "data") -> list[Any]:
    """A list-like openEO array (list, tuple, 1-D numpy array) as a Python list."""
    if isinstance(data, (list, tuple)):
        return list(data)
    if isinstance(data, np.ndarray) and data.ndim == 1:
        return [to_py(v) for v in data]
    if isinstance(data, xr.DataArray) and data.dims == (ARRAY_DIM,):
        return [to_py(v) for v in data.values]
    raise ProcessParameterInvalid(
        f"The value passed for parameter '{name}' in process '{process}' is invalid: "
        f"expected an array, got {type(data).__name__}.")


def is_labeled(data: Any) -> bool:
    """True if ``data`` is a DataArray with a coordinate on :data:`ARRAY_DIM`."""
    return isinstance(data, xr.DataArray) and ARRAY_DIM in data.coords


def array_length(data: Any) -> int:
    """The number of elements along the openEO array dimension."""
    if isinstance(data, xr.DataArray):
        return int(data.sizes[ARRAY_DIM])
    return len(data)


def check_array_da(data: Any, process: str, name: str = "data") -> xr.DataArray:
    """A DataArray openEO array; raises a clear error if it has no array dimension."""
    if ARRAY_DIM not in data.dims:
        raise ProcessParameterInvalid(
            f"The value passed for parameter '{name}' in process '{process}' is invalid: "
            "expected an array (labeled dimension), got a value without array dimension.")
    return data


def run_callback(ctx: Any, callback: Any, parameters: dict[str, Any]) -> Any:
    """Evaluate a callback argument with named parameters.

    Uses ``ctx.run_callback`` when the engine context provides it, otherwise calls the
    callback directly (the engine hands callbacks over as callables)."""
    runner = getattr(ctx, "run_callback", None)
    if runner is not None:
        return runner(callback, parameters)
    if callable(callback):
        return callback(**parameters)
    raise ProcessParameterInvalid("A callback (child process graph) could not be evaluated: "
                                  "no engine context was given.")
