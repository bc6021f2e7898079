"""Property-based checks (hypothesis) of invariants between the non-cube processes."""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from procs_testlib import call_process

from jupyter_eo.backend.processes.registry import ARRAY_DIM

FAST = settings(max_examples=60, deadline=None)
numbers = st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False),
                    st.integers(-1000, 1000))
number_lists = st.lists(numbers, max_size=12)


@FAST
@given(number_lists, st.booleans(), st.sampled_from([None, True, False]))
def test_rearrange_by_order_is_sort(data: list, asc: bool, nodata: object) -> None:
    permutation = call_process("order", {"data": data, "asc": asc, "nodata": nodata})
    assert sorted(permutation) == sorted(set(permutation))
    rearranged = call_process("rearrange", {"data": data, "order": permutation})
    assert rearranged == call_process("sort", {"data": data, "asc": asc, "nodata": nodata})
    valid = [v for v in rearranged if v is not None]
    assert valid == sorted(valid, reverse=not asc)


@FAST
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=15),
       st.lists(st.floats(0, 1), min_size=1, max_size=5, unique=True))
def test_quantiles_are_monotonic_and_bounded(data: list, probabilities: list) -> None:
    probabilities = sorted(probabilities)
    got = call_process("quantiles", {"data": data, "probabilities": probabilities})
    assert all(a <= b + 1e-6 * (1 + abs(b)) for a, b in zip(got, got[1:]))
    assert all(min(data) - 1e-6 <= q <= max(data) + 1e-6 for q in got)
    median = call_process("median", {"data": data})
    assert median == pytest.approx(call_process("quantiles", {"data": data,
                                                              "probabilities": [0.5]})[0])
    assert median == pytest.approx(float(np.median(data)))


@FAST
@given(st.lists(st.one_of(st.none(), st.floats(-100, 100, allow_nan=False)), min_size=1,
                max_size=10).map(lambda v: v * 2))
def test_vectorised_equals_list_for_random_arrays(values: list) -> None:
    n = len(values) // 2
    array = np.array([[np.nan if v is None else v for v in values[:n]],
                      [np.nan if v is None else v for v in values[n:]]], dtype=np.float64).T
    da = xr.DataArray(array, dims=(ARRAY_DIM, "x"))
    for process_id in ("sum", "mean", "min", "max", "sd", "median", "first", "last", "count"):
        got = call_process(process_id, {"data": da})
        for column, part in enumerate((values[:n], values[n:])):
            expected = call_process(process_id, {"data": part})
            value = float(got.values[column])
            if expected is None:
                assert math.isnan(value)
            else:
                assert value == pytest.approx(expected, rel=1e-9, abs=1e-9)


@FAST
@given(st.floats(-1e4, 1e4, allow_nan=False), st.floats(-1e4, 1e4, allow_nan=False))
def test_mod_has_the_sign_of_the_divisor(x: float, y: float) -> None:
    result = call_process("mod", {"x": x, "y": y})
    if y == 0:
        assert math.isinf(result) or (x == 0 and math.isnan(result))
        return
    assert abs(result) <= abs(y)
    assert result == 0 or math.copysign(1, result) == math.copysign(1, y)


@FAST
@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)),
       st.integers(-100000, 100000), st.sampled_from(["second", "minute", "hour", "day", "week"]),
       st.sampled_from(["Z", "+02:00", "-05:30"]))
def test_date_shift_and_difference_agree(moment: datetime, value: int, unit: str,
                                         offset: str) -> None:
    text = moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%S") + offset
    shifted = call_process("date_shift", {"date": text, "value": value, "unit": unit})
    assert shifted.endswith(offset)
    unit_for_difference = "day" if unit == "week" else unit
    factor = 7 if unit == "week" else 1
    difference = call_process("date_difference", {"date1": text, "date2": shifted,
                                                  "unit": unit_for_difference})
    assert difference == pytest.approx(value * factor)
    back = call_process("date_shift", {"date": shifted, "value": -value, "unit": unit})
    assert back == text


@FAST
@given(st.dates(min_value=datetime(1900, 1, 1).date(), max_value=datetime(2100, 1, 1).date()),
       st.integers(-240, 240))
def test_month_shift_never_overflows_the_month(day: object, months: int) -> None:
    shifted = call_process("date_shift", {"date": day.isoformat(), "value": months,
                                          "unit": "month"})
    result = datetime.strptime(shifted, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    total = day.year * 12 + day.month - 1 + months
    assert (result.year, result.month) == (total // 12, total % 12 + 1)
    assert result.day == day.day or (result.day < day.day and (
        result + timedelta(days=1)).month != result.month)
