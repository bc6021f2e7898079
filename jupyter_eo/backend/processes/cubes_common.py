"""Helpers shared by the cube process modules: dimension checks, band names, plans vs cubes."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from jupyter_eo.backend.cube import BANDS, T, X, Y
from jupyter_eo.backend.engine.plan import BlockPlan
from jupyter_eo.errors import ProcessArgumentInvalid, ProcessParameterInvalid

Cube = Any  # xr.DataArray or BlockPlan


def as_cube(data: Any, name: str = "data") -> xr.DataArray:
    """The argument as a raster cube DataArray (plans are materialised lazily)."""
    if isinstance(data, BlockPlan):
        return data.to_dataarray()
    if isinstance(data, xr.DataArray):
        return data
    raise ProcessParameterInvalid(f"Parameter {name!r} must be a raster data cube.")


def dims_of(data: Cube) -> tuple[str, ...]:
    return data.dims if isinstance(data, (BlockPlan, xr.DataArray)) else ()


def require_dim(data: Cube, dimension: str) -> None:
    """Raise ``DimensionNotAvailable`` unless ``dimension`` exists."""
    if dimension not in dims_of(data):
        raise ProcessArgumentInvalid(
            "DimensionNotAvailable", f"A dimension with the name {dimension!r} does not exist.")


def common_names(cube: Any) -> dict[str, str]:
    """``common_name -> band name`` recorded at load time (``attrs['common_names']``)."""
    attrs = cube.source.attrs if isinstance(cube, BlockPlan) else getattr(cube, "attrs", {})
    return dict(attrs.get("common_names") or {})


def resolve_bands(requested: list[str], available: list[str], names: dict[str, str]) -> list[str]:
    """Band names for ``requested`` names or common names (unique names win)."""
    out: list[str] = []
    for band in requested:
        if band in available:
            out.append(band)
        elif band in names and names[band] in available:
            out.append(names[band])
        else:
            raise ProcessParameterInvalid(f"Band {band!r} is not available; bands: {available}.")
    return out


def to_datetime(value: Any) -> pd.Timestamp | None:
    """An openEO date/date-time string as a naive UTC timestamp (None stays None)."""
    if value is None:
        return None
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts


def time_mask(values: Any, extent: list[Any]) -> np.ndarray:
    """Boolean mask of time labels inside the left-closed interval ``extent``."""
    if not isinstance(extent, (list, tuple)) or len(extent) != 2 or extent == [None, None]:
        raise ProcessParameterInvalid("A temporal extent needs two elements, not both null.")
    start, end = to_datetime(extent[0]), to_datetime(extent[1])
    if start is not None and end is not None and end <= start:
        raise ProcessArgumentInvalid("TemporalExtentEmpty",
                                     "The temporal extent is empty: end must be after start.")
    times = pd.DatetimeIndex(values)
    if times.tz is not None:
        times = times.tz_convert("UTC").tz_localize(None)
    mask = np.ones(len(times), dtype=bool)
    if start is not None:
        mask &= times >= start
    if end is not None:
        mask &= times < end
    return mask


SPATIAL = (X, Y)
__all__ = ["as_cube", "dims_of", "require_dim", "common_names", "resolve_bands", "time_mask",
           "T", "BANDS", "X", "Y", "SPATIAL"]
