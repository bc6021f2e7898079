"""Building the land-mask bit file while other processes build it too, or when the disk fills."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest

from jupyter_eo.backend.catalog import world_data

SMALL = np.arange(64, dtype=np.uint8).reshape(8, 8)


def test_simultaneous_builders_with_equal_pids_both_succeed(tmp_path: Path, monkeypatch) -> None:
    """Two builders (e.g. containers sharing a cache volume, both pid 7) must not share a temp
    file: the second rename would find it gone."""
    monkeypatch.setattr(world_data, "_land_bits_from_package", lambda: SMALL)
    monkeypatch.setattr(world_data.os, "getpid", lambda: 7)
    both_saved = threading.Barrier(2, timeout=10)
    real_replace = os.replace

    def replace_after_both_saved(src, dst):
        both_saved.wait()
        return real_replace(src, dst)

    monkeypatch.setattr(world_data.os, "replace", replace_after_both_saved)
    target = tmp_path / "land_mask_bits_v1.npy"
    errors: list[BaseException] = []

    def build() -> None:
        try:
            world_data._build_land_bits(target)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert np.array_equal(np.load(target), SMALL)
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_a_failed_write_leaves_no_temp_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(world_data, "_land_bits_from_package", lambda: SMALL)

    def disk_full(path, arr):
        Path(path).write_bytes(b"\x93NUMPY partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(world_data.np, "save", disk_full)
    with pytest.raises(OSError):
        world_data._build_land_bits(tmp_path / "land_mask_bits_v1.npy")
    assert list(tmp_path.iterdir()) == []
