"""The official openeo client against the backend: discovery, auth, synchronous downloads."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rioxarray
import xarray as xr

from backend_testlib import BANDS, DATES, PASSWORD, USER, ArrayCollection, make_config


def expected_ndvi_max() -> xr.DataArray:
    cube = ArrayCollection().load(bands=["B04", "B08"]).astype("float64")
    red, nir = cube.sel(bands="B04"), cube.sel(bands="B08")
    return ((nir - red) / (nir + red)).max("t", skipna=True).compute()


def test_connect_and_describe(connection) -> None:
    assert connection.capabilities().api_version() == "1.2.0"
    assert connection.list_collection_ids() == ["TEST_S2"]
    meta = connection.describe_collection("TEST_S2")
    assert meta["cube:dimensions"]["bands"]["values"] == BANDS
    assert [b["name"] for b in meta["summaries"]["eo:bands"]] == BANDS
    assert any(link["rel"] == "self" and link["href"].startswith("http://127.0.0.1:")
               for link in meta["links"])
    assert connection.describe_account()["user_id"] == USER
    processes = {p["id"] for p in connection.list_processes()}
    assert {"load_collection", "ndvi", "reduce_dimension", "save_result"} <= processes
    assert set(connection.list_output_formats()) >= {"GTiff", "netCDF", "PNG", "JSON"}


def test_ndvi_max_gtiff_matches_xarray(connection, tmp_path: Path) -> None:
    cube = connection.load_collection("TEST_S2", bands=["B04", "B08"])
    result = cube.ndvi().reduce_dimension("t", reducer="max")
    path = tmp_path / "ndvi.tif"
    result.download(path, format="GTiff")
    with rioxarray.open_rasterio(path, masked=True) as tif:
        assert tif.rio.crs.to_epsg() == 32631
        assert tuple(tif.rio.transform())[:6] == (10.0, 0.0, 500_000.0, 0.0, -10.0, 5_600_000.0)
        assert tif.shape == (1, 60, 80)
        got = tif.isel(band=0).values
    want = expected_ndvi_max().values
    np.testing.assert_allclose(got, want, rtol=1e-6, equal_nan=True)
    with open(path, "rb") as handle:  # cloud-optimized GeoTIFF layout
        import rasterio

        with rasterio.open(handle) as src:
            assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
            assert src.nodata is not None and np.isnan(src.nodata)


def test_ndvi_max_netcdf_matches_xarray(connection, tmp_path: Path) -> None:
    cube = connection.load_collection("TEST_S2", bands=["B04", "B08"])
    result = cube.ndvi().reduce_dimension("t", reducer="max")
    path = tmp_path / "ndvi.nc"
    result.download(path, format="netCDF")
    with xr.open_dataset(path, decode_coords="all") as ds:
        (name,) = list(ds.data_vars)
        var = ds[name]
        assert var.rio.crs.to_epsg() == 32631
        np.testing.assert_allclose(var.values, expected_ndvi_max().values, rtol=1e-6,
                                   equal_nan=True)
        np.testing.assert_allclose(ds.x.values[:2], [500_005.0, 500_015.0])


def test_multiband_time_series_netcdf_and_band_names(connection, tmp_path: Path) -> None:
    cube = connection.load_collection("TEST_S2", bands=["B02", "B08"],
                                      temporal_extent=["2024-05-01", "2024-05-25"])
    nc = tmp_path / "series.nc"
    cube.download(nc, format="netCDF")
    source = ArrayCollection().load(bands=["B02", "B08"],
                                    temporal_extent=["2024-05-01", "2024-05-25"]).compute()
    with xr.open_dataset(nc, decode_coords="all") as ds:
        assert sorted(ds.data_vars) == ["B02", "B08"]
        assert list(pd.to_datetime(ds.t.values)) == list(DATES[:3])
        assert ds["B08"].rio.crs.to_epsg() == 32631
        np.testing.assert_allclose(ds["B08"].values, source.sel(bands="B08").values,
                                   equal_nan=True)
    tif = tmp_path / "max.tif"
    cube.reduce_dimension("t", reducer="max").download(tif, format="GTiff")
    with rioxarray.open_rasterio(tif) as arr:
        assert tuple(arr.attrs["long_name"]) == ("B02", "B08")
        np.testing.assert_allclose(arr.sel(band=2).values,
                                   source.sel(bands="B08").max("t").values, equal_nan=True)


def test_png_and_json_outputs(connection, tmp_path: Path) -> None:
    cube = connection.load_collection("TEST_S2", bands=["B04", "B08"]).ndvi()
    png = tmp_path / "ndvi.png"
    cube.reduce_dimension("t", reducer="max").save_result(
        "PNG", options={"colormap": "RdYlGn", "min": -1, "max": 1}).download(png)
    from PIL import Image

    with Image.open(png) as img:
        assert img.size == (80, 60) and img.mode == "RGBA"
    value = connection.execute({"m": {"process_id": "add", "arguments": {"x": 2, "y": 3},
                                      "result": True}})
    assert value == 5


def test_basic_auth_rejections(server: str) -> None:
    import openeo
    from openeo.rest import OpenEoApiError

    con = openeo.connect(server)
    with pytest.raises(OpenEoApiError) as err:
        con.authenticate_basic(USER, PASSWORD + "x")
    assert err.value.http_status_code == 403 and err.value.code == "CredentialsInvalid"
    with pytest.raises(OpenEoApiError) as err:
        con.describe_account()
    assert err.value.http_status_code == 401


def test_workspace_files_with_client(connection, tmp_path: Path) -> None:
    source = tmp_path / "aoi.geojson"
    source.write_text('{"type": "FeatureCollection", "features": []}')
    uploaded = connection.upload_file(source, target="inputs/aoi.geojson")
    assert uploaded.path.as_posix() == "inputs/aoi.geojson"
    assert [f.path.as_posix() for f in connection.list_files()] == ["inputs/aoi.geojson"]
    back = connection.get_file("inputs/aoi.geojson").download(tmp_path / "back.geojson")
    assert back.read_text() == source.read_text()
    connection.get_file("inputs/aoi.geojson").delete()
    assert connection.list_files() == []


def test_time_series_json_and_geojson(connection, tmp_path: Path) -> None:
    # a polygon around the whole test area: the mean covers every pixel
    geom = {"type": "Polygon", "coordinates": [[[2.99, 50.53], [3.02, 50.53], [3.02, 50.56],
                                                [2.99, 50.56], [2.99, 50.53]]]}
    cube = connection.load_collection("TEST_S2", bands=["B04", "B08"]).aggregate_spatial(
        geom, "mean")
    table = cube.execute()
    assert table["dims"] == ["geometry", "t", "bands"]
    assert table["coords"]["bands"] == ["B04", "B08"] and len(table["coords"]["t"]) == 4
    want = ArrayCollection().load(bands=["B04", "B08"]).astype("float64").mean(["x", "y"])
    np.testing.assert_allclose(np.array(table["data"][0], dtype=float), want.values, rtol=1e-5)
    path = tmp_path / "ts.geojson"
    cube.download(path, format="GeoJSON")
    import json

    features = json.loads(path.read_text())["features"]
    assert len(features) == 1 and features[0]["geometry"]["type"] == "Polygon"


def test_dask_cluster_computes_results(data_dir: Path, tmp_path: Path) -> None:
    import openeo
    from distributed import LocalCluster

    from jupyter_eo.backend.testing import serve_in_thread

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address=None) as cluster:
        config = make_config(data_dir, dask_address=cluster.scheduler_address)
        with serve_in_thread(config) as url:
            con = openeo.connect(url)
            con.authenticate_basic(USER, PASSWORD)
            path = tmp_path / "dask.tif"
            con.load_collection("TEST_S2", bands=["B04", "B08"]).ndvi() \
                .reduce_dimension("t", reducer="max").download(path, format="GTiff")
            with cluster.get_client() as client:
                assert client.run_on_scheduler(
                    lambda dask_scheduler: len(dask_scheduler.task_prefixes)) > 0
    with rioxarray.open_rasterio(path, masked=True) as tif:
        np.testing.assert_allclose(tif.isel(band=0).values, expected_ndvi_max().values,
                                   rtol=1e-6, equal_nan=True)
