"""The on-disk chunk cache: round trip, LRU eviction under the size bound, disabled mode."""
from __future__ import annotations

import os
import time
from pathlib import Path

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


def test_in_flight_temp_files_are_neither_counted_nor_evicted(tmp_path):
    """Another writer's dot-prefixed temp file may be renamed away at any moment: size and
    eviction must not stat or delete it (a CI run once failed on exactly that race)."""
    cache = ChunkCache(tmp_path, max_bytes=50_000)
    cache.put(chunk_key("a"), np.zeros((100, 100), np.float32))  # 40 kB
    tmp = cache._path(chunk_key("b")).parent / ".inflight.1.2.tmp.npy"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    np.save(tmp, np.zeros((100, 100), np.float32))
    assert cache.size_on_disk() < 41_000
    cache.put(chunk_key("c"), np.zeros((100, 100), np.float32))  # over the bound: evicts
    assert tmp.exists()
    assert cache.size_on_disk() <= 50_000


def test_files_vanishing_while_listing_are_skipped(tmp_path, monkeypatch):
    cache = ChunkCache(tmp_path)
    cache.put(chunk_key("a"), np.zeros(1000, np.float32))
    cache.put(chunk_key("b"), np.zeros(1000, np.float32))
    gone = cache._path(chunk_key("b"))
    real_glob = type(tmp_path).glob

    def glob_then_delete(self, pattern):
        found = list(real_glob(self, pattern))
        gone.unlink()  # evicted by another process between listing and stat
        return iter(found)

    monkeypatch.setattr(type(tmp_path), "glob", glob_then_delete)
    assert 4000 <= cache.size_on_disk() < 4300


def test_concurrent_writers_under_a_small_bound(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    cache = ChunkCache(tmp_path, max_bytes=200_000)

    def write(i: int) -> None:
        for j in range(30):
            cache.put(chunk_key(i, j), np.full((100, 100), j, np.float32))
            cache.get(chunk_key(i, j // 2))

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(write, range(6)))  # raises if any put/get raised
    assert cache.size_on_disk() <= 200_000 + 40_200
    assert not list(tmp_path.glob("*/.*.tmp.npy"))


def test_a_chunk_evicted_right_after_reading_is_still_a_hit(tmp_path, monkeypatch):
    """Another thread evicting the file between the read and the LRU touch must not turn
    a successful read into a miss (and a recomputation)."""
    cache = ChunkCache(tmp_path)
    key = chunk_key("evicted")
    cache.put(key, np.arange(10, dtype=np.float32))
    import jupyter_eo.backend.catalog.cache as cache_module

    real_load = cache_module.load_npy

    def load_then_evict(path):
        arr = real_load(path)
        path.unlink()  # eviction by another thread right after our read
        return arr

    monkeypatch.setattr(cache_module, "load_npy", load_then_evict)
    got = cache.get(key)
    assert got is not None and np.array_equal(got, np.arange(10, dtype=np.float32))
    assert (cache.hits, cache.misses) == (1, 0)


def test_a_failed_write_leaves_no_temp_file(tmp_path, monkeypatch):
    cache = ChunkCache(tmp_path)
    import jupyter_eo.backend.catalog.cache as cache_module

    def disk_full(path, arr, allow_pickle=False):
        Path(path).write_bytes(b"\x93NUMPY partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache_module.np, "save", disk_full)
    cache.put(chunk_key("full"), np.zeros(10, np.float32))  # logged, not raised
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
