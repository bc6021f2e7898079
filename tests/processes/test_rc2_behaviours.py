"""openEO processes 2.0.0-rc.2 behaviours, each on its own (beyond the spec's examples)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from jupyter_eo.backend.processes.cubes_aggregate import _periods, period_label
from jupyter_eo.backend.processes.registry import ARRAY_DIM
from jupyter_eo.errors import OpenEOError

from procs_testlib import call_process


def _labeled(values: list, labels: list | None = None) -> xr.DataArray:
    da = xr.DataArray(np.array(values, dtype=float), dims=(ARRAY_DIM,))
    return da.assign_coords({ARRAY_DIM: labels}) if labels is not None else da


@pytest.mark.parametrize("pid,empty", [("all", True), ("any", False)])
def test_all_any_of_empty_arrays(pid: str, empty: bool) -> None:
    assert call_process(pid, {"data": []}) is empty
    cube = xr.DataArray(np.zeros((0, 2)), dims=(ARRAY_DIM, "x"))
    out = call_process(pid, {"data": cube})
    assert out.values.tolist() == [float(empty)] * 2


def test_all_any_on_arrays_of_nulls() -> None:
    nulls = xr.DataArray(np.full((2, 1), np.nan, dtype=np.float32), dims=(ARRAY_DIM, "x"))
    assert call_process("all", {"data": nulls}).values.tolist() == [1.0]
    assert call_process("any", {"data": nulls}).values.tolist() == [0.0]
    assert np.isnan(call_process("all", {"data": nulls, "ignore_nodata": False}).values).all()
    assert np.isnan(call_process("any", {"data": nulls, "ignore_nodata": False}).values).all()


def test_clip_min_greater_than_max_is_min_max_swapped() -> None:
    with pytest.raises(OpenEOError) as info:
        call_process("clip", {"x": 5, "min": 2, "max": 1})
    assert info.value.code == "MinMaxSwapped"
    assert call_process("clip", {"x": 5, "min": 1, "max": 1}) == 1


@pytest.mark.parametrize("value", ["text", True, None, [1], {"a": 1}])
def test_is_nan_is_false_for_non_numbers(value) -> None:
    assert call_process("is_nan", {"x": value}) is False


def test_is_nan_of_numbers_and_object_arrays() -> None:
    assert call_process("is_nan", {"x": math.nan}) is True
    assert call_process("is_nan", {"x": 1.5}) is False
    mixed = np.array(["a", math.nan, 2, None], dtype=object)
    assert call_process("is_nan", {"x": mixed}).tolist() == [False, True, False, False]


def test_array_append_label_on_unlabeled_array_is_array_not_labeled() -> None:
    for data in ([1, 2], _labeled([1, 2])):
        with pytest.raises(OpenEOError) as info:
            call_process("array_append", {"data": data, "value": 3, "label": "c"})
        assert info.value.code == "ArrayNotLabeled"
    out = call_process("array_append", {"data": _labeled([1, 2], ["a", "b"]), "value": 3,
                                        "label": "c"})
    assert out[ARRAY_DIM].values.tolist() == ["a", "b", "c"]


@pytest.mark.parametrize("day,label", [
    ("2021-01-01", "2020-53"),   # Friday: still the last ISO week of 2020
    ("2021-01-04", "2021-01"),   # Monday of ISO week 1
    ("2020-12-31", "2020-53"),
    ("2024-12-30", "2025-01"),   # Monday: belongs to 2025's first week
    ("2022-06-01", "2022-22"),
])
def test_week_labels_are_iso_8601(day: str, label: str) -> None:
    assert period_label(pd.Timestamp(day), "week") == label


def test_weekly_groups_follow_iso_weeks() -> None:
    """Sunday and the next Monday are in different ISO weeks (the old day-of-year / 7 rule
    put 2021-01-03 and 2021-01-04 in one week and capped 2020-12-31 at week 52)."""
    times = pd.DatetimeIndex(["2020-12-31", "2021-01-03", "2021-01-04", "2021-01-10"])
    groups, labels = _periods(times, "week")
    assert labels == ["2020-53", "2021-01"]
    assert [g.tolist() for g in groups] == [[0, 1], [2, 3]]


def test_divide_mod_log_sqrt_special_values() -> None:
    assert call_process("divide", {"x": 1, "y": 0}) == math.inf
    assert call_process("divide", {"x": -1, "y": 0}) == -math.inf
    assert math.isnan(call_process("divide", {"x": 0, "y": 0}))
    assert call_process("mod", {"x": 5, "y": 0}) == math.inf
    assert call_process("mod", {"x": -5, "y": 0}) == -math.inf
    assert call_process("ln", {"x": 0}) == -math.inf
    assert math.isnan(call_process("log", {"x": 8, "base": -2}))
    assert math.isnan(call_process("sqrt", {"x": -1}))
    assert call_process("log", {"x": 8, "base": 2}) == pytest.approx(3)


def test_apply_dimension_into_an_existing_single_label_dimension() -> None:
    """The spec lists no DimensionExists: the target's values are replaced, the source goes."""
    cube = xr.DataArray(np.arange(6, dtype=float).reshape(3, 1, 2), dims=("t", "bands", "x"),
                        coords={"t": pd.date_range("2021-01-01", periods=3),
                                "bands": ["B1"], "x": [0.5, 1.5]})
    out = call_process("apply_dimension", {
        "data": cube, "dimension": "t", "target_dimension": "bands",
        "process": lambda data, context=None: data * 10})
    assert out.dims == ("bands", "x")
    assert out["bands"].values.tolist() == [0, 1, 2]
    assert out.values.tolist() == [[0, 10], [20, 30], [40, 50]]
    wide = xr.concat([cube, cube.assign_coords(bands=["B2"])], dim="bands")
    with pytest.raises(OpenEOError) as info:
        call_process("apply_dimension", {"data": wide, "dimension": "t",
                                         "target_dimension": "bands",
                                         "process": lambda data, context=None: data})
    assert info.value.code == "ProcessParameterInvalid"
