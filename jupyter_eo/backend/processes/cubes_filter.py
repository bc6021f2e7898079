"""Filter processes: filter_bands, filter_temporal, filter_bbox, filter_spatial, filter_labels."""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from jupyter_eo.backend.cube import BANDS, T, X, Y, get_crs
from jupyter_eo.backend.engine.plan import BlockPlan
from jupyter_eo.backend.processes.cubes_common import (as_cube, common_names, require_dim,
                                                       resolve_bands, time_mask)
from jupyter_eo.backend.processes.registry import PLAN_AWARE, process
from jupyter_eo.errors import ProcessArgumentInvalid, ProcessParameterInvalid

if TYPE_CHECKING:
    from jupyter_eo.backend.engine.evaluator import Callback


@process("filter_bands")
def filter_bands(data: Any, bands: list[str] | None = None,
                 wavelengths: list | None = None) -> Any:
    """Keep the named bands (names or common names), in the given order."""
    require_dim(data, BANDS)
    if wavelengths:
        raise ProcessParameterInvalid("Filtering by wavelengths is not supported; use bands.")
    if not bands:
        raise ProcessArgumentInvalid("BandFilterParameterMissing",
                                     "filter_bands needs the bands parameter.")
    if isinstance(data, BlockPlan) and not data.pre and not data.post:
        wanted = resolve_bands(list(bands), list(data.band_labels), common_names(data))
        idx = [data.band_labels.index(b) for b in wanted]
        return replace(data, band_index=tuple(data.band_index[i] for i in idx),
                       band_labels=tuple(wanted), _cached=None)
    if isinstance(data, BlockPlan) and data.bands is not None:
        current = list(data.bands)
        wanted = resolve_bands(list(bands), current, common_names(data))
        return data.with_step(("select", tuple(current.index(b) for b in wanted),
                               tuple(wanted)))
    cube = as_cube(data)
    wanted = resolve_bands(list(bands), [str(b) for b in cube[BANDS].values], common_names(cube))
    return cube.sel({BANDS: wanted})


@process("filter_temporal")
def filter_temporal(data: Any, extent: list, dimension: str | None = None) -> Any:
    """Keep time labels inside the left-closed interval ``extent``."""
    dim = dimension or T
    require_dim(data, dim)
    if isinstance(data, BlockPlan) and dim == T and data.has_t:
        times = data.source[T].values[list(data.t_index)]
        keep = np.nonzero(time_mask(times, extent))[0]
        return replace(data, t_index=tuple(data.t_index[i] for i in keep), _cached=None)
    cube = as_cube(data)
    return cube.isel({dim: np.nonzero(time_mask(cube[dim].values, extent))[0]})


def bbox_in_crs(extent: dict[str, Any], crs: Any) -> tuple[float, float, float, float]:
    """``(west, south, east, north)`` of an openEO bounding box in ``crs``."""
    try:
        west, south = float(extent["west"]), float(extent["south"])
        east, north = float(extent["east"]), float(extent["north"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ProcessParameterInvalid(f"Invalid bounding box {extent!r}.") from exc
    src = extent.get("crs") or 4326
    if crs is None:
        return west, south, east, north
    from pyproj import CRS, Transformer

    source = CRS.from_user_input(src)
    if source == crs:
        return west, south, east, north
    transformer = Transformer.from_crs(source, crs, always_xy=True)
    return transformer.transform_bounds(west, south, east, north, densify_pts=21)


def _spatial_slices(cube: xr.DataArray, bounds: tuple[float, float, float, float]
                    ) -> dict[str, slice]:
    west, south, east, north = bounds
    out = {}
    for dim, lo, hi in ((X, west, east), (Y, south, north)):
        coords = cube[dim].values
        inside = np.nonzero((coords >= lo) & (coords <= hi))[0]
        out[dim] = slice(int(inside[0]), int(inside[-1]) + 1) if len(inside) else slice(0, 0)
    return out


@process("filter_bbox")
def filter_bbox(data: Any, extent: dict[str, Any]) -> Any:
    """Keep pixels whose centre lies in the bounding box (any CRS; transformed)."""
    if isinstance(data, BlockPlan):
        src = data.source
        slices = _spatial_slices(src, bbox_in_crs(extent, get_crs(src)))
        mask = None if data.mask is None else data.mask[slices[Y], slices[X]]
        return replace(data, source=src.isel(slices), mask=mask, _cached=None)
    cube = as_cube(data)
    return cube.isel(_spatial_slices(cube, bbox_in_crs(extent, get_crs(cube))))


@process("filter_spatial")
def filter_spatial(data: Any, geometries: Any) -> Any:
    """Keep the bounding box of ``geometries`` and mask pixels outside them."""
    from jupyter_eo.backend.processes.cubes_mask import geometry_union, mask_polygon

    geom, crs = geometry_union(geometries)
    west, south, east, north = geom.bounds
    cube = filter_bbox(data, {"west": west, "south": south, "east": east, "north": north,
                              "crs": crs})
    return mask_polygon(cube, geometries)


@process("filter_labels")
def filter_labels(data: Any, condition: Callback, dimension: str, context: Any = None) -> Any:
    """Keep the labels of ``dimension`` for which ``condition(value=label)`` is true."""
    require_dim(data, dimension)
    cube = as_cube(data)
    keep = []
    for i, label in enumerate(cube[dimension].values):
        value = label.item() if hasattr(label, "item") else label
        if dimension == T:
            value = np.datetime_as_string(np.datetime64(label, "s")) + "Z"
        result = condition(value=value, context=context)
        if hasattr(result, "item"):
            result = result.item()
        if result is True or (result not in (None, False) and not
                              (isinstance(result, float) and np.isnan(result)) and bool(result)):
            keep.append(i)
    return cube.isel({dimension: keep})


PLAN_AWARE.update({"filter_bands", "filter_temporal", "filter_bbox", "filter_spatial"})
