"""The on-disk chunk cache: round trip, LRU eviction under the size bound, disabled mode."""
from __future__ import annotations

import os
import time

import numpy as np

from jupyter_eo.backend.catalog.cache import ChunkCache, chunk_key


def test_round_trip_and_lru_eviction(tmp_path):
    cache = ChunkCache(tmp_path, max_bytes=5 * 40_000)
    arrays = {f"k{i}": np.full((100, 100), i, np.float32) for i in range(4)}  # 40 kB each
    for i, (name, arr) in enumerate(arrays.items()):
        cache.put(chunk_key(name), arr)
        os.utime(cache._path(chunk_key(name)), (time.time() - 100 + i, time.time() - 100 + i))
    assert np.array_equal(cache.get(chunk_key("k0")), arrays["k0"])  # touch k0: now most recent
    for i in range(4, 8):
        cache.put(chunk_key(f"k{i}"), np.full((100, 100), i, np.float32))
    assert cache.size_on_disk() <= 5 * 40_000 + 8 * 200
    assert cache.get(chunk_key("k1")) is None  # least recently used went first
    assert cache.get(chunk_key("k7")) is not None
    assert cache.hits >= 2 and cache.misses >= 1


def test_disabled_cache(tmp_path):
    cache = ChunkCache(None)
    cache.put("x", np.zeros(3))
    assert cache.get("x") is None and not cache.enabled


def test_collection_uses_cache(tmp_path):
    from jupyter_eo.backend.catalog.sentinel2 import Sentinel2L2A

    cache = ChunkCache(tmp_path / "c")
    s2 = Sentinel2L2A(cache=cache)
    aoi = {"west": 11.0, "south": 46.0, "east": 11.005, "north": 46.004}
    first = s2.load(aoi, ["2021-06-01", "2021-06-11"], ["B04", "SCL"]).values
    files = list((tmp_path / "c").glob("*/*.npy"))
    assert len(files) == 4  # 2 dates x 2 bands
    again = Sentinel2L2A(cache=cache).load(aoi, ["2021-06-01", "2021-06-11"], ["B04", "SCL"]).values
    assert cache.hits == 4 and np.array_equal(first, again)
