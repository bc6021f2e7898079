"""User data directory: each GeoTIFF/COG, NetCDF, Zarr store or folder of dated GeoTIFFs is a collection."""
from __future__ import annotations

import datetime as _dt
import logging
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import rasterio
import xarray as xr
from pyproj import CRS

from jupyter_eo.backend.cube import set_crs

from .base import Collection, PropertyFilter, no_data, parse_temporal, resolve_bands
from .grid import bbox_to_lonlat, parse_bbox, to_crs, transformer
from .metadata import collection_document, eo_band, iso
from .raster_stack import RasterItem, RasterStackCollection

log = logging.getLogger(__name__)

TIFF_SUFFIXES = (".tif", ".tiff", ".gtiff")
_DATE_PATTERNS = [
    (re.compile(r"(\d{4})-(\d{2})-(\d{2})"), "%Y-%m-%d"),
    (re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)"), "%Y%m%d"),
    (re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})T"), "%Y%m%d"),
]


def collection_id_for(path: Path) -> str:
    """A collection id from a file or folder name (letters, digits, _ and -)."""
    stem = path.name
    for suffix in TIFF_SUFFIXES + (".nc", ".nc4", ".zarr"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    return re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_") or "data"


def date_from_name(name: str) -> _dt.datetime | None:
    """The first date found in a file name (YYYY-MM-DD or YYYYMMDD)."""
    for pattern, fmt in _DATE_PATTERNS:
        m = pattern.search(name)
        if m:
            try:
                return _dt.datetime.strptime("".join(m.groups()[:3]) if fmt == "%Y%m%d" else "-".join(m.groups()[:3]), fmt)
            except ValueError:
                continue
    return None


def _tiff_date(path: Path) -> _dt.datetime:
    found = date_from_name(path.name)
    if found:
        return found
    with rasterio.open(path) as src:
        stamp = src.tags().get("TIFFTAG_DATETIME")
    if stamp:
        try:
            return _dt.datetime.strptime(stamp[:19], "%Y:%m:%d %H:%M:%S")
        except ValueError:
            pass
    return _dt.datetime.fromtimestamp(path.stat().st_mtime, _dt.timezone.utc).replace(
        tzinfo=None, hour=0, minute=0, second=0, microsecond=0)


def _tiff_bands(path: Path) -> tuple[list[dict], dict[str, int]]:
    with rasterio.open(path) as src:
        names, index = [], {}
        for i in range(1, src.count + 1):
            desc = src.descriptions[i - 1]
            name = re.sub(r"\s+", "_", desc) if desc else (f"B{i}" if src.count > 1 else "B1")
            if name in index:
                name = f"{name}_{i}"
            index[name] = i
            nodata = src.nodatavals[i - 1]
            scale = src.scales[i - 1] if src.scales else None
            offset = src.offsets[i - 1] if src.offsets else None
            names.append(eo_band(name, nodata=None if nodata is None or np.isnan(nodata) else nodata,
                                 scale=scale if scale not in (None, 1.0) else None,
                                 offset=offset if offset not in (None, 0.0) else None,
                                 **{"jupyter_eo:dtype": src.dtypes[i - 1]}))
    return names, index


def tiff_collection(path: Path, cid: str | None = None) -> RasterStackCollection:
    """A collection from one GeoTIFF (all its bands, one date) or a folder of dated GeoTIFFs."""
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in TIFF_SUFFIXES) if path.is_dir() else [path]
    if not files:
        raise ValueError(f"no GeoTIFF in {path}")
    bands, index = _tiff_bands(files[0])
    items = []
    for f in files:
        assets = {b["name"]: str(f) for b in bands}
        items.append(RasterItem(_tiff_date(f), assets, {"file": f.name}, band_index=dict(index)))
    kind = "folder of dated GeoTIFFs" if path.is_dir() else "GeoTIFF"
    return RasterStackCollection(
        cid or collection_id_for(path), items, bands,
        title=f"{path.name} (user data)",
        description=f"User data from the {kind} `{path.name}` in the data directory ({len(items)} date(s)).",
        license="proprietary", keywords=["user data"],
        providers=[{"name": "local user data", "roles": ["host"]}])


_XY_NAMES = [("x", "y"), ("lon", "lat"), ("longitude", "latitude")]
_T_NAMES = ("t", "time", "date")


_CRS_ATTRS = ("crs_wkt", "spatial_ref", "crs", "proj4", "proj4text", "epsg_code", "epsg")


