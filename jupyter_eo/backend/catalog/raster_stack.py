"""Collections backed by raster files (GeoTIFF/COG/JP2): one or more files per date and band.

Each (date, band) is read lazily (one dask task per date) and warped with nearest neighbour onto
one target grid: the native grid of the finest band unless a CRS/resolution is requested. Several
files for the same date are mosaicked (first valid pixel wins).
"""
from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import dask
import dask.array as da
import numpy as np
import rasterio
import xarray as xr
from affine import Affine
from pyproj import CRS
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT

from jupyter_eo.backend.cube import set_crs
from jupyter_eo.errors import OpenEOError, ProcessParameterInvalid

from .base import Collection, PropertyFilter, no_data, parse_temporal, queryables_schema, resolve_bands
from .grid import bbox_to_lonlat, parse_bbox, to_crs, transformer
from .metadata import collection_document, iso


@dataclass
class RasterItem:
    """One acquisition: its datetime, band -> file (path or URL), and properties."""

    datetime: _dt.datetime
    assets: dict[str, str]
    properties: dict = field(default_factory=dict)
    band_index: dict[str, int] = field(default_factory=dict)  # band -> 1-based index in its file


@dataclass(frozen=True)
class TargetGrid:
    crs: CRS
    transform: Affine
    width: int
    height: int

    def coords(self) -> tuple[np.ndarray, np.ndarray]:
        t = self.transform
        xs = t.c + (np.arange(self.width) + 0.5) * t.a
        ys = t.f + (np.arange(self.height) + 0.5) * t.e
        return xs, ys


# GDAL network reads (/vsicurl/ assets of remote STAC items) must never hang a worker.
HTTP_OPTIONS = {"GDAL_HTTP_CONNECTTIMEOUT": "8", "GDAL_HTTP_TIMEOUT": "60", "GDAL_HTTP_MAX_RETRY": "1",
                "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR"}


