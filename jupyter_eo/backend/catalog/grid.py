"""Output grids of the simulated collections: CRS choice, global pixel indices, extents parsing."""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from pyproj import CRS, Transformer

from jupyter_eo.errors import ProcessParameterInvalid

DEG_TO_M = 111_320.0  # metres per degree used to put geographic CRS on the metric noise grid


@lru_cache(maxsize=64)
def _crs(user_input: Any) -> CRS:
    return CRS.from_user_input(user_input)


def to_crs(value: Any) -> CRS:
    """A pyproj CRS from an EPSG int, 'EPSG:xxxx' string, WKT/PROJ string or CRS."""
    if isinstance(value, CRS):
        return value
    try:
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        return _crs(value)
    except Exception as exc:  # pyproj raises CRSError
        raise ProcessParameterInvalid(f"Unknown coordinate reference system {value!r}: {exc}") from exc


@lru_cache(maxsize=64)
def transformer(src: CRS, dst: CRS) -> Transformer:
    """A cached always_xy transformer."""
    return Transformer.from_crs(src, dst, always_xy=True)


def utm_crs_for(lon: float, lat: float) -> CRS:
    """The WGS84/UTM CRS of the zone containing (lon, lat), like Sentinel-2 tiles."""
    zone = int(math.floor((lon + 180.0) / 6.0)) % 60 + 1
    return to_crs(32600 + zone if lat >= 0 else 32700 + zone)


def parse_bbox(spatial_extent: dict | None) -> tuple[tuple[float, float, float, float], CRS] | None:
    """(west, south, east, north) and CRS of an openEO bbox or GeoJSON object; None if absent."""
    if spatial_extent is None:
        return None
    if not isinstance(spatial_extent, dict):
        raise ProcessParameterInvalid("spatial_extent must be a bounding box object or GeoJSON.")
    if all(k in spatial_extent for k in ("west", "south", "east", "north")):
        try:
            west, south, east, north = (float(spatial_extent[k]) for k in ("west", "south", "east", "north"))
        except (TypeError, ValueError) as exc:
            raise ProcessParameterInvalid(f"spatial_extent has non-numeric bounds: {exc}") from exc
        crs = to_crs(spatial_extent.get("crs") or 4326)
    elif "type" in spatial_extent:
        from shapely.geometry import shape

        geoms = []
        obj = spatial_extent
        if obj["type"] == "FeatureCollection":
            geoms = [shape(f["geometry"]) for f in obj.get("features", []) if f.get("geometry")]
        elif obj["type"] == "Feature":
            geoms = [shape(obj["geometry"])]
        else:
            geoms = [shape(obj)]
        if not geoms:
            raise ProcessParameterInvalid("spatial_extent GeoJSON has no geometry.")
        bounds = np.array([g.bounds for g in geoms])
        west, south = bounds[:, 0].min(), bounds[:, 1].min()
        east, north = bounds[:, 2].max(), bounds[:, 3].max()
        crs = to_crs(4326)
    else:
        raise ProcessParameterInvalid("spatial_extent needs west/south/east/north or a GeoJSON type.")
    if not (west < east and south < north):
        raise ProcessParameterInvalid(
            f"spatial_extent is empty or inverted: west={west}, south={south}, east={east}, north={north}.")
    if crs.is_geographic and (south < -90 or north > 90 or west < -180 or east > 180):
        raise ProcessParameterInvalid("spatial_extent in degrees must lie within [-180, 180] x [-90, 90].")
    return (west, south, east, north), crs


GEOJSON_EXTENT_TYPES = ("Polygon", "MultiPolygon", "Feature", "FeatureCollection")


def is_geojson_extent(spatial_extent: Any) -> bool:
    """True for a GeoJSON ``spatial_extent`` (polygons: data outside them is masked)."""
    return isinstance(spatial_extent, dict) and spatial_extent.get("type") in GEOJSON_EXTENT_TYPES


