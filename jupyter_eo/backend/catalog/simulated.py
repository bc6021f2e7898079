"""Shared machinery of the simulated collections: dates, AOI grids, lazy chunks with disk cache."""
from __future__ import annotations

import datetime as _dt
import functools
import threading
from abc import abstractmethod
from collections import OrderedDict
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import xarray as xr
from dask.base import tokenize

from jupyter_eo.errors import ProcessParameterInvalid

from . import simulated_world as world
from .base import Collection, PropertyFilter, assemble, no_data, parse_temporal, resolve_bands
from .cache import ChunkCache, chunk_key
from .grid import Grid, grid_for, parse_bbox, to_crs

GENERATOR_VERSION = 2  # bump when the simulation changes (invalidates the disk cache)


_CRS_IDS: dict[int, tuple[Any, str]] = {}  # id(crs) -> (crs kept alive, its to_string())


def place_of_grid(grid: Grid) -> tuple[float, float]:
    """(lon, lat) of the centre of ``grid``: the place whose acquisitions it shows."""
    from pyproj import Transformer

    x = (grid.gx0 + grid.nx / 2) * grid.res
    y = (grid.gy0 - grid.ny / 2 + 1) * grid.res
    if grid.crs.is_geographic:
        return float(x), float(y)
    lon, lat = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True).transform(x, y)
    return float(lon), float(lat)


def _crs_id(crs: Any) -> str:
    """``crs.to_string()`` (a pyproj authority lookup, ~50 us) once per CRS object."""
    entry = _CRS_IDS.get(id(crs))
    if entry is None or entry[0] is not crs:
        if len(_CRS_IDS) > 256:
            _CRS_IDS.clear()
        entry = _CRS_IDS[id(crs)] = (crs, crs.to_string())
    return entry[1]


class _StaticCache:
    """Small in-memory LRU of per-grid static layers (land cover, texture): reused across dates.

    Built once per key: dask threads asking for the same grid (other dates of one chunk) wait
    for the first one's layers instead of computing them again (on a cold first preview two
    threads often asked at once: 16-17 land-cover builds for 12 grids, measured)."""

    def __init__(self, size: int = 16) -> None:
        self._items: OrderedDict = OrderedDict()
        self._size = size
        self._lock = threading.Lock()
        self._building: dict = {}  # key -> lock held by the thread building it

    def __reduce__(self):
        return (_StaticCache, (self._size,))  # a fresh, empty memo in each (worker) process

    def _cached(self, key):
        """(True, value) when ``key`` is stored (marked recently used); caller holds the lock."""
        if key in self._items:
            self._items.move_to_end(key)
            return True, self._items[key]
        return False, None

    def get(self, key, factory):
        with self._lock:
            found, value = self._cached(key)
            if found:
                return value
            building = self._building.setdefault(key, threading.Lock())
        with building:  # one builder per key; the others wait here, then find it stored
            with self._lock:
                found, value = self._cached(key)
            if found:
                return value
            try:
                value = factory()
                with self._lock:
                    self._items[key] = value
                    while len(self._items) > self._size:
                        self._items.popitem(last=False)
            finally:
                with self._lock:
                    if self._building.get(key) is building:
                        del self._building[key]
        return value


