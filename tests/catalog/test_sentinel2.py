"""Simulated SENTINEL2_L2A: realism (phenology, sea, desert, clouds/SCL), determinism, metadata."""
from __future__ import annotations

import numpy as np
import pystac
import pytest

from jupyter_eo.backend.catalog import simulated_world as world
from jupyter_eo.backend.catalog.cache import ChunkCache
from jupyter_eo.backend.catalog.sentinel2 import Sentinel2L2A
from jupyter_eo.backend.cube import get_crs
from jupyter_eo.errors import CollectionNotFound, OpenEOError, ProcessParameterInvalid

BLACK_FOREST = {"west": 8.2, "south": 48.4, "east": 8.22, "north": 48.415}   # NH, forest
CHILE_FOREST = {"west": -73.0, "south": -40.0, "east": -72.98, "north": -39.985}  # SH, forest
ATLANTIC = {"west": -30.0, "south": 40.0, "east": -29.98, "north": 40.015}
SAHARA = {"west": 10.0, "south": 25.0, "east": 10.02, "north": 25.015}
CLEAR = (4, 5, 6, 11)  # SCL classes that are neither cloud, cirrus nor shadow


def _clear_ndvi(cube) -> np.ndarray:
    v = cube.compute()
    red = v.sel(bands="B04").values.astype(float)
    nir = v.sel(bands="B08").values.astype(float)
    scl = v.sel(bands="SCL").values
    ndvi = (nir - red) / (nir + red)
    return ndvi[np.isin(scl, CLEAR)]


def _ndvi_median(coll, aoi, months) -> float:
    cube = coll.load(aoi, months, ["B04", "B08", "SCL"])
    values = _clear_ndvi(cube)
    assert values.size > 1000, "too few clear pixels to judge"
    return float(np.median(values))


def test_aoi_classes_are_forest():
    s2 = Sentinel2L2A()
    for aoi in (BLACK_FOREST, CHILE_FOREST):
        grid = s2.make_grid(aoi, None, None)
        cls = world.land_cover(grid, s2.seed).cls
        assert np.isin(cls, world.FOREST_CLASSES).mean() > 0.9


def test_northern_forest_greener_in_july(catalog):
    s2 = catalog.get("SENTINEL2_L2A")
    july = _ndvi_median(s2, BLACK_FOREST, ["2021-07-01", "2021-08-01"])
    january = _ndvi_median(s2, BLACK_FOREST, ["2021-01-01", "2021-02-01"])
    assert july > january + 0.2, (july, january)


def test_southern_forest_greener_in_january(catalog):
    s2 = catalog.get("SENTINEL2_L2A")
    july = _ndvi_median(s2, CHILE_FOREST, ["2021-07-01", "2021-08-01"])
    january = _ndvi_median(s2, CHILE_FOREST, ["2021-01-01", "2021-02-01"])
    assert january > july + 0.2, (july, january)


def test_open_sea_has_negative_ndvi(catalog):
    s2 = catalog.get("SENTINEL2_L2A")
    cube = s2.load(ATLANTIC, ["2022-05-01", "2022-06-01"], ["B04", "B08", "SCL"])
    scl = cube.sel(bands="SCL").values
    assert (scl == 6).mean() > 0.3  # water where it is clear
    assert set(np.unique(scl)) <= {3, 6, 8, 9, 10}
    assert np.median(_clear_ndvi(cube)) < 0


def test_desert_is_bright_and_bare(catalog):
    s2 = catalog.get("SENTINEL2_L2A")
    cube = s2.load(SAHARA, ["2020-03-01", "2020-04-01"], ["B02", "B03", "B04", "B08", "SCL"]).compute()
    scl = cube.sel(bands="SCL").values
    clear = np.isin(scl, CLEAR)
    red = cube.sel(bands="B04").values[clear] * 0.0001
    assert np.median(red) > 0.25
    assert np.median(_clear_ndvi(cube)) < 0.15
    assert (scl[clear] == 4).mean() < 0.05  # hardly any vegetation pixels


