"""Date and time processes on RFC 3339 strings: date_shift, date_difference, date_between."""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd

from jupyter_eo.errors import ProcessParameterInvalid

from .registry import process
from .values import is_null

_DATE_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2}))?$")
_TIME = re.compile(r"^(\d{2}):(\d{2}):(\d{2})$")


@dataclass
class ParsedDate:
    """A local (offset-naive) date-time, its UTC offset, and how it was written."""

    local: datetime
    offset: timezone
    date_only: bool
    offset_text: str

    @property
    def instant(self) -> datetime:
        return self.local.replace(tzinfo=self.offset)


def _invalid(process_id: str, name: str, value: Any, reason: str) -> ProcessParameterInvalid:
    return ProcessParameterInvalid(
        f"The value passed for parameter '{name}' in process '{process_id}' is invalid: "
        f"{reason} (got {value!r}).")


def _as_text(value: Any) -> Any:
    if isinstance(value, (np.datetime64, pd.Timestamp, datetime)):
        stamp = pd.Timestamp(value)
        if stamp.tzinfo is None:
            stamp = stamp.tz_localize("UTC")
        return stamp.isoformat().replace("+00:00", "Z")
    return value


def parse_date(value: Any, process_id: str, name: str) -> ParsedDate:
    """Parse an openEO date (``YYYY-MM-DD``) or date-time string; leap seconds become :59 + 1 s."""
    text = _as_text(value)
    match = _DATE_TIME.match(text) if isinstance(text, str) else None
    if not match:
        raise _invalid(process_id, name, value, "expected an RFC 3339 date or date-time")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    leap = False
    try:
        if hour is None:
            local = datetime(int(year), int(month), int(day))
            return ParsedDate(local, timezone.utc, True, "Z")
        sec = int(second)
        if sec == 60:
            sec, leap = 59, True
        micro = int(round(float(fraction) * 1_000_000)) if fraction else 0
        local = datetime(int(year), int(month), int(day), int(hour), int(minute), sec, micro)
    except ValueError as exc:
        raise _invalid(process_id, name, value, str(exc)) from None
    if leap:
        local += timedelta(seconds=1)
    if zone in ("Z", "z"):
        offset, offset_text = timezone.utc, "Z"
    else:
        sign = 1 if zone[0] == "+" else -1
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        offset = timezone(sign * timedelta(hours=hours, minutes=minutes))
        offset_text = zone
    return ParsedDate(local, offset, False, offset_text)


def format_date(parsed: ParsedDate) -> str:
    """The RFC 3339 text of a date, keeping the input's style (date only, offset, milliseconds)."""
    local = parsed.local
    day = f"{local.year:04d}-{local.month:02d}-{local.day:02d}"  # strftime drops year padding
    if parsed.date_only:
        return day
    text = f"{day}T{local.hour:02d}:{local.minute:02d}:{local.second:02d}"
    if local.microsecond:
        text += (f".{local.microsecond // 1000:03d}" if local.microsecond % 1000 == 0
                 else f".{local.microsecond:06d}")
    return text + parsed.offset_text


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` shifted by whole months; the day is clamped to the month's last day."""
    total = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    if not 1 <= year <= 9999:
        raise ProcessParameterInvalid("The shifted date is outside the supported years 1-9999.")
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


_FIXED_UNITS = {
    "millisecond": timedelta(milliseconds=1), "second": timedelta(seconds=1),
    "minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1),
    "week": timedelta(weeks=1),
}


@process("date_shift")
def date_shift(date: Any, value: Any, unit: str) -> Any:
    """``date`` shifted by ``value`` units (months/years clamp to valid days)."""
    if date is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or \
            not float(value).is_integer():
        raise _invalid("date_shift", "value", value, "expected an integer")
    parsed = parse_date(date, "date_shift", "date")
    try:
        if unit in _FIXED_UNITS:
            parsed.local = parsed.local + int(value) * _FIXED_UNITS[unit]
        elif unit == "month":
            parsed.local = add_months(parsed.local, int(value))
        elif unit == "year":
            parsed.local = add_months(parsed.local, 12 * int(value))
        else:
            raise _invalid("date_shift", "unit", unit, "unknown unit")
    except OverflowError:
        raise ProcessParameterInvalid("The shifted date is outside the supported years 1-9999.") \
            from None
    return format_date(parsed)


def _months_between(start: datetime, end: datetime) -> float:
    """Calendar months from ``start`` to ``end`` (fractional within the last month)."""
    if end < start:
        return -_months_between(end, start)
    months = (end.year - start.year) * 12 + (end.month - start.month)
    anchor = add_months(start, months)
    if anchor > end:
        months -= 1
        anchor = add_months(start, months)
    following = add_months(start, months + 1)
    return months + (end - anchor) / (following - anchor)


_SECONDS = {"millisecond": 0.001, "second": 1.0, "minute": 60.0, "hour": 3600.0,
            "day": 86400.0}


@process("date_difference")
def date_difference(date1: Any, date2: Any, unit: str = "second") -> Any:
    """``date2 - date1`` in the given unit."""
    if date1 is None or date2 is None:
        return None
    first = parse_date(date1, "date_difference", "date1").instant.astimezone(timezone.utc)
    second = parse_date(date2, "date_difference", "date2").instant.astimezone(timezone.utc)
    if unit in _SECONDS:
        seconds = (second - first) / timedelta(seconds=1)
        result = seconds / _SECONDS[unit]
    elif unit == "month":
        result = _months_between(first, second)
    elif unit == "year":
        result = _months_between(first, second) / 12
    else:
        raise _invalid("date_difference", "unit", unit, "unknown unit")
    return int(result) if float(result).is_integer() else result


def _time_of_day(value: Any, process_id: str, name: str) -> time | None:
    match = _TIME.match(value) if isinstance(value, str) else None
    if not match:
        return None
    hour, minute, second = (int(g) for g in match.groups())
    return time(hour, minute, min(second, 59))


@process("date_between")
def date_between(x: Any, min: Any, max: Any, exclude_max: bool = False) -> Any:  # noqa: A002
    """True if ``min <= x <= max`` (or ``< max``) as instants; time-only bounds compare the
    time of day (UTC); swapped bounds give false."""
    if x is None or is_null(x):
        return None
    low_t, high_t = _time_of_day(min, "date_between", "min"), _time_of_day(max, "date_between",
                                                                           "max")
    if low_t is not None and high_t is not None:
        value_t = _time_of_day(x, "date_between", "x")
        if value_t is None:
            instant = parse_date(x, "date_between", "x").instant.astimezone(timezone.utc)
            value_t = instant.time().replace(microsecond=0, tzinfo=None)
        low, high, value = low_t, high_t, value_t
    else:
        low = parse_date(min, "date_between", "min").instant
        high = parse_date(max, "date_between", "max").instant
        value = parse_date(x, "date_between", "x").instant
    if low > high:
        return False
    return low <= value and (value < high if exclude_max else value <= high)