def geojson_extent_bbox(spatial_extent: Any) -> dict[str, float] | None:
    """The WGS84 bbox object (west/south/east/north, crs 4326) of a GeoJSON ``spatial_extent``;
    None for anything else. Broken GeoJSON raises ProcessParameterInvalid (``parse_bbox``)."""
    if not is_geojson_extent(spatial_extent):
        return None
    (west, south, east, north), _ = parse_bbox(spatial_extent)  # type: ignore[misc]
    return {"west": west, "south": south, "east": east, "north": north, "crs": 4326}


def bbox_to_lonlat(bbox: tuple[float, float, float, float], crs: CRS) -> tuple[float, float, float, float]:
    """A bbox transformed to WGS84 lon/lat bounds."""
    wgs = to_crs(4326)
    if crs == wgs:
        return bbox
    return transformer(crs, wgs).transform_bounds(*bbox, densify_pts=21)


@dataclass(frozen=True)
class Grid:
    """A north-up pixel grid aligned to global multiples of ``res`` in ``crs``.

    Column ``i`` has centre x = (gx0 + i + 0.5) * res; row ``j`` has centre
    y = (gy0 - j + 0.5) * res (row 0 is the northernmost).
    """

    crs: CRS
    res: float
    gx0: int
    gy0: int
    nx: int
    ny: int

    @property
    def unit_m(self) -> float:
        """Metres per CRS unit used by the noise grid."""
        return DEG_TO_M if self.crs.is_geographic else 1.0

    @property
    def res_m(self) -> float:
        return self.res * self.unit_m

    def gx(self) -> np.ndarray:
        return np.arange(self.gx0, self.gx0 + self.nx, dtype=np.int64)

    def gy(self) -> np.ndarray:
        return np.arange(self.gy0, self.gy0 - self.ny, -1, dtype=np.int64)

    def xs(self) -> np.ndarray:
        return (self.gx().astype(np.float64) + 0.5) * self.res

    def ys(self) -> np.ndarray:
        return (self.gy().astype(np.float64) + 0.5) * self.res

    def sub(self, row0: int, col0: int, ny: int, nx: int) -> "Grid":
        """The window of this grid starting at (row0, col0)."""
        return Grid(self.crs, self.res, self.gx0 + col0, self.gy0 - row0, nx, ny)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        r = self.res
        return (self.gx0 * r, (self.gy0 - self.ny + 1) * r, (self.gx0 + self.nx) * r, (self.gy0 + 1) * r)


def grid_for(bbox: tuple[float, float, float, float], bbox_crs: CRS, out_crs: CRS | None,
             res: float, max_pixels: int = 400_000_000) -> Grid:
    """The aligned grid covering ``bbox`` in ``out_crs`` (default: UTM zone of the bbox centre)."""
    lon0, lat0, lon1, lat1 = bbox_to_lonlat(bbox, bbox_crs)
    if out_crs is None:
        out_crs = utm_crs_for((lon0 + lon1) / 2.0, (lat0 + lat1) / 2.0)
    if not res or res <= 0 or not math.isfinite(res):
        raise ProcessParameterInvalid(f"resolution must be a positive number, got {res!r}.")
    if out_crs == bbox_crs:
        west, south, east, north = bbox
    else:
        west, south, east, north = transformer(bbox_crs, out_crs).transform_bounds(*bbox, densify_pts=21)
    gx0 = int(math.floor(west / res + 1e-9))
    gx1 = int(math.ceil(east / res - 1e-9))
    gy_top = int(math.ceil(north / res - 1e-9)) - 1
    gy_bottom = int(math.floor(south / res + 1e-9))
    nx, ny = max(1, gx1 - gx0), max(1, gy_top - gy_bottom + 1)
    if nx * ny > max_pixels:
        raise ProcessParameterInvalid(
            f"spatial_extent at resolution {res} gives {nx} x {ny} pixels, over the limit of "
            f"{max_pixels}; use a smaller area or a coarser resolution.")
    return Grid(out_crs, float(res), gx0, gy_top, nx, ny)