def test_bit_identical_across_runs_and_chunkings(tmp_path):
    aoi = {"west": 11.0, "south": 46.0, "east": 11.03, "north": 46.02}
    args = (aoi, ["2021-06-01", "2021-06-21"], None)
    a = Sentinel2L2A(cache=ChunkCache(tmp_path / "a")).load(*args).values
    again = Sentinel2L2A(cache=ChunkCache(tmp_path / "a")).load(*args).values  # from the disk cache
    other = Sentinel2L2A()
    other.chunk_size = 97  # odd chunks: different chunk origins and edges
    b = other.load(*args)
    assert len(b.chunks[2]) > 1 and len(b.chunks[3]) > 1
    b = b.values
    assert a.dtype == np.uint16 and a.shape == b.shape
    assert np.array_equal(a, b)
    assert np.array_equal(a, again)
    # a sub-window loaded on its own equals the same window of the big load
    sub = Sentinel2L2A().load({"west": 11.01, "south": 46.005, "east": 11.02, "north": 46.015},
                              ["2021-06-01", "2021-06-21"], None)
    full = Sentinel2L2A().load(*args)
    window = full.sel(x=sub.x, y=sub.y).values
    assert np.array_equal(window, sub.values)


def test_scl_marks_clouds_exactly_where_bands_are_cloudy():
    from jupyter_eo.backend.catalog.simulated import place_of_grid

    s2 = Sentinel2L2A()
    grid = s2.make_grid(BLACK_FOREST, None, None)
    days = s2.dates_in(["2021-06-01", "2021-10-01"], place_of_grid(grid))
    cloudy_day = next(d for d in days if 20 < s2.cloud_cover(d, grid) < 70)
    cube = s2.load(BLACK_FOREST, [cloudy_day.isoformat(), None], ["B02", "B08", "SCL"]).isel(t=0).compute()
    scl = cube.sel(bands="SCL").values
    blue = cube.sel(bands="B02").values
    cloud = np.isin(scl, (8, 9))
    clear = np.isin(scl, (4, 5, 6))
    assert cloud.mean() > 0.02 and clear.mean() > 0.02
    assert blue[cloud].min() > blue[clear].max()  # every cloud pixel is brighter than any clear one
    assert (scl == 3).any()  # shadows are classified too
    assert blue[scl == 3].mean() < blue[clear].mean()


def test_property_filter_on_cloud_cover(catalog):
    s2 = catalog.get("SENTINEL2_L2A")
    everything = s2.load(BLACK_FOREST, ["2021-05-01", "2021-09-01"], ["SCL"])
    seen = []
    clear = s2.load(BLACK_FOREST, ["2021-05-01", "2021-09-01"], ["SCL"],
                    property_filter=lambda p: seen.append(p) or p["eo:cloud_cover"] < 10)
    assert 0 < clear.sizes["t"] < everything.sizes["t"]
    assert {"datetime", "eo:cloud_cover", "platform"} <= set(seen[0])
    scl = clear.values
    assert np.isin(scl, (8, 9)).mean(axis=(1, 2, 3)).max() < 0.15


def test_load_is_lazy_with_crs_and_coords(catalog):
    s2 = catalog.get("SENTINEL2_L2A")
    cube = s2.load(BLACK_FOREST, ["2021-01-01", "2022-01-01"], ["B04", "nir"])
    assert cube.dims == ("t", "bands", "y", "x")
    assert list(cube.bands.values) == ["B04", "B08"]
    assert cube.chunks is not None
    assert get_crs(cube).to_epsg() == 32632
    assert cube.attrs["nodata"] == 0
    assert np.all(np.diff(cube.x.values) == 10) and np.all(np.diff(cube.y.values) == -10)
    assert cube.x.values[0] % 10 == 5  # pixel centres on the global 10 m grid
    # Black Forest lies where two relative orbits overlap: S2A and S2B each pass twice per
    # 10-day cycle, so 2021 has 146 acquisition days (the old fixed 5-day calendar had 73)
    assert cube.t.dtype.kind == "M" and cube.sizes["t"] == 146
    coarse = s2.load(BLACK_FOREST, ["2021-01-01", "2021-01-10"], ["B04"], resolution=60)
    assert abs(coarse.sizes["x"] * 6 - cube.sizes["x"]) <= 6
    geo = s2.load(BLACK_FOREST, ["2021-01-01", "2021-01-10"], ["B04"], crs=4326, resolution=0.001)
    assert get_crs(geo).to_epsg() == 4326 and geo.sizes["x"] == 20


