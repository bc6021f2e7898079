"""The chunk cache's fast .npy reader returns what np.load returns; bad files are misses."""
from __future__ import annotations

import numpy as np
import pytest

from jupyter_eo.backend.catalog.cache import ChunkCache, load_npy


@pytest.mark.parametrize("arr", [
    np.arange(171 * 63, dtype=np.uint16).reshape(171, 63),
    np.random.default_rng(0).random((5, 7), dtype=np.float32),
    np.zeros((0, 4), dtype=np.uint8),
    np.asfortranarray(np.arange(20.0).reshape(4, 5)),  # not written by the cache: np.load path
])
def test_load_npy_equals_np_load(tmp_path, arr):
    np.save(tmp_path / "a.npy", arr)
    got, ref = load_npy(tmp_path / "a.npy"), np.load(tmp_path / "a.npy")
    assert got.dtype == ref.dtype and got.shape == ref.shape and np.array_equal(got, ref)
    assert got.flags.writeable


def test_truncated_and_empty_files_are_misses(tmp_path):
    cache = ChunkCache(tmp_path)
    cache.put("ab" + "0" * 38, np.ones((10, 10), dtype=np.uint16))
    path = next(tmp_path.glob("*/*.npy"))
    assert cache.get("ab" + "0" * 38).sum() == 100
    path.write_bytes(path.read_bytes()[:-3])
    assert cache.get("ab" + "0" * 38) is None
    path.write_bytes(b"")
    assert cache.get("ab" + "0" * 38) is None
    assert cache.hits == 1 and cache.misses == 2


def test_get_into_fills_the_target_or_reports_a_miss(tmp_path):
    cache = ChunkCache(tmp_path)
    key = "cd" + "1" * 38
    arr = np.arange(30, dtype=np.uint16).reshape(5, 6)
    assert not cache.get_into(key, np.empty((5, 6), np.uint16))  # nothing stored yet
    cache.put(key, arr)
    out = np.zeros((2, 5, 6), dtype=np.uint16)
    assert cache.get_into(key, out[1]) and np.array_equal(out[1], arr) and not out[0].any()
    as_float = np.empty((5, 6), dtype=np.float32)  # another dtype: cast like astype
    assert cache.get_into(key, as_float) and np.array_equal(as_float, arr.astype(np.float32))
    assert not cache.get_into(key, np.empty((6, 5), np.uint16))  # another shape


def test_frames_from_the_cache_equal_fresh_frames(tmp_path):
    import datetime as dt

    from jupyter_eo.backend.catalog.sentinel2 import Sentinel2L2A

    cached = Sentinel2L2A(cache=ChunkCache(tmp_path))
    fresh = Sentinel2L2A()
    grid = cached.make_grid({"west": 11.0, "south": 46.0, "east": 11.01, "north": 46.008}, None, None)
    day = cached.dates_in(["2023-06-01", "2023-07-01"])[0]
    assert isinstance(day, dt.date)
    bands = ["B04", "SCL", "B04"]
    first = cached.frame(grid, day, bands)  # miss: rendered and stored
    second = cached.frame(grid, day, bands)  # hit: read into the frame
    reference = fresh.frame(grid, day, bands)
    assert cached.cache.hits == 3 and first.dtype == second.dtype == reference.dtype
    assert np.array_equal(first, reference) and np.array_equal(second, reference)