def _crs_from_attrs(attrs: dict) -> CRS | None:
    """A CRS from the attributes of a grid-mapping variable (or a dataset): WKT (``crs_wkt``,
    GDAL's ``spatial_ref``), EPSG codes, PROJ strings, else CF grid-mapping parameters."""
    for key in _CRS_ATTRS:
        value = attrs.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        try:
            value = int(value) if isinstance(value, (int, np.integer)) else value
            if isinstance(value, str) and value.strip().isdigit():
                value = int(value)
            return CRS.from_user_input(value)
        except Exception:  # noqa: BLE001 - try the next convention
            continue
    if "grid_mapping_name" in attrs:
        try:
            return CRS.from_cf(dict(attrs))
        except Exception:  # noqa: BLE001
            return None
    return None


def dataset_crs(ds: xr.Dataset, var: str, xdim: str, ydim: str) -> CRS:
    """The CRS of a NetCDF/Zarr dataset, following the conventions writers use: rioxarray
    (``spatial_ref`` coordinate, ``grid_mapping``), CF (``grid_mapping`` naming a variable with
    ``crs_wkt`` or grid-mapping parameters), odc-geo (``spatial_ref`` with ``crs_wkt``) and
    dataset attributes. Without any, lon/lat coordinates in degree ranges mean EPSG:4326;
    projected coordinates without a CRS are an error (serving them as degrees would be wrong)."""
    import rioxarray  # noqa: F401

    da = ds[var]
    names = [n for n in (da.attrs.get("grid_mapping"), da.encoding.get("grid_mapping"))
             if isinstance(n, str)]
    names += ["spatial_ref", "crs", "transverse_mercator", "grid_mapping"]
    for name in dict.fromkeys(names):
        if name in ds.variables:
            found = _crs_from_attrs(ds[name].attrs)
            if found is not None:
                return found
    try:
        crs = da.rio.crs
    except Exception:  # noqa: BLE001 - rioxarray raises on malformed metadata
        crs = None
    if crs:
        return CRS.from_user_input(crs)
    found = _crs_from_attrs(ds.attrs) or _crs_from_attrs(da.attrs)
    if found is not None:
        return found
    xs, ys = ds[xdim].values, ds[ydim].values
    if xdim in ("lon", "longitude") or (xs.size and ys.size and np.nanmax(np.abs(xs)) <= 360
                                         and np.nanmax(np.abs(ys)) <= 90):
        return CRS.from_epsg(4326)
    raise ValueError(f"{var}: projected x/y coordinates but no CRS (no grid_mapping, "
                     "spatial_ref or crs_wkt): write one, e.g. ds.rio.write_crs('EPSG:32633')")


