"""User data directory: GeoTIFF, folder of dated GeoTIFFs, NetCDF and Zarr become collections."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pystac
import pytest
import rasterio
import xarray as xr
from rasterio.transform import from_origin

from jupyter_eo.backend.catalog import default_catalog
from jupyter_eo.backend.catalog.files import date_from_name
from jupyter_eo.errors import ProcessParameterInvalid


def _write_tif(path, data, *, crs="EPSG:32632", origin=(500000, 5300000), res=10, nodata=0, descriptions=None):
    data = np.asarray(data)
    count, h, w = data.shape
    with rasterio.open(path, "w", driver="GTiff", width=w, height=h, count=count, dtype=data.dtype,
                       crs=crs, transform=from_origin(origin[0], origin[1], res, res), nodata=nodata) as dst:
        dst.write(data)
        for i, d in enumerate(descriptions or []):
            dst.set_band_description(i + 1, d)


@pytest.fixture
def data_dir(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    rng = np.random.default_rng(1)
    _write_tif(d / "field_2021-06-01.tif", rng.integers(1, 1000, (2, 40, 50), dtype=np.uint16),
               descriptions=["red", "nir"])
    series = d / "ndvi_series"
    series.mkdir()
    for k, day in enumerate(["20210101", "20210201", "20210301"]):
        _write_tif(series / f"ndvi_{day}.tif", np.full((1, 20, 20), k + 1, np.int16), nodata=-1)
    times = pd.date_range("2020-01-01", periods=3, freq="MS")
    ds = xr.Dataset({"temp": (("time", "lat", "lon"), np.arange(3 * 4 * 5, dtype="float32").reshape(3, 4, 5))},
                    coords={"time": times, "lat": [50.5, 50.25, 50.0, 49.75], "lon": [8.0, 8.25, 8.5, 8.75, 9.0]})
    ds.to_netcdf(d / "climate.nc")
    ds.to_zarr(d / "store.zarr")
    (d / "broken.tif").write_bytes(b"not a tiff")
    return d


def test_user_files_become_collections(data_dir, cache_dir):
    cat = default_catalog(data_dir=data_dir, cache_dir=cache_dir)
    ids = cat.ids()
    assert {"field_2021-06-01", "ndvi_series", "climate", "store"} <= set(ids)
    assert "broken" not in ids
    for cid in ("field_2021-06-01", "ndvi_series", "climate", "store"):
        doc = cat.get(cid).metadata()
        pystac.Collection.from_dict(doc)
        assert doc["cube:dimensions"]["bands"]["values"]


def test_geotiff_collection_loads(data_dir, cache_dir):
    cat = default_catalog(data_dir=data_dir, cache_dir=cache_dir)
    coll = cat.get("field_2021-06-01")
    doc = coll.metadata()
    assert [b["name"] for b in doc["summaries"]["eo:bands"]] == ["red", "nir"]
    assert doc["cube:dimensions"]["x"]["reference_system"] == 32632
    assert doc["extent"]["temporal"]["interval"][0][0].startswith("2021-06-01")
    cube = coll.load(None, None, ["nir"])
    with rasterio.open(data_dir / "field_2021-06-01.tif") as src:
        assert np.array_equal(cube.values[0, 0], src.read(2))
    aoi = {"west": 500100, "south": 5299700, "east": 500300, "north": 5299900, "crs": 32632}
    sub = coll.load(aoi, ["2021-01-01", "2022-01-01"], ["red"])
    assert sub.shape == (1, 1, 20, 20)
    assert sub.x.values[0] == 500105.0


def test_folder_of_dated_tiffs(data_dir, cache_dir):
    coll = default_catalog(data_dir=data_dir, cache_dir=cache_dir).get("ndvi_series")
    cube = coll.load(None, ["2021-01-15", None], None)
    assert list(cube.t.dt.month.values) == [2, 3]
    assert cube.values[:, 0, 5, 5].tolist() == [2, 3]
    assert coll.metadata()["cube:dimensions"]["t"]["extent"][0].startswith("2021-01-01")


def test_netcdf_and_zarr(data_dir, cache_dir):
    cat = default_catalog(data_dir=data_dir, cache_dir=cache_dir)
    for cid in ("climate", "store"):
        coll = cat.get(cid)
        cube = coll.load({"west": 8.1, "south": 49.9, "east": 8.6, "north": 50.3}, ["2020-02-01", None], ["temp"])
        assert cube.dims == ("t", "bands", "y", "x")
        assert cube.sizes["t"] == 2 and cube.sizes["x"] == 2 and cube.sizes["y"] == 2
        assert cube.rio.crs.to_epsg() == 4326
        with pytest.raises(ProcessParameterInvalid):
            coll.load(None, None, ["nope"])


def test_date_from_name():
    assert date_from_name("S2_20210304_x.tif").date().isoformat() == "2021-03-04"
    assert date_from_name("a_2020-12-31.tif").date().isoformat() == "2020-12-31"
    assert date_from_name("nodate.tif") is None
