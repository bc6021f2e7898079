"""Secondary web services: XYZ tile services of any process graph, and the offline basemap tiles."""
from __future__ import annotations

import json
import math
import threading
import uuid
from pathlib import Path
from typing import Any

from jupyter_eo.backend.handlers.base import BaseHandler
from jupyter_eo.backend.jobs import now_iso, open_db
from jupyter_eo.backend.limits import check_graph
from jupyter_eo.errors import (FeatureUnsupported, OpenEOError, ProcessGraphMissing, ServiceConfigInvalid,
                               ServiceNotFound, ServiceUnsupported)

TILE_SIZE = 256
EARTH = 2 * math.pi * 6378137.0
CONFIGURATION = {
    "colormap": {"type": "string", "description": "Matplotlib colormap for single-band tiles.",
                 "default": "viridis"},
    "min": {"type": "number", "description": "Value of the lowest colour (default: 2nd percentile "
            "of each tile)."},
    "max": {"type": "number", "description": "Value of the highest colour (default: 98th "
            "percentile of each tile)."},
}


class ServiceStore:
    """Service records per user in SQLite."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        with open_db(db_path) as db:
            db.execute("CREATE TABLE IF NOT EXISTS services (id TEXT PRIMARY KEY, user TEXT,"
                       " body TEXT)")

    def create(self, user: str, body: dict) -> dict:
        record = dict(body, id="s-" + uuid.uuid4().hex[:20], created=now_iso())
        with open_db(self.db_path) as db:
            db.execute("INSERT INTO services VALUES (?, ?, ?)",
                       (record["id"], user, json.dumps(record)))
        return record

    def get(self, user: str, service_id: str) -> dict:
        with open_db(self.db_path) as db:
            row = db.execute("SELECT body FROM services WHERE id = ? AND user = ?",
                             (service_id, user)).fetchone()
        if row is None:
            raise ServiceNotFound(f"Service {service_id[:60]!r} does not exist.")
        return json.loads(row[0])

    def list(self, user: str) -> list[dict]:
        with open_db(self.db_path) as db:
            rows = db.execute("SELECT body FROM services WHERE user = ? ORDER BY rowid",
                              (user,)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def update(self, user: str, service_id: str, changes: dict) -> dict:
        record = {**self.get(user, service_id), **changes}
        with open_db(self.db_path) as db:
            db.execute("UPDATE services SET body = ? WHERE id = ?", (json.dumps(record), service_id))
        return record

    def delete(self, user: str, service_id: str) -> None:
        self.get(user, service_id)
        with open_db(self.db_path) as db:
            db.execute("DELETE FROM services WHERE id = ?", (service_id,))


def _check_configuration(config: Any) -> dict:
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise ServiceConfigInvalid("configuration must be an object.")
    for key, value in config.items():
        if key not in CONFIGURATION:
            raise OpenEOError(f"Service parameter {key[:50]!r} is not supported.",
                              code="ServiceConfigUnsupported", status=400)
        expected = CONFIGURATION[key]["type"]
        if (expected == "number" and (isinstance(value, bool) or not isinstance(value, (int, float)))) \
                or (expected == "string" and not isinstance(value, str)):
            raise ServiceConfigInvalid(f"Service parameter {key!r} must be a {expected}.")
    return config


class ServiceTypesHandler(BaseHandler):
    def get(self) -> None:
        self.write_json({"XYZ": {
            "title": "XYZ tiles",
            "description": "Web Mercator (EPSG:3857) 256x256 PNG tiles of the process graph's "
                           "result, computed on request at the tile's resolution.",
            "configuration": CONFIGURATION, "process_parameters": [], "links": []}})


class _ServiceHandlerBase(BaseHandler):
    """Shared by the service list and single-service handlers (no HTTP methods of its own)."""

    def describe(self, record: dict, full: bool = True) -> dict:
        out = {"id": record["id"], "title": record.get("title"), "description":
               record.get("description"),
               "url": self.url(f"xyz/{record['id']}/{{z}}/{{x}}/{{y}}.png"),
               "type": record["type"], "enabled": record.get("enabled", True),
               "created": record.get("created"), "costs": 0}
        if full:
            out.update(process=record["process"], configuration=record.get("configuration") or {},
                       attributes={"tile_size": TILE_SIZE, "crs": "EPSG:3857"},
                       plan=record.get("plan"), budget=record.get("budget"))
        return {k: v for k, v in out.items() if v is not None}


class ServicesHandler(_ServiceHandlerBase):
    def get(self) -> None:
        services, links = self.page(self.backend.services.list(self.user), "services")
        self.write_json({"services": [self.describe(s, full=False) for s in services],
                         "links": links})

    async def post(self) -> None:
        user = self.user
        body = await self.json_object()
        if str(body.get("type", "")).upper() != "XYZ":
            raise ServiceUnsupported(f"Service type {str(body.get('type'))[:30]!r} is not "
                                     "supported; use 'XYZ'.")
        process = body.get("process")
        if not isinstance(process, dict) or not isinstance(process.get("process_graph"), dict):
            raise ProcessGraphMissing()
        await self.backend.run_sync(check_graph, process["process_graph"],
                                    self.backend.config.limits, pool="light")
        record = self.backend.services.create(user, {
            "type": "XYZ", "process": process, "title": body.get("title"),
            "description": body.get("description"), "enabled": body.get("enabled", True) is not False,
            "configuration": _check_configuration(body.get("configuration")),
            "plan": body.get("plan"), "budget": body.get("budget")})
        self.set_header("Location", self.url(f"services/{record['id']}"))
        self.set_header("OpenEO-Identifier", record["id"])
        self.set_status(201)
        self.finish()


class ServiceHandler(_ServiceHandlerBase):
    def get(self, service_id: str) -> None:
        self.write_json(self.describe(self.backend.services.get(self.user, service_id)))

    async def patch(self, service_id: str) -> None:
        user = self.user
        body = await self.json_object()
        changes: dict[str, Any] = {}
        for key in ("title", "description", "enabled", "plan", "budget"):
            if key in body:
                changes[key] = body[key]
        if "configuration" in body:
            changes["configuration"] = _check_configuration(body["configuration"])
        if "process" in body:
            process = body["process"]
            if not isinstance(process, dict) or not isinstance(process.get("process_graph"), dict):
                raise ProcessGraphMissing()
            await self.backend.run_sync(check_graph, process["process_graph"],
                                        self.backend.config.limits, pool="light")
            changes["process"] = process
        if not changes:
            raise OpenEOError("No data specified to be updated.", code="NoDataForUpdate",
                              status=400)
        self.backend.services.update(user, service_id, changes)
        self.set_status(204)
        self.finish()

    def delete(self, service_id: str) -> None:
        self.backend.services.delete(self.user, service_id)
        self.set_status(204)
        self.finish()


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """EPSG:3857 bounds (west, south, east, north) of XYZ tile z/x/y."""
    if z > 30 or x >= 2 ** z or y >= 2 ** z:
        raise OpenEOError(f"Tile {z}/{x}/{y} does not exist.", code="NotFound", status=404)
    size = EARTH / 2 ** z
    west = -EARTH / 2 + x * size
    north = EARTH / 2 - y * size
    return west, north - size, west + size, north


class _TileCatalog:
    """Wraps the catalog so every load reads only the tile's area at the tile's resolution."""

    def __init__(self, catalog: Any, bounds: tuple[float, float, float, float]) -> None:
        self._catalog = catalog
        self._bounds = bounds

    def __getattr__(self, name: str) -> Any:
        return getattr(self._catalog, name)

    def get(self, collection_id: str) -> Any:
        return _TileCollection(self._catalog.get(collection_id), self._bounds)


class _TileCollection:
    def __init__(self, collection: Any, bounds: tuple[float, float, float, float]) -> None:
        self._collection = collection
        self._bounds = bounds

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)

    def load(self, spatial_extent: Any = None, temporal_extent: Any = None, bands: Any = None,
             property_filter: Any = None, **kwargs: Any) -> Any:
        west, south, east, north = self._bounds
        from jupyter_eo.backend.catalog.grid import geojson_extent_bbox

        # a polygon AOI: crop the tile to the polygons' bbox (masking happens after loading)
        spatial_extent = geojson_extent_bbox(spatial_extent) or spatial_extent
        if isinstance(spatial_extent, dict) and all(
                k in spatial_extent for k in ("west", "south", "east", "north")):
            from pyproj import CRS, Transformer

            src = CRS.from_user_input(spatial_extent.get("crs") or 4326)
            tr = Transformer.from_crs(src, CRS.from_epsg(3857), always_xy=True)
            w, s, e, n = tr.transform_bounds(*(float(spatial_extent[k]) for k in
                                               ("west", "south", "east", "north")))
            west, south, east, north = max(west, w), max(south, s), min(east, e), min(north, n)
            if west >= east or south >= north:
                raise _EmptyTile()
        resolution = (self._bounds[2] - self._bounds[0]) / TILE_SIZE
        extent = {"west": west, "south": south, "east": east, "north": north, "crs": 3857}
        return self._collection.load(extent, temporal_extent, bands, property_filter,
                                     resolution=resolution, crs=3857)


class _EmptyTile(Exception):
    """The tile lies outside the graph's spatial extent."""


