"""Shared helpers for writers: normalising cubes to (layers, y, x) and STAC-style metadata."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from jupyter_eo.backend.cube import BANDS, T, X, Y, get_crs
from jupyter_eo.errors import OpenEOError


@dataclass
class WrittenFile:
    """One output file of a result: where it is, its media type and STAC asset metadata."""

    path: Path
    media_type: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name


def format_error(message: str) -> OpenEOError:
    return OpenEOError(message, code="FormatUnsuitable", status=400)


def is_raster(value: Any) -> bool:
    return isinstance(value, xr.DataArray) and X in value.dims and Y in value.dims


def time_labels(values: Any) -> list[str]:
    """ISO strings for time coordinate values (``YYYY-MM-DDTHH:MM:SSZ``)."""
    out = []
    for v in np.asarray(values).ravel():
        try:
            ts = pd.Timestamp(v)
            if ts.tzinfo is not None:
                ts = ts.tz_convert("UTC").tz_localize(None)
            out.append(ts.strftime("%Y-%m-%dT%H:%M:%SZ"))
        except (ValueError, TypeError):
            out.append(str(v))
    return out


def single_band_name(cube: xr.DataArray) -> str:
    """Name for a cube without bands dimension: its name when user-meaningful, else ``data``."""
    import re

    name = cube.name
    if isinstance(name, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,63}", name):
        return name
    return "data"


def drop_single_extra_dims(cube: xr.DataArray, target: str) -> xr.DataArray:
    """``cube`` without dimensions other than t/bands/y/x, which must have size 1."""
    for dim in [d for d in cube.dims if d not in (T, BANDS, Y, X)]:
        if cube.sizes[dim] != 1:
            raise format_error(f"Cannot write dimension {dim!r} (size {cube.sizes[dim]}) to "
                               f"{target}; reduce it first.")
        cube = cube.isel({dim: 0}, drop=True)
    return cube


def layers(cube: xr.DataArray) -> tuple[xr.DataArray, list[str], list[str | None]]:
    """Reshape a raster cube to (layer, y, x).

    Returns the stacked array, a name per layer (band name, or ``band_time`` when several
    time steps are stacked) and the time label of each layer (None without time).
    Dimensions other than t/bands/y/x must have size 1.
    """
    cube = drop_single_extra_dims(cube, "a raster file")
    if T not in cube.dims:
        cube = cube.expand_dims(T)
        times: list[str | None] = [None]
    else:
        times = list(time_labels(cube[T].values)) if T in cube.coords else [None] * cube.sizes[T]
    if BANDS not in cube.dims:
        name = single_band_name(cube)
        cube = cube.expand_dims(BANDS)
        band_names = [name]
    else:
        band_names = ([str(b) for b in cube[BANDS].values] if BANDS in cube.coords
                      else [f"band_{i + 1}" for i in range(cube.sizes[BANDS])])
    cube = cube.transpose(T, BANDS, Y, X)
    nt, nb = cube.sizes[T], cube.sizes[BANDS]
    data = cube.data.reshape((nt * nb, cube.sizes[Y], cube.sizes[X]))
    stacked = xr.DataArray(data, dims=("layer", Y, X),
                           coords={Y: cube[Y], X: cube[X]}, attrs=cube.attrs)
    names, layer_times = [], []
    for ti in range(nt):
        for bi in range(nb):
            label = band_names[bi]
            if nt > 1 and times[ti] is not None:
                label = f"{label}_{times[ti]}"
            names.append(label)
            layer_times.append(times[ti])
    return stacked, names, layer_times


def raster_metadata(cube: xr.DataArray) -> dict[str, Any]:
    """STAC item properties for a raster result: bbox/geometry (WGS84), datetimes, bands, proj."""
    meta: dict[str, Any] = {}
    crs = get_crs(cube)
    try:
        xs, ys = cube[X].values, cube[Y].values
        dx = abs(float(xs[1] - xs[0])) if xs.size > 1 else 0.0
        dy = abs(float(ys[1] - ys[0])) if ys.size > 1 else 0.0
        bounds = (float(xs.min()) - dx / 2, float(ys.min()) - dy / 2,
                  float(xs.max()) + dx / 2, float(ys.max()) + dy / 2)
        if crs is not None:
            meta["proj:epsg"] = crs.to_epsg()
            meta["proj:bbox"] = list(bounds)
            meta["proj:shape"] = [int(ys.size), int(xs.size)]
            from pyproj import CRS, Transformer

            tr = Transformer.from_crs(crs, CRS.from_epsg(4326), always_xy=True)
            bounds = tr.transform_bounds(*bounds, densify_pts=21)
        meta["bbox"] = [float(b) for b in bounds]
    except (KeyError, IndexError, ValueError):
        pass
    if T in cube.coords and cube[T].size:
        labels = sorted(time_labels(cube[T].values))
        meta["start_datetime"], meta["end_datetime"] = labels[0], labels[-1]
        meta["datetime"] = labels[0] if len(labels) == 1 else None
    if BANDS in cube.coords:
        meta["bands"] = [str(b) for b in np.atleast_1d(cube[BANDS].values)]
    return meta
