"""Simulated ESA WorldCover 2021 agrees with the simulated world (issue 20.6)."""
from __future__ import annotations

import numpy as np

from jupyter_eo.backend.catalog.cache import ChunkCache
from jupyter_eo.backend.catalog.registry import default_catalog
from jupyter_eo.backend.catalog.sentinel2 import SCL_WATER, Sentinel2L2A
from jupyter_eo.backend.catalog.worldcover import WorldCover2021

COAST = {"west": 3.1, "south": 51.3, "east": 3.14, "north": 51.33}  # North Sea coast, Belgium


def test_worldcover_water_is_where_sentinel2_sees_water(tmp_path) -> None:
    wc = WorldCover2021(cache=ChunkCache(None)).load(COAST, ["2020-01-01", "2022-01-01"])
    assert wc.sizes["t"] == 1 and list(wc["bands"].values) == ["MAP"]
    assert wc.dtype == np.uint8
    codes = wc.values[0, 0]
    assert set(np.unique(codes)) <= {10, 20, 30, 40, 50, 60, 70, 80, 100}
    s2 = Sentinel2L2A(cache=ChunkCache(None)).load(COAST, ["2023-06-01", "2023-06-30"],
                                                   ["SCL"]).values[:, 0]
    water_s2 = (s2 == SCL_WATER).any(axis=0)
    water_wc = codes == 80
    assert water_wc.any() and (~water_wc).any()  # the AOI holds sea and land
    agree = (water_s2 == water_wc).mean()
    assert agree > 0.95


def test_worldcover_is_in_the_default_catalog(tmp_path) -> None:
    cat = default_catalog(cache_dir=tmp_path / "cache", samples_dir=tmp_path / "none")
    assert cat.get("ESA_WORLDCOVER_10M_2021_V2").metadata()["id"] == "ESA_WORLDCOVER_10M_2021_V2"
