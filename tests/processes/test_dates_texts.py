"""Date and text processes beyond the spec examples: formats, offsets, leap days/seconds, units."""
from __future__ import annotations

import pytest
from procs_testlib import call_process


@pytest.mark.parametrize("date, value, unit, expected", [
    ("2020-03-31T10:00:00Z", -1, "month", "2020-02-29T10:00:00Z"),
    ("2019-12-31", 1, "week", "2020-01-07"),
    ("2020-01-01T00:00:00.5Z", 250, "millisecond", "2020-01-01T00:00:00.750Z"),
    ("2016-12-31T23:59:60Z", 0, "second", "2017-01-01T00:00:00Z"),
    ("2020-01-01T23:30:00-05:00", 1, "hour", "2020-01-02T00:30:00-05:00"),
    ("2024-02-29", -4, "year", "2020-02-29"),
    ("2024-02-29", 1, "year", "2025-02-28"),
])
def test_date_shift(date: str, value: int, unit: str, expected: str) -> None:
    assert call_process("date_shift", {"date": date, "value": value, "unit": unit}) == expected


@pytest.mark.parametrize("date1, date2, unit, expected", [
    ("2020-01-01", "2020-03-01", "month", 2),
    ("2020-01-01", "2020-01-16T12:00:00Z", "month", 15.5 / 31),
    ("2020-01-01", "2021-01-01", "year", 1),
    ("2020-01-01T00:00:00Z", "2020-01-01T00:01:30Z", "minute", 1.5),
    ("2020-01-01T00:00:00+02:00", "2020-01-01", "hour", 2),
    ("2020-03-01", "2020-01-01", "month", -2),
])
def test_date_difference_units(date1: str, date2: str, unit: str, expected: float) -> None:
    got = call_process("date_difference", {"date1": date1, "date2": date2, "unit": unit})
    assert got == pytest.approx(expected)


def test_date_between_variants() -> None:
    assert call_process("date_between", {"x": "2021-06-01T12:00:00Z", "min": "2021-01-01",
                                         "max": "2022-01-01"}) is True
    assert call_process("date_between", {"x": "2022-01-01", "min": "2021-01-01",
                                         "max": "2022-01-01", "exclude_max": True}) is False
    assert call_process("date_between", {"x": "2021-01-01T01:00:00+01:00",
                                         "min": "2021-01-01", "max": "2021-01-01"}) is True
    assert call_process("date_between", {"x": "2021-05-05T10:30:00Z", "min": "10:00:00",
                                         "max": "11:00:00"}) is True
    assert call_process("date_between", {"x": "2021-05-05", "min": "2022-01-01",
                                         "max": "2021-01-01"}) is False
    assert call_process("date_between", {"x": None, "min": "2021-01-01",
                                         "max": "2022-01-01"}) is None


def test_texts() -> None:
    assert call_process("text_concat", {"data": [1.0, None, True, "x"], "separator": "-"}) == \
        "1.0-null-true-x"
    assert call_process("text_contains", {"data": "Straße", "pattern": "STRASSE",
                                          "case_sensitive": False}) is True
    assert call_process("text_ends", {"data": "", "pattern": ""}) is True
    assert call_process("text_begins", {"data": "abc", "pattern": "abcd"}) is False
