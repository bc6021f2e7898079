"""The land mask is built once per installation and shared by backends with any cache dir."""
from __future__ import annotations

import numpy as np

from jupyter_eo.backend.catalog import world_data


def test_land_mask_is_built_once_per_installation(tmp_path, monkeypatch):
    shared = tmp_path / "install" / "world"
    monkeypatch.setenv("JUPYTER_EO_WORLD_DIR", str(shared))
    monkeypatch.setenv("JUPYTER_EO_CACHE_DIR", str(tmp_path / "user-cache"))
    builds = []

    def fake_build(path):
        builds.append(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, np.ones((2, 3), np.uint8))

    monkeypatch.setattr(world_data, "_build_land_bits", fake_build)
    for cache in ("cache-a", "cache-b"):  # two backends, two cache dirs
        monkeypatch.setattr(world_data, "_world_dir", [tmp_path / cache / "world"])
        bits = world_data.land_bits.__wrapped__()
        assert bits.shape == (2, 3) and bits.dtype == np.uint8
    assert builds == [shared / world_data.LAND_FILE]
    assert not (tmp_path / "cache-a").exists() and not (tmp_path / "cache-b").exists()


def test_unwritable_installation_folder_falls_back_to_the_cache_dir(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the shared folder would be")
    monkeypatch.setenv("JUPYTER_EO_WORLD_DIR", str(blocker / "world"))
    monkeypatch.setenv("JUPYTER_EO_CACHE_DIR", str(tmp_path / "user-cache"))
    monkeypatch.setattr(world_data, "_world_dir", [tmp_path / "cache" / "world"])
    built = []

    def fake_build(path):
        path.parent.mkdir(parents=True, exist_ok=False) if not path.parent.exists() else None
        np.save(path, np.zeros((1, 1), np.uint8))
        built.append(path)

    monkeypatch.setattr(world_data, "_build_land_bits", fake_build)
    world_data.land_bits.__wrapped__()
    assert built == [tmp_path / "cache" / "world" / world_data.LAND_FILE]
    assert world_data.land_file() == built[0]


def test_climate_map_is_unpacked_once_and_memory_mapped(tmp_path, monkeypatch):
    shared = tmp_path / "install" / "world"
    monkeypatch.setenv("JUPYTER_EO_WORLD_DIR", str(shared))
    monkeypatch.setenv("JUPYTER_EO_CACHE_DIR", str(tmp_path / "user-cache"))
    monkeypatch.setattr(world_data, "_world_dir", [tmp_path / "cache" / "world"])
    first = world_data.koppen.__wrapped__()  # unzips the packaged map and keeps a copy
    assert (shared / world_data.KOPPEN_FILE).exists()
    unzips = []
    monkeypatch.setattr(world_data, "_koppen_from_package", lambda: unzips.append(1))
    again = world_data.koppen.__wrapped__()
    assert unzips == [] and isinstance(again, np.memmap)
    assert again.dtype == first.dtype == np.uint8 and again.shape == first.shape == (3600, 7200)
    assert np.array_equal(again, first)
