"""Logic processes with three-valued (true/false/null) semantics: and, or, xor, not, if, all, any."""
from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from jupyter_eo.errors import ProcessParameterInvalid

from .registry import ARRAY_DIM, as_array, has_per_pixel_elements, process
from .values import (NULLABLE_BOOL, as_list, check_array_da, is_array, is_bool, is_false,
                     is_null, is_number, is_true, where)


def _check_bool(process_id: str, name: str, value: Any) -> None:
    if value is None or is_bool(value) or is_array(value):
        return
    if is_number(value) and (is_null(value) or value in (0, 1)):
        return  # 0-d nullable boolean
    raise ProcessParameterInvalid(
        f"The value passed for parameter '{name}' in process '{process_id}' is invalid: "
        f"expected a boolean or null, got {type(value).__name__}.")


def _may_be_null(value: Any) -> bool:
    if is_array(value):
        return value.dtype.kind != "b"
    return value is None or is_null(value)


def _from_masks(true: Any, false: Any, nullable: bool) -> Any:
    """Combine elementwise true/false masks into a bool array, or a nullable float32 array."""
    if not nullable:
        return true
    result = where(true, 1.0, where(false, 0.0, np.nan))
    return result.astype(NULLABLE_BOOL)


def _scalar_from_masks(true: Any, false: Any) -> Any:
    return True if true else (False if false else None)


def _binary(process_id: str, x: Any, y: Any, true: Any, false: Any) -> Any:
    if is_array(x) or is_array(y):
        return _from_masks(true, false, _may_be_null(x) or _may_be_null(y))
    return _scalar_from_masks(bool(true), bool(false))


@process("and")
def and_(x: Any, y: Any) -> Any:
    """x AND y; false wins over null."""
    _check_bool("and", "x", x)
    _check_bool("and", "y", y)
    return _binary("and", x, y, is_true(x) & is_true(y), is_false(x) | is_false(y))


@process("or")
def or_(x: Any, y: Any) -> Any:
    """x OR y; true wins over null."""
    _check_bool("or", "x", x)
    _check_bool("or", "y", y)
    return _binary("or", x, y, is_true(x) | is_true(y), is_false(x) & is_false(y))


@process("xor")
def xor(x: Any, y: Any) -> Any:
    """x XOR y; null if any operand is null."""
    _check_bool("xor", "x", x)
    _check_bool("xor", "y", y)
    tx, ty, fx, fy = is_true(x), is_true(y), is_false(x), is_false(y)
    return _binary("xor", x, y, (tx & fy) | (fx & ty), (tx & ty) | (fx & fy))


@process("not")
def not_(x: Any) -> Any:
    """NOT x; null stays null."""
    _check_bool("not", "x", x)
    if is_array(x):
        return _from_masks(is_false(x), is_true(x), _may_be_null(x))
    return _scalar_from_masks(is_false(x), is_true(x))


@process("if")
def if_(value: Any, accept: Any, reject: Any = None) -> Any:
    """accept where value is true, reject otherwise (false or null)."""
    _check_bool("if", "value", value)
    if is_array(value):
        accept, reject = _as_branch(accept, reject), _as_branch(reject, accept)
        return where(is_true(value), accept, reject)
    return accept if is_true(value) else reject


def _as_branch(branch: Any, other: Any) -> Any:
    """An array accept/reject of a per-pixel ``if`` as a DataArray along ARRAY_DIM (so each
    pixel gets the whole array), anything else unchanged. A list of plain numbers takes the
    other branch's dtype where that holds them (as a Python number would)."""
    if not isinstance(branch, (list, tuple)):
        return branch
    array = as_array(branch)
    plain = all(v is None or isinstance(v, (int, float, bool)) for v in branch)
    if plain and isinstance(other, xr.DataArray) and array.dtype.kind != "O":
        weak = [float("nan") if v is None else v for v in branch]
        array = array.astype(np.result_type(other.dtype, *weak))
    return array


def _list_truth(process_id: str, data: Any) -> list[Any]:
    values = as_list(data, process_id)
    for v in values:
        _check_bool(process_id, "data", v)
    return [None if (v is None or is_null(v)) else bool(is_true(v)) for v in values]


def _reduce_truth(data: xr.DataArray, process_id: str) -> tuple[Any, Any, Any, bool]:
    data = check_array_da(data, process_id)
    true, false = is_true(data), is_false(data)
    any_true = true.any(ARRAY_DIM)
    any_false = false.any(ARRAY_DIM)
    any_null = (~(true | false)).any(ARRAY_DIM)
    nullable = data.dtype.kind != "b" or data.sizes[ARRAY_DIM] == 0
    return any_true, any_false, any_null, nullable


@process("all")
def all_(data: Any, ignore_nodata: bool = True) -> Any:
    """True if all values are true (nulls ignored by default); true for empty arrays (rc.2)."""
    if has_per_pixel_elements(data):
        data = as_array(data)
    if isinstance(data, xr.DataArray):
        _any_true, any_false, any_null, nullable = _reduce_truth(data, "all")
        if ignore_nodata:
            return _from_masks(~any_false, any_false, nullable)
        return _from_masks(~any_false & ~any_null, any_false, nullable)
    values = _list_truth("all", data)
    if False in values:
        return False
    if not ignore_nodata and None in values:
        return None
    return True


@process("any")
def any_(data: Any, ignore_nodata: bool = True) -> Any:
    """True if any value is true (nulls ignored by default); false for empty arrays (rc.2)."""
    if has_per_pixel_elements(data):
        data = as_array(data)
    if isinstance(data, xr.DataArray):
        any_true, _any_false, any_null, nullable = _reduce_truth(data, "any")
        if ignore_nodata:
            return _from_masks(any_true, ~any_true, nullable)
        return _from_masks(any_true, ~any_true & ~any_null, nullable)
    values = _list_truth("any", data)
    if True in values:
        return True
    if not ignore_nodata and None in values:
        return None
    return False