def render_service_tile(backend: Any, process: dict, configuration: dict, user: str,
                        z: int, x: int, y: int, cancel_event: Any = None) -> bytes:
    """Evaluate ``process`` for one tile and render it as PNG (transparent where no data)."""
    import numpy as np

    from jupyter_eo.backend.formats import png
    from jupyter_eo.backend.formats.common import is_raster

    bounds = tile_bounds(z, x, y)
    catalog = _TileCatalog(backend.catalog, bounds)
    try:
        value, _fmt, options = backend.evaluate(
            process["process_graph"], user, max_pixels=backend.config.limits.max_pixels,
            catalog=catalog, cancel_event=cancel_event)
    except _EmptyTile:
        return png.render(np.full((1, TILE_SIZE, TILE_SIZE), np.nan), {})
    if not is_raster(value):
        raise OpenEOError("The service's process graph does not produce a raster.",
                          code="FormatUnsuitable", status=400)
    options = {**options, **configuration}
    grid = _to_tile_grid(value, bounds)
    if grid.sizes.get("x", 0) == 0 or grid.sizes.get("y", 0) == 0:
        return png.render(np.full((1, TILE_SIZE, TILE_SIZE), np.nan), {})
    return png.render(png.to_image_array(grid), options)


def _to_tile_grid(cube: Any, bounds: tuple[float, float, float, float]) -> Any:
    import rioxarray  # noqa: F401
    from rasterio.enums import Resampling
    from rasterio.transform import from_bounds

    from jupyter_eo.backend.cube import BANDS, X, Y

    for dim in [d for d in cube.dims if d not in (BANDS, X, Y)]:
        if cube.sizes[dim] != 1:
            raise OpenEOError(f"Tiles need a single {dim!r} value; reduce dimension {dim!r} "
                              "first.", code="FormatUnsuitable", status=400)
        cube = cube.isel({dim: 0}, drop=True)
    import numpy as np

    cube = cube.compute().astype("float64")
    transform = from_bounds(*bounds, TILE_SIZE, TILE_SIZE)
    dims = [d for d in (BANDS, Y, X) if d in cube.dims]
    cube = cube.transpose(*dims)
    if cube.sizes[X] == 0 or cube.sizes[Y] == 0:
        return cube  # nothing to draw: rendered fully transparent by the caller
    if cube.sizes[X] < 2 or cube.sizes[Y] < 2:
        # a single row/column: rioxarray cannot infer the pixel size, give the tile's
        from rasterio.transform import Affine

        res = (bounds[2] - bounds[0]) / TILE_SIZE
        x0, y0 = float(cube[X].values[0]), float(cube[Y].values[0])
        cube = cube.rio.write_transform(Affine(res, 0, x0 - res / 2, 0, -res, y0 + res / 2))
    return cube.rio.reproject("EPSG:3857", shape=(TILE_SIZE, TILE_SIZE), transform=transform,
                              resampling=Resampling.nearest, nodata=np.nan)


