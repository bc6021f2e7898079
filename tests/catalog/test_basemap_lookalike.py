"""The offline basemap shows the same world as SENTINEL2_L2A: at a place, a basemap tile has the
true colour the collection's renderer gives on the UTM grid a load of that place uses."""
from __future__ import annotations

import math

import numpy as np
import pytest

from jupyter_eo.backend.catalog import basemap
from jupyter_eo.backend.catalog import simulated_world as world
from jupyter_eo.backend.catalog.grid import grid_for, to_crs, transformer
from jupyter_eo.backend.catalog.sentinel2 import render_s2

AOIS = [(11.3, 46.3, 11.31, 46.306), (8.5, 47.3, 8.51, 47.306)]  # Trentino, near Zürich


def s2_true_colour(aoi, res: float = 10.0) -> tuple[np.ndarray, object]:
    """What a SENTINEL2_L2A load of ``aoi`` at 10 m shows on the (cloud-free) basemap day."""
    grid = grid_for(aoi, to_crs(4326), None, res)
    bands = render_s2(grid, basemap.BASEMAP_DAY, ["B04", "B03", "B02"], basemap.SEED,
                      world.land_cover(grid, basemap.SEED), cloudless=True)
    rgb = np.stack([bands[b] for b in ("B04", "B03", "B02")], axis=-1).astype(np.float32)
    return (np.sqrt(np.clip(rgb / 3000.0, 0, 1)) * 255 + 0.5).astype(np.uint8), grid


def basemap_at(lon: np.ndarray, lat: np.ndarray, z: int) -> np.ndarray:
    n = 2 ** z
    fx = (lon + 180.0) / 360.0 * n
    fy = (1 - np.log(np.tan(np.radians(lat)) + 1 / np.cos(np.radians(lat))) / math.pi) / 2 * n
    out = np.zeros(lon.shape + (3,), np.uint8)
    tiles = {}
    for idx in np.ndindex(lon.shape):
        tx, ty = int(fx[idx]), int(fy[idx])
        if (tx, ty) not in tiles:
            tiles[(tx, ty)] = basemap.render_rgb(z, tx, ty)
        out[idx] = tiles[(tx, ty)][int((fy[idx] - ty) * 256), int((fx[idx] - tx) * 256)]
    return out


@pytest.mark.parametrize("aoi", AOIS)
def test_basemap_tiles_match_the_sentinel2_pattern_and_colours(aoi):
    expected, grid = s2_true_colour(aoi)
    ux, uy = np.meshgrid(grid.xs(), grid.ys())
    lon, lat = transformer(grid.crs, to_crs(4326)).transform(ux, uy)
    sampled = basemap_at(np.asarray(lon)[::3, ::3], np.asarray(lat)[::3, ::3], z=16)
    diff = np.abs(sampled.astype(int) - expected[::3, ::3].astype(int)).max(axis=-1)
    close = float((diff <= 12).mean())
    assert close > 0.95, close  # same fields/forests in the same places, same colours


def test_the_comparison_tells_a_different_world_apart(monkeypatch):
    """The same check on tiles rendered on the Web Mercator grid (the pattern belongs to that
    grid, as before zoom 11): most pixels differ, so the test above is not vacuous."""
    monkeypatch.setattr(basemap, "UTM_FROM_ZOOM", 99)
    expected, grid = s2_true_colour(AOIS[1])
    ux, uy = np.meshgrid(grid.xs(), grid.ys())
    lon, lat = transformer(grid.crs, to_crs(4326)).transform(ux, uy)
    sampled = basemap_at(np.asarray(lon)[::3, ::3], np.asarray(lat)[::3, ::3], z=16)
    diff = np.abs(sampled.astype(int) - expected[::3, ::3].astype(int)).max(axis=-1)
    assert float((diff <= 12).mean()) < 0.6


def test_true_colour_previews_use_the_basemap_colours():
    """A true-colour preview drawn with its default scale has the basemap's colours, pixel for
    pixel, so it sits on the map without a visible seam."""
    import io

    from PIL import Image

    from jupyter_eo.widgets.colormaps import render
    from jupyter_eo.widgets.product_styles import style_for_recipe_id

    expected, grid = s2_true_colour(AOIS[0])
    bands = render_s2(grid, basemap.BASEMAP_DAY, ["B04", "B03", "B02"], basemap.SEED,
                      world.land_cover(grid, basemap.SEED), cloudless=True)
    style = style_for_recipe_id("true_colour")
    array = np.stack([bands[b] for b in ("B04", "B03", "B02")]).astype("float64")
    png, _ = render(array, vmin=style.range[0], vmax=style.range[1], gamma=style.gamma)
    drawn = np.asarray(Image.open(io.BytesIO(png)))[..., :3].astype(int)
    assert np.abs(drawn - basemap._true_colour(grid).astype(int)).max() <= 1
    assert np.abs(drawn - expected.astype(int)).max() <= 1