class XarrayFileCollection(Collection):
    """A NetCDF file or Zarr store opened lazily with xarray; data variables are the bands."""

    def __init__(self, path: Path, cid: str | None = None) -> None:
        self.path = Path(path)
        self.id = cid or collection_id_for(self.path)
        ds = self._open()
        self.xdim, self.ydim = next(((x, y) for x, y in _XY_NAMES if x in ds.dims and y in ds.dims), (None, None))
        if self.xdim is None:
            raise ValueError(f"{path}: no x/y or lon/lat dimensions")
        self.tdim = next((t for t in _T_NAMES if t in ds.dims), None)
        self.vars = [v for v, da in ds.data_vars.items() if {self.xdim, self.ydim} <= set(da.dims)]
        if not self.vars:
            raise ValueError(f"{path}: no data variable on the spatial grid")
        self.crs = dataset_crs(ds, self.vars[0], self.xdim, self.ydim)
        self._ds = ds

    def _open(self) -> xr.Dataset:
        # decode_coords="all": a CF grid-mapping variable (rioxarray's spatial_ref) becomes a
        # coordinate, so each band carries the file's CRS
        if self.path.suffix == ".zarr" or self.path.is_dir():
            return xr.open_zarr(self.path, decode_coords="all")
        return xr.open_dataset(self.path, chunks={}, decode_coords="all")

    def _times(self) -> list[np.datetime64]:
        if self.tdim:
            return list(self._ds[self.tdim].values.astype("datetime64[ns]"))
        found = date_from_name(self.path.name)
        when = found or _dt.datetime.fromtimestamp(self.path.stat().st_mtime).replace(hour=0, minute=0, second=0, microsecond=0)
        return [np.datetime64(when, "ns")]

    def eo_bands(self) -> list[dict]:
        out = []
        for v in self.vars:
            attrs = self._ds[v].attrs
            enc = self._ds[v].encoding
            nodata = attrs.get("_FillValue", enc.get("_FillValue"))
            out.append(eo_band(v, description=attrs.get("long_name"),
                               nodata=None if nodata is None or (isinstance(nodata, (float, np.floating)) and np.isnan(nodata)) else
                               (nodata.item() if hasattr(nodata, "item") else nodata),
                               **{"jupyter_eo:dtype": str(self._ds[v].dtype)}))
        return out

    def metadata(self) -> dict:
        xs, ys = self._ds[self.xdim].values, self._ds[self.ydim].values
        step = float(abs(xs[1] - xs[0])) if len(xs) > 1 else None
        half = (step or 0) / 2
        bounds = (float(xs.min()) - half, float(ys.min()) - half, float(xs.max()) + half, float(ys.max()) + half)
        lonlat = bbox_to_lonlat(bounds, self.crs)
        times = self._times()
        to_dt = lambda v: _dt.datetime.fromisoformat(str(np.datetime_as_string(v, unit="s")))  # noqa: E731
        doc = collection_document(
            id=self.id, title=f"{self.path.name} (user data)",
            description=f"User data from `{self.path.name}` in the data directory (variables: {', '.join(self.vars)}).",
            license="proprietary", providers=[{"name": "local user data", "roles": ["host"]}],
            keywords=["user data"], bbox=list(lonlat), interval=[iso(to_dt(min(times))), iso(to_dt(max(times)))],
            epsg=self.crs.to_epsg(), crs_wkt=None if self.crs.to_epsg() else self.crs.to_wkt(),
            bands=self.eo_bands(), x_extent=[bounds[0], bounds[2]], y_extent=[bounds[1], bounds[3]], step=step)
        # the time labels themselves: the size pre-check (limits) counts the steps a
        # temporal_extent selects from them (without, it counted one step)
        doc["cube:dimensions"]["t"]["values"] = [iso(to_dt(t)) for t in sorted(times)]
        return doc

    def load(self, spatial_extent: dict | None = None, temporal_extent: Sequence | None = None,
             bands: list[str] | None = None, property_filter: PropertyFilter | None = None, *,
             resolution: float | None = None, crs: Any = None) -> xr.DataArray:
        names = resolve_bands(bands, self.eo_bands())
        arr = self._ds[names].to_array("bands")
        if self.tdim:
            arr = arr.rename({self.tdim: "t"})
        else:
            arr = arr.expand_dims(t=self._times())
        arr = arr.rename({self.xdim: "x", self.ydim: "y"}).transpose("t", "bands", "y", "x")
        parsed = parse_bbox(spatial_extent)
        if parsed is not None:
            bbox, bbox_crs = parsed
            if bbox_crs != self.crs:
                bbox = transformer(bbox_crs, self.crs).transform_bounds(*bbox, densify_pts=21)
            ys = arr.y.values
            yslice = slice(bbox[3], bbox[1]) if len(ys) > 1 and ys[0] > ys[-1] else slice(bbox[1], bbox[3])
            arr = arr.sel(x=slice(bbox[0], bbox[2]), y=yslice)
            if arr.sizes["x"] == 0 or arr.sizes["y"] == 0:
                raise no_data(self.id, "spatial_extent does not intersect the data")
        start, end = parse_temporal(temporal_extent)
        if start is not None:
            arr = arr.sel(t=arr.t >= np.datetime64(start))
        if end is not None:
            arr = arr.sel(t=arr.t < np.datetime64(end))
        if property_filter is not None:
            keep = [bool(property_filter({"datetime": str(np.datetime_as_string(t, unit="s")) + "Z"}))
                    for t in arr.t.values]
            arr = arr.isel(t=np.flatnonzero(keep))
        if resolution and arr.sizes["x"] > 1:
            step = int(max(1, round(float(resolution) / abs(float(arr.x[1] - arr.x[0])))))
            arr = arr.isel(x=slice(None, None, step), y=slice(None, None, step))
        arr = arr.assign_coords(bands=np.array(names, dtype=str)).drop_vars(
            [c for c in arr.coords if c not in ("t", "bands", "y", "x")])
        arr.attrs = {}
        nodata = self.eo_bands()[self.vars.index(names[0])].get("nodata")
        if nodata is not None:
            arr.attrs["nodata"] = nodata
        arr = set_crs(arr, self.crs)
        if crs is not None and to_crs(crs) != self.crs:
            arr = arr.rio.reproject(to_crs(crs))
        return arr


def file_collections(data_dir: Path) -> list[Collection]:
    """Collections for the entries of ``data_dir`` (unreadable entries are logged and skipped)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        log.warning("data directory %s does not exist", data_dir)
        return []
    out: list[Collection] = []
    for entry in sorted(data_dir.iterdir()):
        if entry.name.startswith("."):
            continue
        try:
            if entry.is_file() and entry.suffix.lower() in TIFF_SUFFIXES:
                out.append(tiff_collection(entry))
            elif entry.suffix.lower() in (".nc", ".nc4") and entry.is_file():
                out.append(XarrayFileCollection(entry))
            elif entry.suffix.lower() == ".zarr" and entry.is_dir():
                out.append(XarrayFileCollection(entry))
            elif entry.is_dir() and any(p.suffix.lower() in TIFF_SUFFIXES for p in entry.iterdir()):
                out.append(tiff_collection(entry))
        except Exception as exc:
            log.warning("user data %s not usable as a collection: %s", entry, exc)
    return out
