"""Cube loading processes: load_collection, load_stac, load_result."""
from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from jupyter_eo.backend.cube import BANDS, DIM_ORDER
from jupyter_eo.backend.engine import plan as plan_module
from jupyter_eo.backend.engine.plan import BlockPlan
from jupyter_eo.backend.processes.registry import PLAN_AWARE, process
from jupyter_eo.errors import (FeatureUnsupported, OpenEOError, PayloadTooLarge,
                               ProcessParameterInvalid)


def _band_common_names(metadata: dict[str, Any]) -> dict[str, str]:
    summaries = metadata.get("summaries") or {}
    bands = summaries.get("eo:bands") or summaries.get("bands") or []
    names: dict[str, str] = {}
    for band in bands:
        if isinstance(band, dict) and band.get("name"):
            common = band.get("common_name") or band.get("eo:common_name")
            if common and common not in names:
                names[common] = band["name"]
    return names


def _property_filter(properties: dict[str, Any] | None):
    if not properties:
        return None
    if not isinstance(properties, dict):
        raise ProcessParameterInvalid("properties must be an object of conditions.")

    def accept(props: dict[str, Any]) -> bool:
        for name, condition in properties.items():
            value = props.get(name)
            ok = condition(value=value) if callable(condition) else condition == value
            if ok is None or (isinstance(ok, float) and np.isnan(ok)) or not bool(ok):
                return False
        return True

    return accept


def _map_bands(bands: list[str] | None, metadata: dict[str, Any]) -> list[str] | None:
    if bands is None:
        return None
    names = _band_common_names(metadata)
    summaries = metadata.get("summaries") or {}
    known = [b.get("name") for b in summaries.get("eo:bands") or summaries.get("bands") or []
             if isinstance(b, dict)]
    return [b if (b in known or not known) else names.get(b, b) for b in bands]


def finish_load(cube: xr.DataArray, ctx: Any, common: dict[str, str]) -> Any:
    """Check size limits, record band common names and wrap the cube into a fused plan."""
    if not isinstance(cube, xr.DataArray):
        return cube
    pixels = int(np.prod([cube.sizes[d] for d in cube.dims])) if cube.dims else 1
    limit = getattr(ctx.eval, "max_pixels", None)
    if limit is not None and pixels > limit:
        raise PayloadTooLarge(f"The request would load {pixels} values; the limit is {limit}.")
    if common:
        cube.attrs = {**cube.attrs, "common_names": common}
    if tuple(cube.dims) == DIM_ORDER and cube.sizes[BANDS] > 0:
        plan = BlockPlan.from_cube(cube)
        plan.hooks = (ctx.eval.check_cancel if ctx.eval.cancel_event is not None else None,
                      ctx.eval.progress)
        return plan if plan_module.FUSION_ENABLED else plan.to_dataarray()
    return cube


@process("load_collection")
def load_collection(id: str, spatial_extent: Any = None, temporal_extent: Any = None,
                    bands: list[str] | None = None, properties: dict | None = None, *,
                    ctx: Any) -> Any:
    """Load a collection lazily from the catalog (bands by name or common name)."""
    catalog = ctx.catalog
    if catalog is None:
        raise OpenEOError("No collection catalog is configured.")
    collection = catalog.get(id)
    try:
        metadata = collection.metadata() or {}
    except Exception:  # noqa: BLE001 - metadata is optional for loading
        metadata = {}
    band_names = _map_bands(bands, metadata)
    common = _band_common_names(metadata)
    accept = _property_filter(properties)
    cube = collection.load(spatial_extent, temporal_extent, band_names, accept)
    result = finish_load(cube, ctx, common)
    if isinstance(result, BlockPlan):
        def reload(resolution: Any, crs: Any) -> Any:
            again = collection.load(spatial_extent, temporal_extent, band_names, accept,
                                    resolution=resolution, crs=crs)
            return finish_load(again, ctx, common)

        result.reload = (reload, result.source)
    return _mask_geojson(result, spatial_extent)


def _mask_geojson(cube: Any, spatial_extent: Any) -> Any:
    """GeoJSON extents keep only pixels whose centre intersects the polygons (spec)."""
    from jupyter_eo.backend.catalog.grid import is_geojson_extent

    if is_geojson_extent(spatial_extent):
        from jupyter_eo.backend.processes.cubes_mask import mask_polygon

        return mask_polygon(cube, spatial_extent)
    return cube


@process("load_stac")
def load_stac(url: str, spatial_extent: Any = None, temporal_extent: Any = None,
              bands: list[str] | None = None, properties: dict | None = None, *,
              ctx: Any) -> Any:
    """Load a STAC collection or item through the catalog's ``load_stac``."""
    loader = getattr(ctx.catalog, "load_stac", None)
    if loader is None:
        raise FeatureUnsupported("load_stac is not available on this back-end.")
    cube = loader(url, spatial_extent, temporal_extent, bands, _property_filter(properties))
    return _mask_geojson(finish_load(cube, ctx, {}), spatial_extent)


@process("load_result")
def load_result(id: str, spatial_extent: Any = None, temporal_extent: Any = None,
                bands: list[str] | None = None, *, ctx: Any) -> Any:
    """Load a finished job's result (via ``catalog.load_result``) or a workspace file."""
    loader = getattr(ctx.catalog, "load_result", None)
    if loader is not None:
        cube = loader(id, spatial_extent, temporal_extent, bands)
        return finish_load(cube, ctx, {})
    workspace = ctx.eval.workspace
    if workspace is not None:
        from pathlib import Path

        path = (Path(workspace) / id).resolve()
        if Path(workspace).resolve() in path.parents and path.exists():
            cube = xr.open_dataarray(path, chunks={})
            return finish_load(cube, ctx, {})
    raise OpenEOError(f"Result {id!r} is not available.", code="JobNotFound", status=404)


PLAN_AWARE.update({"save_result"})