def test_bad_requests_give_openeo_errors(catalog):
    s2 = catalog.get("SENTINEL2_L2A")
    with pytest.raises(ProcessParameterInvalid, match="B99"):
        s2.load(BLACK_FOREST, ["2021-01-01", "2021-02-01"], ["B99"])
    with pytest.raises(ProcessParameterInvalid, match="spatial_extent"):
        s2.load(None, ["2021-01-01", "2021-02-01"], ["B04"])
    with pytest.raises(ProcessParameterInvalid):
        s2.load({"west": 9, "south": 48, "east": 8, "north": 49}, None, ["B04"])
    with pytest.raises(OpenEOError) as err:
        s2.load(BLACK_FOREST, ["2021-02-01", "2021-01-01"], ["B04"])
    assert err.value.code == "TemporalExtentEmpty"
    with pytest.raises(CollectionNotFound):
        catalog.get("NOPE")
    with pytest.raises(OpenEOError) as err:
        s2.load(BLACK_FOREST, ["2010-01-01", "2011-01-01"], ["B04"])
    assert err.value.code == "NoDataAvailable" and err.value.status == 400


def test_geojson_extent(catalog):
    s2 = catalog.get("SENTINEL2_L2A")
    poly = {"type": "Polygon", "coordinates": [[[8.2, 48.4], [8.22, 48.4], [8.22, 48.415], [8.2, 48.4]]]}
    a = s2.load(poly, ["2021-01-01", "2021-01-10"], ["B04"])
    b = s2.load(BLACK_FOREST, ["2021-01-01", "2021-01-10"], ["B04"])
    assert a.shape == b.shape


def test_metadata_is_a_valid_stac_collection(catalog):
    doc = catalog.get("SENTINEL2_L2A").metadata()
    coll = pystac.Collection.from_dict(doc)
    assert coll.id == "SENTINEL2_L2A"
    assert "simulated" in doc["description"].lower() and "simulated" in doc["title"].lower()
    dims = doc["cube:dimensions"]
    assert {"x", "y", "t", "bands"} <= set(dims)
    assert dims["x"]["type"] == "spatial" and "step" in dims["x"] and "reference_system" in dims["x"]
    assert dims["t"]["extent"][0].startswith("2017")
    bands = {b["name"]: b for b in doc["summaries"]["eo:bands"]}
    assert {"B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12", "SCL",
            "AOT", "WVP"} <= set(bands)
    assert bands["B04"]["common_name"] == "red" and bands["B08"]["common_name"] == "nir"
    assert bands["B04"]["scale"] == 0.0001 and bands["B04"]["nodata"] == 0
    assert dims["bands"]["values"] == list(bands)
    assert doc["links"] == []
    q = catalog.get("SENTINEL2_L2A").queryables()
    assert q["properties"]["eo:cloud_cover"]["type"] == "number"


def test_atmosphere_bands(catalog):
    s2 = catalog.get("SENTINEL2_L2A")
    amazon = s2.load({"west": -60.0, "south": -3.0, "east": -59.99, "north": -2.99}, ["2021-06-01", "2021-06-10"],
                     ["AOT", "WVP"]).values
    sahara = s2.load(SAHARA, ["2021-06-01", "2021-06-10"], ["WVP"]).values
    assert 20 < amazon[:, 0].mean() < 400  # AOT 0.02 .. 0.4
    assert amazon[:, 1].mean() > 2 * sahara.mean()  # humid tropics vs desert
