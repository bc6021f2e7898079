"""Resampling: resample_spatial, resample_cube_spatial (rioxarray), resample_cube_temporal."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from jupyter_eo.backend.cube import T, X, Y, get_crs
from jupyter_eo.backend.engine.plan import BlockPlan
from jupyter_eo.backend.processes.cubes_common import as_cube, require_dim
from jupyter_eo.backend.processes.registry import PLAN_AWARE, process
from jupyter_eo.errors import ProcessArgumentInvalid, ProcessParameterInvalid

_METHODS = {"near": "nearest", "bilinear": "bilinear", "cubic": "cubic",
            "cubicspline": "cubic_spline", "lanczos": "lanczos", "average": "average",
            "mode": "mode", "max": "max", "min": "min", "med": "med", "q1": "q1", "q3": "q3",
            "sum": "sum", "rms": "rms"}


def _resampling(method: str) -> Any:
    from rasterio.enums import Resampling

    if method not in _METHODS:
        raise ProcessParameterInvalid(f"Unknown resampling method {method!r}.")
    return Resampling[_METHODS[method]]


def _reproject(cube: xr.DataArray, func: str, **kwargs: Any) -> xr.DataArray:
    """rioxarray reprojection of a cube with any leading dims (stacked to one)."""
    import rioxarray  # noqa: F401

    if get_crs(cube) is None:
        raise ProcessArgumentInvalid("ProcessParameterInvalid", "The cube has no CRS.")
    lead = [d for d in cube.dims if d not in (Y, X)]
    work = cube.transpose(*lead, Y, X)
    dtype = work.dtype if work.dtype.kind == "f" else np.dtype(np.float64)
    shape = [work.sizes[d] for d in lead]
    flat = xr.DataArray(np.asarray(work.values, dtype=dtype).reshape(-1, work.sizes[Y],
                                                                     work.sizes[X]),
                        dims=("__lead__", Y, X), coords={Y: work[Y], X: work[X]})
    flat = flat.rio.write_crs(get_crs(cube)).rio.write_nodata(np.nan)
    res = getattr(flat.rio, func)(**kwargs)
    out = xr.DataArray(res.values.reshape(*shape, res.sizes[Y], res.sizes[X]),
                       dims=(*lead, Y, X),
                       coords={**{d: work[d] for d in lead if d in work.coords},
                               Y: res[Y], X: res[X]})
    out = out.rio.write_crs(res.rio.crs)
    out.attrs = {k: v for k, v in cube.attrs.items() if k not in ("_FillValue",)}
    out.attrs.pop("nodata", None)
    return out.transpose(*cube.dims)


@process("resample_spatial")
def resample_spatial(data: Any, resolution: Any = 0, projection: Any = None,
                     method: str = "near", align: str = "upper-left") -> Any:
    """Reproject to another CRS and/or resolution (rasterio warp; computes eagerly).

    Right after ``load_collection`` with ``method="near"`` the collection is read directly at
    the target grid instead (the catalog samples nearest pixels), which stays lazy and fused.
    """
    if isinstance(data, BlockPlan) and method == "near" and data.can_reload() and \
            not isinstance(resolution, (list, tuple)):
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
    kwargs: dict[str, Any] = {"dst_crs": target, "resampling": _resampling(method)}
    res = resolution
    if isinstance(res, (list, tuple)):
        res = tuple(float(r) for r in res) if any(res) else None
    elif res:
        res = float(res)
    else:
        res = None
    if res is not None:
        kwargs["resolution"] = res
    if res is None and (target is None or target == crs):
        return cube
    return _reproject(cube, "reproject", **kwargs)


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
    """Resample to the grid (CRS, resolution, extent) of ``target``."""
    cube = as_cube(data)
    ref = as_cube(target, "target")
    if get_crs(ref) is None:
        raise ProcessArgumentInvalid("ProcessParameterInvalid", "The target cube has no CRS.")
    if cube.sizes.get(X) == ref.sizes.get(X) and cube.sizes.get(Y) == ref.sizes.get(Y) and \
            np.allclose(cube[X].values, ref[X].values) and \
            np.allclose(cube[Y].values, ref[Y].values) and get_crs(cube) == get_crs(ref):
        return cube
    template = ref.isel({d: 0 for d in ref.dims if d not in (X, Y)}, drop=True)
    out = _reproject(cube, "reproject_match", match_data_array=template,
                     resampling=_resampling(method))
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
