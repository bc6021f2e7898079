"""Comparison processes (eq, neq, gt, gte, lt, lte, between) and value checks (is_nan, is_valid, ...)."""
from __future__ import annotations

import math as _math
import operator
from typing import Any, Callable

import numpy as np
import xarray as xr

from .registry import process
from .values import (NULLABLE_BOOL, is_array, is_bool, is_null, is_number, null_mask,
                     prepare_operand, to_py, where)


def _combined_null(*values: Any) -> Any:
    """Elementwise null mask over array/scalar operands, or None if no null is possible."""
    mask = None
    for value in values:
        if is_array(value):
            m = null_mask(value)
        elif is_null(value):
            m = True
        else:
            m = None
        if m is None:
            continue
        mask = m if mask is None else (mask | m)
    return mask


def nullable(result: Any, *operands: Any) -> Any:
    """An array comparison result with null where any operand is null (float32 1/0/NaN)."""
    mask = _combined_null(*operands)
    if mask is None:
        return result
    if mask is True:
        return result.astype(NULLABLE_BOOL) * NULLABLE_BOOL(np.nan)
    return where(mask, np.float32(np.nan), result.astype(NULLABLE_BOOL))


def _array_compare(op: Callable[[Any, Any], Any], x: Any, y: Any) -> Any:
    a = prepare_operand(x, promote_int=False)
    b = prepare_operand(y, promote_int=False)
    with np.errstate(invalid="ignore"):
        result = op(a, b)
    if not is_array(result):  # e.g. numpy comparison of object arrays gives arrays anyway
        result = np.asarray(result)
    return nullable(result, x, y)


def _equal_scalars(x: Any, y: Any, delta: Any, case_sensitive: bool) -> Any:
    if is_null(x) or is_null(y):
        return None
    if is_number(x) and is_number(y):
        if delta is not None:
            return bool(abs(to_py(x) - to_py(y)) <= delta)
        return bool(to_py(x) == to_py(y))
    if isinstance(x, str) and isinstance(y, str):
        if not case_sensitive:
            return x.casefold() == y.casefold()
        return x == y
    if is_bool(x) and is_bool(y):
        return bool(x) == bool(y)
    if isinstance(x, (list, dict)) or isinstance(y, (list, dict)):
        return False
    return False


def _eq(x: Any, y: Any, delta: Any, case_sensitive: bool) -> Any:
    if is_array(x) or is_array(y):
        if delta is not None:
            return _array_compare(lambda a, b: np.abs(a - b) <= delta, x, y)
        return _array_compare(operator.eq, x, y)
    return _equal_scalars(x, y, delta, case_sensitive)


@process("eq")
def eq(x: Any, y: Any, delta: Any = None, case_sensitive: bool = True) -> Any:
    """x == y with strict types; null if any operand is null."""
    return _eq(x, y, delta, case_sensitive)


@process("neq")
def neq(x: Any, y: Any, delta: Any = None, case_sensitive: bool = True) -> Any:
    """x != y with strict types; null if any operand is null."""
    result = _eq(x, y, delta, case_sensitive)
    if is_array(result):
        if result.dtype.kind == "b":
            return ~result
        return 1 - result  # nullable float: 1 ↔ 0, NaN stays NaN
    return None if result is None else not result


def _order(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def compare(x: Any, y: Any) -> Any:
        if is_array(x) or is_array(y):
            return _array_compare(op, x, y)
        if is_null(x) or is_null(y):
            return None
        if not (is_number(x) and is_number(y)):
            return False
        return bool(op(to_py(x), to_py(y)))
    return compare


_gt, _gte, _lt, _lte = (_order(operator.gt), _order(operator.ge),
                        _order(operator.lt), _order(operator.le))


@process("gt")
def gt(x: Any, y: Any) -> Any:
    """x > y for numbers; false for other types; null if any operand is null."""
    return _gt(x, y)


@process("gte")
def gte(x: Any, y: Any) -> Any:
    """x >= y for numbers; false for other types; null if any operand is null."""
    return _gte(x, y)


@process("lt")
def lt(x: Any, y: Any) -> Any:
    """x < y for numbers; false for other types; null if any operand is null."""
    return _lt(x, y)


@process("lte")
def lte(x: Any, y: Any) -> Any:
    """x <= y for numbers; false for other types; null if any operand is null."""
    return _lte(x, y)


@process("between")
def between(x: Any, min: Any, max: Any, exclude_max: bool = False) -> Any:  # noqa: A002
    """min <= x <= max (or < max); swapped bounds give false; null if x is null."""
    upper = operator.lt if exclude_max else operator.le
    if is_array(x):  # swapped bounds give false by construction
        return _array_compare(lambda a, _b: (a >= min) & upper(a, max), x, 0)
    if is_null(x):
        return None
    if not is_number(x):
        return False
    if min > max:
        return False
    return bool(x >= min and upper(x, max))


# --- value checks ---------------------------------------------------------------------------


def _object_map(x: Any, func: Callable[[Any], bool]) -> Any:
    vectorised = np.vectorize(func, otypes=[bool])
    if isinstance(x, xr.DataArray):
        return xr.apply_ufunc(vectorised, x, dask="parallelized", output_dtypes=[bool])
    return vectorised(x)


@process("is_nan")
def is_nan(x: Any) -> Any:
    """True only for the number NaN; false for other numbers and non-numbers (2.0.0-rc.2)."""
    if is_array(x):
        kind = x.dtype.kind
        if kind in "fc":
            return np.isnan(x)
        if kind in "iub":
            return np.zeros_like(x, dtype=bool) if not isinstance(x, xr.DataArray) \
                else xr.zeros_like(x, dtype=bool)
        return _object_map(x, lambda v: is_number(v) and _math.isnan(v))
    if is_number(x):
        return bool(_math.isnan(x))
    return False


@process("is_nodata")
def is_nodata(x: Any) -> Any:
    """True if x is null (NaN is the no-data value of numeric data)."""
    if is_array(x):
        mask = null_mask(x)
        if mask is None:
            return xr.zeros_like(x, dtype=bool) if isinstance(x, xr.DataArray) \
                else np.zeros_like(x, dtype=bool)
        return mask
    return is_null(x)


@process("is_valid")
def is_valid(x: Any) -> Any:
    """True unless x is null, NaN or infinite."""
    if is_array(x):
        kind = x.dtype.kind
        if kind in "fc":
            return np.isfinite(x)
        if kind == "O":
            return _object_map(x, lambda v: not is_null(v) and not (
                is_number(v) and _math.isinf(v)))
        mask = null_mask(x)
        if mask is None:
            return xr.ones_like(x, dtype=bool) if isinstance(x, xr.DataArray) \
                else np.ones_like(x, dtype=bool)
        return ~mask
    if is_null(x):
        return False
    if is_number(x):
        return bool(_math.isfinite(x))
    return True


@process("is_infinite")
def is_infinite(x: Any) -> Any:
    """True if x is +/- infinity."""
    if is_array(x):
        if x.dtype.kind in "fc":
            return np.isinf(x)
        if x.dtype.kind == "O":
            return _object_map(x, lambda v: is_number(v) and _math.isinf(v))
        return xr.zeros_like(x, dtype=bool) if isinstance(x, xr.DataArray) \
            else np.zeros_like(x, dtype=bool)
    return bool(is_number(x) and _math.isinf(x))
