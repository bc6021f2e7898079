"""Simulated acquisition calendars follow the missions' orbit geometry (per place, per platform)."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from jupyter_eo.backend.catalog.sentinel1 import Sentinel1GRD
from jupyter_eo.backend.catalog.sentinel2 import Sentinel2L2A
from jupyter_eo.backend.catalog.simulated_orbits import SENTINEL2, acquisitions, passes

SUITE_WINDOW = {"west": 8.0, "south": 47.9, "east": 8.02, "north": 47.915}  # mid latitude


def _gaps(days: list[dt.date]) -> list[int]:
    return [(b - a).days for a, b in zip(days, days[1:])]


def test_a_three_day_window_at_mid_latitude_has_data():
    """The openEO test suite's 2022-06-01..03 (real Sentinel-2 has data there): not NoData."""
    cube = Sentinel2L2A().load(SUITE_WINDOW, ["2022-06-01", "2022-06-03"], ["B04"])
    assert cube.sizes["t"] >= 1
    assert all(np.datetime64("2022-06-01") <= t < np.datetime64("2022-06-03")
               for t in cube.t.values)


@pytest.mark.parametrize("lat,low,high", [(0.0, 4.5, 5.0), (48.0, 3.0, 4.2), (65.0, 1.5, 3.0)])
def test_revisit_depends_on_latitude(lat, low, high):
    """Two satellites half a 10-day cycle apart: 5 days at the equator (one track each); at
    higher latitudes neighbouring tracks overlap (290 km swath, tracks converging to the poles)
    for more and more places. Mean gap over 36 longitudes."""
    gaps = []
    for lon in range(-180, 180, 10):
        days = list(acquisitions(SENTINEL2, lon + 0.5, lat, dt.date(2022, 3, 1),
                                 dt.date(2022, 9, 1)))
        gaps += _gaps(days)
        assert max(_gaps(days)) <= 5
    assert low <= float(np.mean(gaps)) <= high, float(np.mean(gaps))


def test_calendar_differs_between_places_and_is_deterministic():
    west = Sentinel2L2A().dates_in(["2022-06-01", "2022-07-01"], (-60.0, -10.0))
    east = Sentinel2L2A().dates_in(["2022-06-01", "2022-07-01"], (150.0, -33.0))
    assert west != east
    assert west == Sentinel2L2A().dates_in(["2022-06-01", "2022-07-01"], (-60.0, -10.0))


def test_platforms_follow_launch_and_handover_dates():
    s2a, s2b, s2c = SENTINEL2
    place = (8.0, 48.0)
    assert not passes(s2b, *place, dt.date(2017, 1, 1), dt.date(2017, 3, 7))
    assert passes(s2b, *place, dt.date(2017, 3, 7), dt.date(2017, 4, 7))
    assert not passes(s2c, *place, dt.date(2024, 1, 1), dt.date(2025, 1, 21))
    assert not passes(s2a, *place, dt.date(2025, 1, 21), dt.date(2025, 6, 1))
    seen = {v[0] for v in acquisitions(SENTINEL2, *place, dt.date(2025, 2, 1),
                                       dt.date(2025, 3, 1)).values()}
    assert seen == {"sentinel-2b", "sentinel-2c"}


def test_properties_name_the_platform_and_relative_orbit():
    s2 = Sentinel2L2A()
    grid = s2.make_grid(SUITE_WINDOW, None, None)
    seen = []
    s2.load(SUITE_WINDOW, ["2022-06-01", "2022-06-11"], ["B04"],
            property_filter=lambda p: seen.append(p) or True)
    assert seen and all(p["platform"] in ("sentinel-2a", "sentinel-2b") for p in seen)
    assert all(1 <= p["sat:relative_orbit"] <= 143 for p in seen)
    assert s2.pass_of(dt.date.fromisoformat(seen[0]["datetime"][:10]), grid) is not None


def test_sentinel1_sees_ascending_and_descending_passes():
    s1 = Sentinel1GRD()
    days = s1.acquisitions(dt.date(2020, 1, 1), dt.date(2020, 2, 1), (10.0, 51.0))
    states = {state for _platform, state, _orbit in days.values()}
    assert states == {"ascending", "descending"}
    assert {p for p, _s, _o in days.values()} == {"sentinel-1a", "sentinel-1b"}
    later = s1.acquisitions(dt.date(2025, 2, 1), dt.date(2025, 3, 1), (10.0, 51.0))
    assert {p for p, _s, _o in later.values()} == {"sentinel-1a", "sentinel-1c"}