class XyzTileHandler(BaseHandler):
    async def get(self, service_id: str, z: str, x: str, y: str) -> None:
        user = self.user
        record = self.backend.services.get(user, service_id)
        if not record.get("enabled", True):
            raise OpenEOError("The service is disabled.", code="ServiceNotFound", status=404)
        cancel = threading.Event()
        data = await self.backend.run_sync(
            render_service_tile, self.backend, record["process"], record.get("configuration")
            or {}, user, int(z), int(x), int(y), cancel, cancel_event=cancel,
            timeout=self.backend.config.limits.tile_timeout_s, pool="tiles")
        self.set_header("Content-Type", "image/png")
        self.set_header("Cache-Control", "private, max-age=60")
        self.finish(data)


class BasemapTileHandler(BaseHandler):
    async def get(self, z: str, x: str, y: str) -> None:
        self.user  # noqa: B018 - authentication required like every other route
        tile_bounds(int(z), int(x), int(y))
        try:
            from jupyter_eo.backend.catalog import basemap
        except ImportError:
            raise FeatureUnsupported("The offline basemap is not available.") from None

        data = await self.backend.run_sync(basemap.render_tile, int(z), int(x), int(y),
                                           pool="tiles")
        self.set_header("Content-Type", "image/png")
        self.set_header("Cache-Control", "private, max-age=86400")
        self.finish(data)
