"""Simulated SENTINEL1_GRD: water dark, towns brighter than forest, revisit, metadata."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pystac

from jupyter_eo.backend.catalog import simulated_world as world

ATLANTIC = {"west": -30.0, "south": 40.0, "east": -29.98, "north": 40.015}
GERMANY = {"west": 10.0, "south": 51.0, "east": 10.14, "north": 51.09}  # forest, fields and towns


def test_open_water_is_dark(catalog):
    s1 = catalog.get("SENTINEL1_GRD")
    cube = s1.load(ATLANTIC, ["2022-01-01", "2022-03-01"], ["VV", "VH"])
    vv_db = 10 * np.log10(cube.sel(bands="VV").values)
    assert cube.dtype == np.float32
    assert np.median(vv_db) < -15
    assert np.median(10 * np.log10(cube.sel(bands="VH").values)) < np.median(vv_db)


def test_urban_brighter_than_forest(catalog):
    s1 = catalog.get("SENTINEL1_GRD")
    cube = s1.load(GERMANY, ["2021-06-01", "2021-06-20"], ["VV"])
    grid = s1.make_grid(GERMANY, None, None)
    cls = world.land_cover(grid, s1.seed).cls
    vv = cube.isel(t=0, bands=0).values
    urban, forest = cls == world.URBAN, np.isin(cls, world.FOREST_CLASSES)
    assert urban.sum() > 1000 and forest.sum() > 1000
    assert np.median(vv[urban]) > 3 * np.median(vv[forest])  # > ~5 dB brighter


def test_speckle_changes_per_date_but_is_deterministic(catalog):
    s1 = catalog.get("SENTINEL1_GRD")
    a = s1.load(ATLANTIC, ["2021-06-01", "2021-06-20"], ["VV"]).values
    b = s1.load(ATLANTIC, ["2021-06-01", "2021-06-20"], ["VV"]).values
    assert np.array_equal(a, b)
    assert not np.array_equal(a[0], a[1])


def test_revisit_drops_after_s1b(catalog):
    """Sentinel-1B ended on 2021-12-23: a place then sees half the passes (1A's only)."""
    from jupyter_eo.backend.catalog.simulated_orbits import SENTINEL1, passes

    s1 = catalog.get("SENTINEL1_GRD")
    place = (10.0, 51.0)
    before = s1.dates_in(["2020-01-01", "2020-03-01"], place)
    after = s1.dates_in(["2023-01-01", "2023-03-01"], place)
    assert len(after) < 0.6 * len(before) and len(after) >= 8
    assert all(d >= dt.date(2023, 1, 1) for d in after)
    s1b = SENTINEL1[1]
    assert passes(s1b, *place, dt.date(2021, 12, 1), dt.date(2021, 12, 24))
    assert not passes(s1b, *place, dt.date(2021, 12, 24), dt.date(2022, 6, 1))
    platforms = {s1.acquisitions(d, d + dt.timedelta(days=1), place)[d][0] for d in after}
    assert platforms == {"sentinel-1a"}


def test_metadata(catalog):
    doc = catalog.get("SENTINEL1_GRD").metadata()
    pystac.Collection.from_dict(doc)
    assert "simulated" in doc["description"].lower()
    assert doc["cube:dimensions"]["bands"]["values"] == ["VV", "VH"]


def test_s1_identical_across_chunkings():
    from jupyter_eo.backend.catalog.sentinel1 import Sentinel1GRD

    aoi = {"west": 10.0, "south": 51.0, "east": 10.02, "north": 51.015}
    a = Sentinel1GRD().load(aoi, ["2021-06-01", "2021-06-14"], None).values
    other = Sentinel1GRD()
    other.chunk_size = 61
    b = other.load(aoi, ["2021-06-01", "2021-06-14"], None)
    assert len(b.chunks[3]) > 1
    assert np.array_equal(a, b.values)


def test_orbit_filter(catalog):
    s1 = catalog.get("SENTINEL1_GRD")
    # a place seen on ascending and descending passes on different days (the orbit geometry
    # decides; over the Atlantic at 30 W, 40 N both passes fall on the same UTC days)
    both = s1.load(GERMANY, ["2021-01-01", "2021-03-01"], ["VV"])
    asc = s1.load(GERMANY, ["2021-01-01", "2021-03-01"], ["VV"],
                  property_filter=lambda p: p["sat:orbit_state"] == "ascending")
    assert 0 < asc.sizes["t"] < both.sizes["t"]
