"""Resampling: resample_spatial and resample_cube_spatial (lazy warp), resample_cube_temporal."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from jupyter_eo.backend.cube import T, X, Y, get_crs
from jupyter_eo.backend.engine.plan import BlockPlan
from jupyter_eo.backend.processes import warp_lazy
from jupyter_eo.backend.processes.cubes_common import as_cube, require_dim
from jupyter_eo.backend.processes.registry import PLAN_AWARE, process
from jupyter_eo.errors import ProcessArgumentInvalid, ProcessParameterInvalid


def _resampling(method: str) -> Any:
    return warp_lazy.resampling(method)


@process("resample_spatial")
def resample_spatial(data: Any, resolution: Any = 0, projection: Any = None,
                     method: str = "near", align: str = "upper-left") -> Any:
    """Reproject to another CRS and/or resolution, lazily: one rasterio warp per output chunk.

    Right after ``load_collection`` with ``method="near"`` the collection is read directly at
    the target grid instead (the catalog samples nearest pixels), which stays lazy and fused.
    """
    _resampling(method)
    if isinstance(data, BlockPlan) and method == "near" and data.can_reload() and \
            not isinstance(resolution, (list, tuple)) and align == "upper-left":
        fused = _reload(data, resolution, projection)
        if fused is not None:
            return fused
    cube = as_cube(data)
    require_dim(cube, X)
    require_dim(cube, Y)
    crs = get_crs(cube)
    target = crs
    if projection is not None:
        from pyproj import CRS

        try:
            target = CRS.from_user_input(projection)
        except Exception as exc:  # noqa: BLE001
            raise ProcessArgumentInvalid("ProcessParameterInvalid",
                                         f"Unknown projection {projection!r}.") from exc
    res = _resolution(resolution)
    if res is None and (target is None or target == crs):
        return cube
    src = warp_lazy.grid_of(cube)
    dst = warp_lazy.default_grid(src, target, res, align)
    if dst.same_as(src):
        return cube
    return warp_lazy.warp(cube, dst, method)


def _resolution(resolution: Any) -> float | tuple[float, float] | None:
    """``resolution`` as None (unchanged), one number, or (x, y); 0 keeps an axis."""
    values = list(resolution) if isinstance(resolution, (list, tuple)) else [resolution]
    if len(values) not in (1, 2) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise ProcessParameterInvalid("resolution must be a number or two numbers.")
    if any(v < 0 or not np.isfinite(v) for v in values):
        raise ProcessParameterInvalid("resolution must not be negative.")
    if not any(values):
        return None
    if len(values) == 1:
        return float(values[0])
    return float(values[0]), float(values[1])


def _reload(data: BlockPlan, resolution: Any, projection: Any) -> BlockPlan | None:
    fresh = data.reload[0](float(resolution) if resolution else None, projection)
    if not isinstance(fresh, BlockPlan) or fresh.mask is not None:
        return None
    if projection is not None:
        from pyproj import CRS

        if get_crs(fresh.source) != CRS.from_user_input(projection):
            return None  # the collection could not read in that CRS: warp instead
    same = (np.array_equal(fresh.source[T].values, data.source[T].values)
            and list(fresh.source.coords["bands"].values)
            == list(data.source.coords["bands"].values))
    if not same:
        return None
    return replace(fresh, t_index=data.t_index, band_index=data.band_index,
                   band_labels=data.band_labels, hooks=data.hooks, reload=None, _cached=None)


@process("resample_cube_spatial")
def resample_cube_spatial(data: Any, target: Any, method: str = "near") -> Any:
    """Resample to the grid (CRS, resolution, extent) of ``target``, lazily per output chunk."""
    _resampling(method)
    cube = as_cube(data)
    ref = as_cube(target, "target")
    require_dim(cube, X)
    require_dim(cube, Y)
    dst = warp_lazy.grid_of(ref, "The target cube")
    if cube.sizes.get(X) == ref.sizes.get(X) and cube.sizes.get(Y) == ref.sizes.get(Y) and \
            np.allclose(cube[X].values, ref[X].values) and \
            np.allclose(cube[Y].values, ref[Y].values) and get_crs(cube) == get_crs(ref):
        return cube
    out = warp_lazy.warp(cube, dst, method)
    return out.assign_coords({X: ref[X].values, Y: ref[Y].values})


@process("resample_cube_temporal")
def resample_cube_temporal(data: Any, target: Any, dimension: str | None = None,
                           valid_within: float | None = None) -> Any:
    """Take, for each time label of ``target``, the nearest time step of ``data``."""
    cube, ref = as_cube(data), as_cube(target, "target")
    dims = [dimension] if dimension else [d for d in cube.dims if d == T]
    if not dims:
        raise ProcessArgumentInvalid("DimensionNotAvailable", "No temporal dimension.")
    dim = dims[0]
    require_dim(cube, dim)
    require_dim(ref, dim)
    source = pd.DatetimeIndex(cube[dim].values)
    labels = pd.DatetimeIndex(ref[dim].values)
    picks, valid = [], []
    for label in labels:
        deltas = np.abs((source - label).total_seconds())
        order = np.argsort(deltas, kind="stable")
        best = int(order[0])
        # ties: prefer the later time step (spec: "the later one is selected")
        ties = [int(i) for i in order if deltas[i] == deltas[best]]
        best = max(ties)
        picks.append(best)
        valid.append(valid_within is None or deltas[best] <= float(valid_within) * 86400)
    out = cube.isel({dim: picks}).assign_coords({dim: ref[dim].values})
    if not all(valid):
        mask = xr.DataArray(np.array(valid), dims=(dim,), coords={dim: ref[dim].values})
        out = out.where(mask)
    out.attrs = cube.attrs
    return out


PLAN_AWARE.add("resample_spatial")