class SimulatedCollection(Collection):
    """A global simulated collection; subclasses render bands of one grid and date."""

    id: str
    default_resolution: float = 10.0
    first_date = _dt.date(2017, 1, 1)
    dtype: Any = np.uint16
    nodata: Any = 0
    chunk_size = 1024

    def __init__(self, seed: int = 2017, cache: ChunkCache | None = None) -> None:
        self.seed = seed
        self.cache = cache or ChunkCache(None)
        self._static = _StaticCache()

    def __getstate__(self) -> dict:
        # pickled into dask tasks: a worker process re-creates its memo and cache lock, and
        # reads the world data from the backend's world folder when it can see it
        from jupyter_eo.backend.catalog.world_data import world_dir

        return {**self.__dict__, "_world_dir": str(world_dir())}

    def __setstate__(self, state: dict) -> None:
        from jupyter_eo.backend.catalog.world_data import set_world_dir

        state = dict(state)
        set_world_dir(Path(state.pop("_world_dir")))
        self.__dict__.update(state)

    # -- subclass hooks -------------------------------------------------------------------
    @abstractmethod
    def eo_bands(self) -> list[dict]:
        """The ``eo:bands`` list (names in delivery order)."""

    #: the spacecraft whose orbits give the acquisition calendar (see simulated_orbits)
    satellites: tuple = ()
    #: the place whose calendar ``dates_in`` gives when no area is named (lon, lat)
    reference_place = (8.0, 48.0)

    def acquisition_dates(self, start: _dt.date, end: _dt.date,
                          place: tuple[float, float] | None = None) -> list[_dt.date]:
        """Acquisition dates in [start, end) of ``place`` (lon, lat), from the orbits."""
        return list(self.acquisitions(start, end, place))

    def acquisitions(self, start: _dt.date, end: _dt.date,
                     place: tuple[float, float] | None = None) -> dict:
        """{date: (platform, orbit state, relative orbit)} of ``place`` in [start, end)."""
        from jupyter_eo.backend.catalog.simulated_orbits import acquisitions

        lon, lat = place if place is not None else self.reference_place
        return acquisitions(self.satellites, lon, lat, max(start, self.first_date), end)

    def pass_of(self, day: _dt.date, grid: Grid) -> tuple[str, str, int] | None:
        """(platform, orbit state, relative orbit) of the acquisition of ``grid`` on ``day``."""
        return self.acquisitions(day, day + _dt.timedelta(days=1), place_of_grid(grid)).get(day)

    @abstractmethod
    def render(self, grid: Grid, day: _dt.date, bands: list[str]) -> dict[str, np.ndarray]:
        """All requested bands of one frame as 2-D arrays of ``self.dtype``."""

    def date_properties(self, day: _dt.date, grid: Grid) -> dict:
        """Per-date properties seen by ``property_filter`` (datetime at least)."""
        return {"datetime": day.isoformat() + "T00:00:00Z"}

    # -- shared ---------------------------------------------------------------------------
    def static_layers(self, grid: Grid):
        """Land cover of ``grid`` (memoised: the same for every date)."""
        return self._static.get(("lc", grid), lambda: world.land_cover(grid, self.seed))

    def today(self) -> _dt.date:
        return _dt.datetime.now(_dt.timezone.utc).date()

    def dates_in(self, temporal_extent: Sequence | None,
                 place: tuple[float, float] | None = None) -> list[_dt.date]:
        """Acquisition dates of ``place`` (lon, lat; default :attr:`reference_place`) within
        ``temporal_extent`` (left-closed), from the first date to today."""
        start, end = parse_temporal(temporal_extent)
        d0 = max(self.first_date, start.date() if start else self.first_date)
        if start and start.time() != _dt.time(0) and start.date() >= self.first_date:
            d0 = start.date() + _dt.timedelta(days=1)
        last = self.today() + _dt.timedelta(days=1)
        if end is not None:
            d1 = end.date() if end.time() == _dt.time(0) else end.date() + _dt.timedelta(days=1)
            d1 = min(d1, last)
        else:
            d1 = last
        if d1 <= d0:
            return []
        return self.acquisition_dates(d0, d1, place)

    def make_grid(self, spatial_extent: dict | None, resolution: float | None, crs: Any) -> Grid:
        parsed = parse_bbox(spatial_extent)
        if parsed is None:
            raise ProcessParameterInvalid(
                f"{self.id} covers the whole Earth: load_collection needs a spatial_extent.")
        bbox, bbox_crs = parsed
        out_crs = to_crs(crs) if crs is not None else None
        res = resolution
        if res is None:
            res = self.default_resolution
            if out_crs is not None and out_crs.is_geographic:
                res = self.default_resolution / 111_320.0
        return grid_for(bbox, bbox_crs, out_crs, float(res))

    def frame(self, grid: Grid, day: _dt.date, bands: list[str]) -> np.ndarray:
        """(bands, y, x) for one frame, through the disk cache."""
        crs_id = _crs_id(grid.crs)
        keys = {b: chunk_key(GENERATOR_VERSION, self.id, self.seed, crs_id, grid.res, grid.gx0, grid.gy0,
                             grid.nx, grid.ny, day.isoformat(), b) for b in bands}
        # cached bands are read straight into the frame (no per-band arrays, no np.stack copy)
        out = np.empty((len(bands), grid.ny, grid.nx), dtype=self.dtype)
        missing = [i for i, b in enumerate(bands)
                   if not (self.cache.enabled and self.cache.get_into(keys[b], out[i]))]
        if missing:
            names = list(dict.fromkeys(bands[i] for i in missing))
            fresh = self.render(grid, day, names)
            for b in names:
                self.cache.put(keys[b], fresh[b])
            for i in missing:
                out[i] = fresh[bands[i]]
        return out

    def load(self, spatial_extent: dict | None = None, temporal_extent: Sequence | None = None,
             bands: list[str] | None = None, property_filter: PropertyFilter | None = None, *,
             resolution: float | None = None, crs: Any = None) -> xr.DataArray:
        band_names = resolve_bands(bands, self.eo_bands())
        grid = self.make_grid(spatial_extent, resolution, crs)
        days = self.dates_in(temporal_extent, place_of_grid(grid))
        if not days:
            raise no_data(self.id, f"no acquisition in {temporal_extent} (data from {self.first_date})")
        if property_filter is not None:
            days = [d for d in days if property_filter(self.date_properties(d, grid))]
            if not days:
                raise no_data(self.id, "no acquisition matches the property filter")
        name = f"{self.id.lower()}-" + tokenize(
            GENERATOR_VERSION, self.id, self.seed, grid.crs.to_wkt(), grid.res, grid.gx0, grid.gy0,
            grid.nx, grid.ny, [d.isoformat() for d in days], band_names, self.chunk_size)

        chunk_fn = functools.partial(_frame_chunk, self, grid, days, band_names)
        times = [np.datetime64(d.isoformat()) for d in days]
        return assemble(name, times, band_names, grid.xs(), grid.ys(), grid.crs, self.dtype, chunk_fn,
                        chunk=self.chunk_size, nodata=self.nodata, offsets=(-grid.gy0, grid.gx0))


def _frame_chunk(collection: SimulatedCollection, grid: Grid, days: list[_dt.date],
                 band_names: list[str], t: int, r0: int, c0: int, ny: int, nx: int) -> np.ndarray:
    """One lazy block of :meth:`SimulatedCollection.load` (module level: picklable for dask)."""
    return collection.frame(grid.sub(r0, c0, ny, nx), days[t], band_names)