class _Opened:
    """``rasterio.open`` inside an Env with HTTP timeouts; usable as a context manager."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.env = rasterio.Env(**HTTP_OPTIONS) if path.startswith("/vsi") else None

    def __enter__(self):
        if self.env is not None:
            self.env.__enter__()
        try:
            self.src = rasterio.open(self.path)
        except rasterio.errors.RasterioIOError as exc:
            if self.env is not None:
                self.env.__exit__(None, None, None)
            code, status = ("NoDataAvailable", 400) if self.path.startswith("/vsi") else ("Internal", 500)
            raise OpenEOError(f"Cannot read raster {self.path}: {exc}", code=code, status=status) from exc
        return self.src

    def __exit__(self, *exc) -> None:
        self.src.close()
        if self.env is not None:
            self.env.__exit__(*exc)


def _open(path: str) -> _Opened:
    return _Opened(path)


class RasterStackCollection(Collection):
    """A collection over ``RasterItem`` s with band metadata given by the creator."""

    def __init__(self, id: str, items: list[RasterItem], eo_bands: list[dict], *, title: str,
                 description: str, license: str = "proprietary", providers: list[dict] | None = None,
                 keywords: list[str] | None = None, extra: dict | None = None,
                 summaries: dict | None = None, queryable_props: dict | None = None) -> None:
        if not items:
            raise ValueError(f"collection {id} has no items")
        self.id = id
        self.items = sorted(items, key=lambda it: it.datetime)
        self._eo_bands = eo_bands
        self.title, self.description, self.license = title, description, license
        self.providers = providers or []
        self.keywords = keywords or []
        self.extra = extra or {}
        self.summaries = summaries or {}
        self.queryable_props = queryable_props or {}
        self._native = self._native_grid()

    # -- native grid -----------------------------------------------------------------------
    def _native_grid(self) -> tuple[CRS, float, float, float, tuple[float, float, float, float]]:
        """(crs, res, origin_x, origin_y, union bounds) from the finest band of all items."""
        best = None
        bounds = [math.inf, math.inf, -math.inf, -math.inf]
        crs = None
        for item in self.items[:50]:
            for band, path in item.assets.items():
                with _open(path) as src:
                    if src.crs is None:
                        raise OpenEOError(f"Raster {path} has no CRS.", code="Internal")
                    if crs is None:
                        crs = CRS.from_user_input(src.crs)
                    res = abs(src.transform.a)
                    b = src.bounds
                    if CRS.from_user_input(src.crs) != crs:
                        b = transformer(CRS.from_user_input(src.crs), crs).transform_bounds(*b)
                    bounds = [min(bounds[0], b[0]), min(bounds[1], b[1]), max(bounds[2], b[2]), max(bounds[3], b[3])]
                    if best is None or res < best[0]:
                        best = (res, src.transform.c, src.transform.f)
        res, ox, oy = best
        return crs, res, ox, oy, tuple(bounds)

    def eo_bands(self) -> list[dict]:
        return self._eo_bands

    # -- metadata --------------------------------------------------------------------------
    def metadata(self) -> dict:
        crs, res, _, _, bounds = self._native
        lonlat = bbox_to_lonlat(bounds, crs)
        steps = sorted({(b.datetime - a.datetime).days for a, b in zip(self.items, self.items[1:])})
        return collection_document(
            id=self.id, title=self.title, description=self.description, license=self.license,
            providers=self.providers, keywords=self.keywords, bbox=[round(v, 6) for v in lonlat],
            interval=[iso(self.items[0].datetime), iso(self.items[-1].datetime)],
            epsg=crs.to_epsg(), crs_wkt=None if crs.to_epsg() else crs.to_wkt(),
            bands=self._eo_bands, x_extent=[bounds[0], bounds[2]], y_extent=[bounds[1], bounds[3]],
            step=res, t_step=None if len(steps) != 1 else f"P{steps[0]}D",
            summaries=dict(self.summaries), extra=dict(self.extra))

    def queryables(self) -> dict:
        return queryables_schema(self.id, self.queryable_props)

    # -- loading ---------------------------------------------------------------------------
    def target_grid(self, spatial_extent: dict | None, resolution: float | None, crs: Any) -> TargetGrid:
        ncrs, nres, ox, oy, nbounds = self._native
        out_crs = to_crs(crs) if crs is not None else ncrs
        res = float(resolution) if resolution else None
        parsed = parse_bbox(spatial_extent)
        if parsed is None:
            bbox, bbox_crs = nbounds, ncrs
        else:
            bbox, bbox_crs = parsed
        if bbox_crs != out_crs:
            bbox = transformer(bbox_crs, out_crs).transform_bounds(*bbox, densify_pts=21)
        if out_crs == ncrs:
            res = res or nres
            # clip to the data and snap to the native pixel lattice
            bbox = (max(bbox[0], nbounds[0]), max(bbox[1], nbounds[1]), min(bbox[2], nbounds[2]), min(bbox[3], nbounds[3]))
            if bbox[0] >= bbox[2] or bbox[1] >= bbox[3]:
                raise no_data(self.id, "spatial_extent does not intersect the data")
            x0 = ox + math.floor((bbox[0] - ox) / res + 1e-9) * res
            y1 = oy - math.floor((oy - bbox[3]) / res + 1e-9) * res
        else:
            if res is None:
                lon0, lat0, lon1, lat1 = bbox_to_lonlat(nbounds, ncrs)
                res = nres / 111_320.0 if out_crs.is_geographic and not ncrs.is_geographic else nres
            x0 = math.floor(bbox[0] / res) * res
            y1 = math.ceil(bbox[3] / res) * res
        width = max(1, int(math.ceil((bbox[2] - x0) / res - 1e-9)))
        height = max(1, int(math.ceil((y1 - bbox[1]) / res - 1e-9)))
        if width * height > 400_000_000:
            raise ProcessParameterInvalid(f"Requested area is too large ({width} x {height} pixels).")
        return TargetGrid(out_crs, Affine(res, 0, x0, 0, -res, y1), width, height)

    def _read(self, items: list[RasterItem], band: str, grid: TargetGrid, dtype, fill) -> np.ndarray:
        out = np.full((grid.height, grid.width), fill, dtype=dtype)
        filled = np.zeros(out.shape, bool) if len(items) > 1 else None
        for item in items:
            path = item.assets.get(band)
            if path is None:
                continue
            with _open(path) as src:
                index = item.band_index.get(band, 1)
                nodata = src.nodatavals[index - 1] if src.nodatavals else None
                with WarpedVRT(src, crs=grid.crs, transform=grid.transform, width=grid.width,
                               height=grid.height, resampling=Resampling.nearest,
                               src_nodata=nodata, nodata=nodata if nodata is not None else fill) as vrt:
                    arr = vrt.read(index)
                    valid = vrt.read_masks(index) > 0
            if filled is None:
                out[valid] = arr[valid]
            else:
                take = valid & ~filled
                out[take] = arr[take]
                filled |= take
        return out

    def load(self, spatial_extent: dict | None = None, temporal_extent: Sequence | None = None,
             bands: list[str] | None = None, property_filter: PropertyFilter | None = None, *,
             resolution: float | None = None, crs: Any = None) -> xr.DataArray:
        names = resolve_bands(bands, self._eo_bands)
        grid = self.target_grid(spatial_extent, resolution, crs)
        start, end = parse_temporal(temporal_extent)
        groups: dict[_dt.datetime, list[RasterItem]] = {}
        for item in self.items:
            if (start and item.datetime < start) or (end and item.datetime >= end):
                continue
            if property_filter is not None:
                props = {"datetime": iso(item.datetime), **item.properties}
                if not property_filter(props):
                    continue
            groups.setdefault(item.datetime, []).append(item)
        if not groups:
            raise no_data(self.id, "no item in the temporal extent / property filter")
        meta = {b["name"]: b for b in self._eo_bands}
        dtypes = [np.dtype(meta[n].get("jupyter_eo:dtype", "float32")) for n in names]
        dtype = np.result_type(*dtypes)
        nodata = meta[names[0]].get("nodata")
        fill = nodata if nodata is not None else (np.nan if dtype.kind == "f" else 0)
        per_date = []
        for when, its in groups.items():
            bands_arr = [da.from_delayed(dask.delayed(self._read)(its, n, grid, dtype, fill),
                                         shape=(grid.height, grid.width), dtype=dtype) for n in names]
            per_date.append(da.stack(bands_arr))
        data = da.stack(per_date) if per_date else da.zeros((0, len(names), grid.height, grid.width), dtype=dtype)
        xs, ys = grid.coords()
        cube = xr.DataArray(data, dims=("t", "bands", "y", "x"), coords={
            "t": np.array([np.datetime64(w.replace(tzinfo=None)) for w in groups], dtype="datetime64[ns]"),
            "bands": np.array(names, dtype=str), "y": ys, "x": xs})
        cube.name = None  # not the dask key
        if nodata is not None:
            cube.attrs["nodata"] = nodata
        return set_crs(cube, grid.crs)
