"""apply_polygon: run a callback on the sub cube of each polygon (openEO processes 2.0.0-rc.2)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from jupyter_eo.backend.cube import X, Y, get_crs
from jupyter_eo.backend.processes.cubes_common import as_cube, require_dim
from jupyter_eo.backend.processes.registry import process
from jupyter_eo.errors import ProcessArgumentInvalid, ProcessParameterInvalid

if TYPE_CHECKING:
    from jupyter_eo.backend.engine.evaluator import Callback


def _polygons(geometries: Any) -> tuple[list[Any], Any]:
    """Non-empty shapely (Multi)Polygons and their CRS from GeoJSON or a vector cube."""
    from shapely.geometry import shape

    from jupyter_eo.backend.processes.cubes_aggregate import _features

    geoms, _props, crs = _features(geometries)
    shapes = []
    for geojson in geoms:
        if not geojson:
            continue
        try:
            geom = shape(geojson)
        except Exception as exc:  # noqa: BLE001 - shapely raises many kinds
            raise ProcessParameterInvalid(f"Invalid GeoJSON geometry: {exc}") from exc
        if geom.is_empty:
            continue  # the spec: empty geometries are ignored
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise ProcessParameterInvalid(
                f"apply_polygon needs Polygon or MultiPolygon geometries, got {geom.geom_type}.")
        shapes.append(geom)
    if not shapes:
        raise ProcessParameterInvalid("apply_polygon needs at least one polygon.")
    return shapes, crs


def _masks(cube: xr.DataArray, shapes: list[Any], crs: Any) -> list[np.ndarray]:
    """Per polygon, the (y, x) pixels whose centre intersects it; overlap is an error."""
    import shapely

    from jupyter_eo.backend.processes.cubes_mask import geometry_in_crs

    xs, ys = np.meshgrid(cube[X].values, cube[Y].values)
    masks, seen = [], np.zeros(xs.shape, dtype=bool)
    for geom in shapes:
        geom = geometry_in_crs(geom, crs, get_crs(cube))
        shapely.prepare(geom)
        inside = shapely.intersects_xy(geom, xs, ys)
        if (inside & seen).any():
            raise ProcessArgumentInvalid(
                "GeometriesOverlap", "Geometries are not allowed to overlap to avoid that "
                "pixel values are processed multiple times.")
        seen |= inside
        masks.append(inside)
    return masks


@process("apply_polygon")
def apply_polygon(data: Any, geometries: Any, process: Callback, mask_value: Any = None,
                  context: Any = None) -> xr.DataArray:
    """Apply ``process`` to the smallest grid-aligned sub cube of each polygon; pixels whose
    centre is outside the polygon are ``mask_value`` (default no-data) in that sub cube.
    Pixels outside every polygon keep their values."""
    cube = as_cube(data)
    require_dim(cube, X)
    require_dim(cube, Y)
    shapes, crs = _polygons(geometries)
    fill = np.nan if mask_value is None else mask_value
    out = cube
    for inside in _masks(cube, shapes, crs):
        rows, cols = np.nonzero(inside.any(axis=1))[0], np.nonzero(inside.any(axis=0))[0]
        if not len(rows):
            continue  # the polygon covers no pixel centre
        window = {Y: slice(rows[0], rows[-1] + 1), X: slice(cols[0], cols[-1] + 1)}
        keep = xr.DataArray(inside[window[Y], window[X]], dims=(Y, X))
        sub = cube.isel(window)
        sub = sub.where(keep.assign_coords({Y: sub[Y], X: sub[X]}), fill)
        result = process(data=sub, context=context)
        if not isinstance(result, xr.DataArray) or dict(result.sizes) != dict(sub.sizes):
            raise ProcessParameterInvalid(
                "The process of apply_polygon must return a data cube with the dimensions "
                "and sizes of the sub data cube it was given.")
        result = result.transpose(*sub.dims).assign_coords({Y: sub[Y], X: sub[X]})
        full_keep = xr.DataArray(inside, dims=(Y, X), coords={Y: cube[Y], X: cube[X]})
        placed = result.reindex({Y: cube[Y], X: cube[X]})
        out = xr.where(full_keep, placed, out, keep_attrs=True)
    out = out.transpose(*cube.dims)
    out.attrs = cube.attrs
    return out
