"""Masking processes: mask (by a cube) and mask_polygon (by geometries)."""
from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from jupyter_eo.backend.cube import X, Y, get_crs
from jupyter_eo.backend.engine.plan import BlockPlan
from jupyter_eo.backend.processes.cubes_common import as_cube
from jupyter_eo.backend.processes.registry import PLAN_AWARE, process
from jupyter_eo.errors import ProcessParameterInvalid


def geometry_union(geometries: Any) -> tuple[Any, Any]:
    """A shapely geometry (union) and its CRS from GeoJSON or a vector cube."""
    import shapely
    from shapely.geometry import shape

    from jupyter_eo.backend.engine.vector import VectorCube

    if isinstance(geometries, VectorCube):
        return shapely.union_all([shape(g) for g in geometries.geometries]), geometries.crs
    if not isinstance(geometries, dict):
        raise ProcessParameterInvalid("Geometries must be GeoJSON or a vector cube.")
    kind = geometries.get("type")
    try:
        if kind == "FeatureCollection":
            shapes = [shape(f["geometry"]) for f in geometries.get("features", [])]
        elif kind == "Feature":
            shapes = [shape(geometries["geometry"])]
        else:
            shapes = [shape(geometries)]
    except Exception as exc:  # noqa: BLE001 - shapely raises many kinds
        raise ProcessParameterInvalid(f"Invalid GeoJSON geometry: {exc}") from exc
    if not shapes:
        raise ProcessParameterInvalid("No geometries given.")
    crs = (geometries.get("crs") or {}).get("properties", {}).get("name") or 4326
    return shapely.union_all(shapes), crs


def geometry_in_crs(geom: Any, src_crs: Any, dst_crs: Any) -> Any:
    """Reproject a shapely geometry when the CRSs differ."""
    from pyproj import CRS, Transformer
    from shapely.ops import transform

    if dst_crs is None:
        return geom
    source = CRS.from_user_input(src_crs)
    if source == dst_crs:
        return geom
    transformer = Transformer.from_crs(source, dst_crs, always_xy=True)
    return transform(transformer.transform, geom)


def inside_mask(cube: xr.DataArray, geometries: Any) -> xr.DataArray:
    """Boolean (y, x) DataArray: pixel centre intersects the geometries."""
    import shapely

    geom, crs = geometry_union(geometries)
    geom = geometry_in_crs(geom, crs, get_crs(cube))
    xs, ys = np.meshgrid(cube[X].values, cube[Y].values)
    shapely.prepare(geom)
    inside = shapely.intersects_xy(geom, xs, ys)
    return xr.DataArray(inside, dims=(Y, X), coords={Y: cube[Y], X: cube[X]})


@process("mask_polygon")
def mask_polygon(data: Any, mask: Any, replacement: Any = None, inside: bool = False) -> Any:
    """Replace pixels outside (or, with ``inside``, inside) the polygons."""
    if isinstance(data, BlockPlan) and data.reduce is None and replacement is None:
        keep = inside_mask(data.source, mask).values
        return data.with_mask(~keep if inside else keep)
    cube = as_cube(data)
    keep = inside_mask(cube, mask)
    if inside:
        keep = ~keep
    value = np.nan if replacement is None else replacement
    out = cube.where(keep, value)
    out.attrs = cube.attrs
    return out


def truthy(mask: Any) -> Any:
    """Mask values as booleans: non-zero and not null is true."""
    if mask.dtype == bool:
        return mask
    return (mask != 0) & ~np.isnan(mask)  # numpy blocks (fused mask) and DataArrays alike


def _fused_mask(data: BlockPlan, mask: BlockPlan, replacement: Any) -> BlockPlan | None:
    """``mask(L, reduce_bands(L, cond))`` on one loaded cube: one fused masking step."""
    if replacement is not None and (not isinstance(replacement, (int, float))
                                    or isinstance(replacement, bool)):
        return None
    same_load = (mask.source is data.source and mask.t_index == data.t_index
                 and mask.band_index == data.band_index and mask.band_labels == data.band_labels
                 and (mask.mask is data.mask or (mask.mask is not None and data.mask is not None
                                                 and np.array_equal(mask.mask, data.mask))))
    n = len(data.pre)
    if not same_load or data.reduce is not None or mask.reduce is not None or data.post \
            or mask.post or len(mask.pre) != n + 1 or mask.pre[:n] != data.pre \
            or mask.pre[n][0] != "reduce_bands":
        return None
    return data.with_step(("mask_where", mask.pre[n][1], replacement))


@process("mask")
def mask(data: Any, mask: Any, replacement: Any = None) -> Any:
    """Replace pixels where the mask cube is true (non-zero, not null) with ``replacement``."""
    if isinstance(data, BlockPlan) and isinstance(mask, BlockPlan):
        fused = _fused_mask(data, mask, replacement)
        if fused is not None:
            return fused
    cube = as_cube(data)
    mcube = as_cube(mask, "mask")
    extra = set(mcube.dims) - set(cube.dims)
    if extra:
        raise ProcessParameterInvalid(f"The mask has dimensions the data lacks: {sorted(extra)}.")
    if "bands" in mcube.dims and mcube.sizes["bands"] == 1 and cube.sizes["bands"] != 1:
        mcube = mcube.isel(bands=0, drop=True)  # a one-band mask masks every band (as CDSE)
    for dim in mcube.dims:
        if mcube.sizes[dim] != cube.sizes[dim] or (
                dim in (X, Y) and not np.allclose(mcube[dim].values, cube[dim].values)):
            raise ProcessParameterInvalid(
                f"Mask and data are not compatible along dimension {dim!r}.")
    mcube = mcube.assign_coords({d: cube[d] for d in mcube.dims if d in cube.coords})
    value = np.nan if replacement is None else replacement
    out = cube.where(~truthy(mcube), value)
    out.attrs = cube.attrs
    return out.transpose(*cube.dims)


PLAN_AWARE.update({"mask_polygon", "mask"})
