"""Labeled-array processes: array_create_labeled, array_find_label and array_modify."""
from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from jupyter_eo.errors import ProcessParameterInvalid

from .arrays import array_like, label_position, label_strings
from .registry import ARRAY_DIM, as_array, process
from .values import array_error, as_list, check_array_da, is_labeled, is_number


@process("array_create_labeled")
def array_create_labeled(data: Any, labels: Any) -> xr.DataArray:
    """A labeled array (DataArray with an ARRAY_DIM coordinate) from values and labels."""
    label_list = as_list(labels, "array_create_labeled", "labels")
    if isinstance(data, xr.DataArray):
        da = check_array_da(data, "array_create_labeled")
    else:
        da = as_array(as_list(data, "array_create_labeled"))
    if da.sizes[ARRAY_DIM] != len(label_list):
        raise array_error("ArrayLengthMismatch",
                          "The number of values in the parameters 'data' and 'labels' don't "
                          "match.")
    if len(set(map(str, label_list))) != len(label_list):
        raise ProcessParameterInvalid("The labels of a labeled array must be unique.")
    return da.assign_coords({ARRAY_DIM: np.asarray(label_list, dtype=object)
                             if any(isinstance(v, str) for v in label_list)
                             else np.asarray(label_list)})


@process("array_find_label")
def array_find_label(data: Any, label: Any) -> Any:
    """Zero-based index of ``label`` in a labeled array; null if absent or not labeled."""
    if isinstance(data, xr.DataArray):
        da = check_array_da(data, "array_find_label")
        return label_position(da, label) if is_labeled(da) else None
    as_list(data, "array_find_label")
    return None


@process("array_modify")
def array_modify(data: Any, values: Any, index: Any, length: Any = 0) -> Any:
    """Removes ``length`` elements at ``index`` and inserts ``values`` there."""
    for name, value in (("index", index), ("length", length)):
        if not is_number(value) or int(value) != value or value < 0:
            raise ProcessParameterInvalid(
                f"The value passed for parameter '{name}' in process 'array_modify' is invalid: "
                "expected a non-negative integer.")
    index, length = int(index), int(length)
    if not isinstance(data, xr.DataArray) and not isinstance(values, xr.DataArray):
        items = as_list(data, "array_modify")
        insert = as_list(values, "array_modify", "values")
        if index > len(items):
            raise _not_available()
        return items[:index] + insert + items[index + length:]
    if isinstance(data, xr.DataArray):
        da = check_array_da(data, "array_modify")
        new = array_like(values, da)
    else:
        new = check_array_da(values, "array_modify", "values")
        da = array_like(data, new)
    n = da.sizes[ARRAY_DIM]
    if index > n:
        raise _not_available()
    head = da.isel({ARRAY_DIM: slice(0, index)})
    tail = da.isel({ARRAY_DIM: slice(index + length, None)})
    keep_labels = (is_labeled(da) and is_labeled(new)) or \
        (is_labeled(da) and new.sizes[ARRAY_DIM] == 0) or \
        (is_labeled(new) and n == 0)
    parts = [head, new, tail]
    if keep_labels:
        kept = set(label_strings(head[ARRAY_DIM].values)) | \
            set(label_strings(tail[ARRAY_DIM].values)) if n else set()
        if new.sizes[ARRAY_DIM] and kept & set(label_strings(new[ARRAY_DIM].values)):
            raise array_error("ArrayLabelConflict",
                              "At least one label exists in both arrays and the conflict must "
                              "be resolved before.")
    else:
        parts = [p.drop_vars(ARRAY_DIM, errors="ignore") for p in parts]
    parts = [p for p in parts if p.sizes[ARRAY_DIM]] or [head]
    return xr.concat(parts, dim=ARRAY_DIM, coords="minimal", compat="override", join="override")


def _not_available() -> Exception:
    return array_error("ArrayElementNotAvailable",
                       "The array has no element with the specified index or label.")
