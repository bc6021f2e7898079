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
