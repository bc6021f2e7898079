"""Simulated Sentinel-2 angle bands (issue 20.6): physically plausible sun and view angles."""
from __future__ import annotations

import datetime as _dt

import numpy as np
import pytest

from jupyter_eo.backend.catalog.cache import ChunkCache
from jupyter_eo.backend.catalog.s2_angles import overpass, sun_angles
from jupyter_eo.backend.catalog.sentinel2 import Sentinel2L2A

BELGIUM = {"west": 5.0, "south": 51.0, "east": 5.012, "north": 51.008}
ANGLES = ["sunZenithAngles", "sunAzimuthAngles", "viewZenithMean"]


@pytest.fixture
def s2(tmp_path) -> Sentinel2L2A:
    return Sentinel2L2A(cache=ChunkCache(tmp_path / "chunks", max_bytes=10**8))


def test_angle_bands_load_as_cdse_names_them(s2: Sentinel2L2A) -> None:
    cube = s2.load(BELGIUM, ["2023-06-01", "2023-06-30"], ["B04", *ANGLES]).compute()
    assert list(cube["bands"].values) == ["B04", *ANGLES]
    assert cube.dtype == np.float32
    sun_zenith = cube.sel(bands="sunZenithAngles").values
    azimuth = cube.sel(bands="sunAzimuthAngles").values
    view = cube.sel(bands="viewZenithMean").values
    # June, 51 N, ~10:30 local solar time: the sun is high (noon zenith 51 - 23 = 28 degrees)
    assert 28.0 < sun_zenith.min() and sun_zenith.max() < 45.0
    assert 110.0 < azimuth.min() and azimuth.max() < 180.0  # south-east, before noon
    assert 0.0 <= view.min() and view.max() <= 11.5
    # reflectance unchanged by the float cube
    plain = s2.load(BELGIUM, ["2023-06-01", "2023-06-30"], ["B04"]).compute()
    np.testing.assert_array_equal(cube.sel(bands="B04").values, plain.values[:, 0])
    # default loads do not include them (and stay uint16)
    assert "sunZenithAngles" not in s2.load(BELGIUM, ["2023-06-01", "2023-06-05"])["bands"]


def test_sun_zenith_follows_the_seasons_and_latitude() -> None:
    lon, lat = np.array([5.0]), np.array([51.0])
    summer, _ = overpass(_dt.date(2023, 6, 21), 5.0, 51.0)
    winter, _ = overpass(_dt.date(2023, 12, 21), 5.0, 51.0)
    z_summer = sun_angles(summer, lon, lat)[0][0]
    z_winter = sun_angles(winter, lon, lat)[0][0]
    assert z_summer < 40.0 < 70.0 < z_winter
    # 10:30 local solar time is in the overpass (give or take the node-to-place travel)
    assert abs(summer.hour + summer.minute / 60 + 5.0 / 15 - 10.5) < 0.75
