"""Data-cube conventions shared by catalog, engine and formats: dimension names and CRS access."""
from __future__ import annotations

from typing import Any

import xarray as xr
from pyproj import CRS

X, Y, T, BANDS = "x", "y", "t", "bands"
DIM_ORDER = (T, BANDS, Y, X)


def set_crs(cube: xr.DataArray, crs: Any) -> xr.DataArray:
    """Return ``cube`` with its CRS stored in the ``spatial_ref`` coordinate (rioxarray style)."""
    import rioxarray  # noqa: F401  (registers the .rio accessor)

    return cube.rio.write_crs(CRS.from_user_input(crs))


def get_crs(cube: xr.DataArray) -> CRS | None:
    """The CRS of ``cube`` or None when it has no spatial reference."""
    import rioxarray  # noqa: F401

    try:
        crs = cube.rio.crs
    except Exception:  # pragma: no cover - malformed spatial_ref
        return None
    return CRS.from_user_input(crs) if crs is not None else None
