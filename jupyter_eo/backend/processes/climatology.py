"""Climatology processes on the temporal dimension: climatological_normal and anomaly."""
from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from jupyter_eo.errors import ProcessArgumentInvalid, ProcessParameterInvalid

from .registry import process

SEASONS = {12: "djf", 1: "djf", 2: "djf", 3: "mam", 4: "mam", 5: "mam", 6: "jja", 7: "jja",
           8: "jja", 9: "son", 10: "son", 11: "son"}
SEASON_ORDER = ["djf", "mam", "jja", "son"]
TROPICAL_ORDER = ["ndjfma", "mjjaso"]
NORMAL_PERIODS = ("day", "month", "season", "tropical-season", "climatology-period")
ANOMALY_PERIODS = ("hour", "day", "week", "dekad", "month", "season", "tropical-season", "year",
                   "decade", "decade-ad", "single-period", "climatology-period")
_SINGLE = ("single-period", "climatology-period")


def _as_cube(data: Any) -> xr.DataArray:
    if isinstance(data, xr.DataArray):
        return data
    to_dataarray = getattr(data, "to_dataarray", None)  # the engine's lazy block plans
    if to_dataarray is not None:
        return to_dataarray()
    raise ProcessParameterInvalid("Parameter 'data' must be a raster data cube.")


def _temporal_dim(cube: xr.DataArray) -> str:
    candidates = [d for d in cube.dims if d == "t" or (
        d in cube.coords and np.issubdtype(cube[d].dtype, np.datetime64))]
    candidates = list(dict.fromkeys(candidates))
    if not candidates:
        raise ProcessArgumentInvalid("DimensionNotAvailable", "The data cube has no temporal "
                                     "dimension.")
    if len(candidates) > 1:
        raise ProcessArgumentInvalid("TooManyDimensions", "The data cube has more than one "
                                     "temporal dimension.")
    return candidates[0]


def _timestamps(labels: np.ndarray) -> pd.DatetimeIndex:
    """Temporal labels as naive UTC timestamps (string labels such as '2020-03' accepted)."""
    if labels.dtype.kind == "M":
        return pd.DatetimeIndex(labels)
    stamps = []
    for label in labels.tolist():
        stamp = pd.Timestamp(str(label))
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        stamps.append(stamp)
    return pd.DatetimeIndex(stamps)


def _normal_key(ts: pd.Timestamp, period: str) -> str:
    if period == "day":
        return f"{min(ts.dayofyear, 365):03d}"
    if period == "month":
        return f"{ts.month:02d}"
    if period == "season":
        return SEASONS[ts.month]
    if period == "tropical-season":
        return "ndjfma" if ts.month in (11, 12, 1, 2, 3, 4) else "mjjaso"
    return "climatology-period"


def _in_climatology(ts: pd.Timestamp, period: str, first: int, last: int) -> bool:
    """Whether a time step belongs to the climatology period (seasons may start a year early)."""
    year = ts.year
    if period == "season" and ts.month == 12:
        year += 1  # December belongs to the next year's winter
    elif period == "tropical-season" and ts.month in (11, 12):
        year += 1
    return first <= year <= last


@process("climatological_normal")
def climatological_normal(data: Any, period: str, climatology_period: Any = None) -> Any:
    """Mean per day of year, month, season, tropical season or the whole climatology period."""
    if period not in NORMAL_PERIODS:
        raise ProcessParameterInvalid(f"Unknown period {period!r}; expected one of "
                                      f"{list(NORMAL_PERIODS)}.")
    years = climatology_period if climatology_period is not None else ["1981", "2010"]
    if not isinstance(years, (list, tuple)) or len(years) != 2:
        raise ProcessParameterInvalid("climatology_period must be a list of two years.")
    first, last = (int(str(y)[:4]) for y in years)
    cube = _as_cube(data)
    dim = _temporal_dim(cube)
    times = _timestamps(cube[dim].values)
    keep = np.array([_in_climatology(ts, period, first, last) for ts in times], dtype=bool)
    if not keep.any():
        raise ProcessParameterInvalid(
            f"The data cube has no time steps in the climatology period {first}-{last}.")
    selected = cube.isel({dim: np.nonzero(keep)[0]})
    keys = [_normal_key(ts, period) for ts in times[keep]]
    order = {"season": SEASON_ORDER, "tropical-season": TROPICAL_ORDER}.get(period)
    labels = [k for k in order if k in keys] if order else sorted(set(keys))
    key_array = np.asarray(keys)
    parts = [selected.isel({dim: np.nonzero(key_array == label)[0]}).mean(dim, skipna=True)
             for label in labels]
    result = xr.concat(parts, dim=pd.Index(labels, name=dim))
    dims = [d for d in cube.dims]
    return result.transpose(*dims).assign_attrs(cube.attrs)


def _anomaly_key(label: Any, period: str) -> str:
    """The normals label that a data label of the given period belongs to."""
    if period in _SINGLE:
        return ""
    if isinstance(label, (np.datetime64, pd.Timestamp)):
        ts = pd.Timestamp(label)
        return {"hour": f"{ts.hour:02d}", "day": f"{min(ts.dayofyear, 365):03d}",
                "week": f"{min(52, (ts.dayofyear - 1) // 7 + 1):02d}",
                "dekad": f"{(ts.month - 1) * 3 + min(2, (ts.day - 1) // 10) + 1:02d}",
                "month": f"{ts.month:02d}", "season": SEASONS[ts.month],
                "tropical-season": "ndjfma" if ts.month in (11, 12, 1, 2, 3, 4) else "mjjaso",
                "year": f"{ts.year:04d}", "decade": f"{ts.year - ts.year % 10:04d}",
                "decade-ad": f"{ts.year - (ts.year - 1) % 10:04d}"}[period]
    text = str(label)
    if period in ("year", "decade", "decade-ad"):
        return text[:4]
    if period == "hour":
        match = re.match(r"^\d{4}-\d{2}-\d{2}-(\d{2})$", text)
    else:
        match = re.match(r"^\d{4}-([0-9a-z]+)$", text)
    if not match:
        raise ProcessParameterInvalid(f"The temporal label {text!r} does not match the period "
                                      f"{period!r}.")
    return match.group(1)


@process("anomaly")
def anomaly(data: Any, normals: Any, period: str) -> Any:
    """data minus the normal of the period each time step falls into."""
    if period not in ANOMALY_PERIODS:
        raise ProcessParameterInvalid(f"Unknown period {period!r}.")
    cube, normal_cube = _as_cube(data), _as_cube(normals)
    dim, normal_dim = _temporal_dim(cube), _temporal_dim(normal_cube)
    normal_labels = [str(v) for v in normal_cube[normal_dim].values.tolist()]
    if period in _SINGLE:
        if len(normal_labels) != 1:
            raise ProcessParameterInvalid("The normals for a single period must have exactly "
                                          "one temporal label.")
        positions = [0] * cube.sizes[dim]
    else:
        index = {label: i for i, label in enumerate(normal_labels)}
        positions = []
        for label in cube[dim].values:
            key = _anomaly_key(label, period)
            if key not in index:
                raise ProcessParameterInvalid(f"No normal for period label {key!r} in normals "
                                              f"{normal_labels}.")
            positions.append(index[key])
    matched = normal_cube.isel({normal_dim: positions}).drop_vars(normal_dim)
    if normal_dim != dim:
        matched = matched.rename({normal_dim: dim})
    matched = matched.assign_coords({dim: cube[dim].values})
    result = cube - matched
    return result.transpose(*cube.dims).assign_attrs(cube.attrs)
