"""Offline basemap tiles: valid PNGs of the simulated world, deterministic, fast."""
from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image

from jupyter_eo.backend.catalog import basemap
from jupyter_eo.errors import ProcessParameterInvalid


def _png(data: bytes) -> np.ndarray:
    img = Image.open(io.BytesIO(data))
    assert img.format == "PNG" and img.mode == "RGB"
    return np.asarray(img)


def test_world_tile_shows_land_and_sea(cache_dir):
    rgb = _png(basemap.render_tile(0, 0, 0)).astype(int)
    assert rgb.shape == (256, 256, 3)
    sea = rgb[128, 60]    # mid Pacific
    sahara = rgb[110, 135]  # Sahara (24 N, 10 E)
    assert sea[2] >= sea[0] and sea.sum() < 300      # dark, bluish water
    assert sahara.sum() > 450 and sahara[0] > sahara[2]  # bright, reddish sand


def test_tiles_are_deterministic_and_sized():
    a = basemap.render_tile(6, 33, 21)
    assert a == basemap.render_tile(6, 33, 21)
    assert _png(basemap.render_tile(6, 33, 21, size=512)).shape == (512, 512, 3)


def test_tile_speed():
    basemap.render_tile(9, 268, 172)  # warm-up
    costs = []
    for x in range(268, 273):
        start = time.process_time()
        basemap.render_tile(9, x, 172)
        costs.append(time.process_time() - start)
    assert np.median(costs) < 0.05, costs


def test_bad_tiles():
    with pytest.raises(ProcessParameterInvalid):
        basemap.render_tile(2, 4, 0)
    with pytest.raises(ProcessParameterInvalid):
        basemap.render_tile(30, 0, 0)


def test_bluemarble_tile_from_equirectangular_image(tmp_path):
    image = np.zeros((90, 180, 3), np.uint8)
    image[:, :90] = (255, 0, 0)   # western hemisphere red
    image[:, 90:] = (0, 0, 255)   # eastern hemisphere blue
    path = tmp_path / "world.png"
    Image.fromarray(image).save(path)
    west = _png(basemap.render_bluemarble_tile(1, 0, 0, path=path))
    east = _png(basemap.render_bluemarble_tile(1, 1, 1, path=path))
    assert (west == (255, 0, 0)).all() and (east == (0, 0, 255)).all()
    with pytest.raises(Exception) as err:
        basemap.render_bluemarble_tile(0, 0, 0, path=tmp_path / "missing.jpg")
    assert getattr(err.value, "code", "") == "NotFound"


@pytest.mark.skipif(not basemap.bluemarble_path().exists(), reason="Blue Marble not set up")
def test_real_bluemarble_tile():
    rgb = _png(basemap.render_bluemarble_tile(0, 0, 0)).astype(int)
    assert rgb[128, 60, 2] > rgb[128, 60, 0]  # Pacific is blue
