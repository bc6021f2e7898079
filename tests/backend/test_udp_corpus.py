"""Published-style UDPs stored on the embedded backend and called with the official client."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import rioxarray
import xarray as xr

from backend_testlib import ArrayCollection

BBOX = {"west": 500_100.0, "south": 5_599_600.0, "east": 500_500.0, "north": 5_599_900.0,
        "crs": 32631}
DATES = ["2024-05-05", "2024-05-30"]

NDVI_SAVED = {
    "parameters": [
        {"name": "bbox", "description": "Area", "schema": {"type": "object",
                                                           "subtype": "bounding-box"}},
        {"name": "dates", "description": "Interval",
         "schema": {"type": "array", "subtype": "temporal-interval"}},
        {"name": "out_format", "description": "format", "schema": {"type": "string"},
         "optional": True, "default": "netCDF"}],
    "process_graph": {
        "l": {"process_id": "load_collection", "arguments": {
            "id": "TEST_S2", "spatial_extent": {"from_parameter": "bbox"},
            "temporal_extent": {"from_parameter": "dates"}, "bands": ["B04", "B08"]}},
        "n": {"process_id": "ndvi", "arguments": {"data": {"from_node": "l"}}},
        "s": {"process_id": "save_result", "arguments": {
            "data": {"from_node": "n"}, "format": {"from_parameter": "out_format"}},
            "result": True}},
}


def _expected_ndvi() -> xr.DataArray:
    source = ArrayCollection().load(BBOX, DATES, ["B04", "B08"])
    red, nir = source.sel(bands="B04"), source.sel(bands="B08")
    return ((nir - red) / (nir + red)).compute()


def test_saving_udp_used_by_datacube_from_process_then_download(connection,
                                                                 tmp_path: Path) -> None:
    connection.save_user_defined_process("ndvi_saved", NDVI_SAVED["process_graph"],
                                         parameters=NDVI_SAVED["parameters"])
    cube = connection.datacube_from_process("ndvi_saved", namespace="user", bbox=BBOX,
                                            dates=DATES)
    path = tmp_path / "ndvi.tif"
    cube.reduce_dimension("t", reducer="max").download(path, format="GTiff")
    want = _expected_ndvi().max("t", skipna=True)
    with rioxarray.open_rasterio(path, masked=True) as tif:
        assert tif.rio.crs is not None and tif.rio.crs.to_epsg() == 32631
        assert tif.shape[1:] == want.shape
        assert tif.dtype == want.dtype
        np.testing.assert_allclose(tif.isel(band=0).values, want.values, rtol=1e-6,
                                   equal_nan=True)


def test_load_without_extent_then_filter_bbox_is_pushed_down(tmp_path: Path) -> None:
    """A UDP loads with spatial_extent null and filters later; the load gets the filter's box
    (the whole collection is over this backend's max_pixels, the filtered area is not)."""
    import openeo

    from backend_testlib import PASSWORD, USER, make_config
    from jupyter_eo.backend.limits import Limits
    from jupyter_eo.backend.testing import serve_in_thread

    limits = Limits(max_body_bytes=2 * 1024 * 1024, sync_timeout_s=60, max_pixels=15_000)
    graph = {
        "l": {"process_id": "load_collection", "arguments": {
            "id": "TEST_S2", "spatial_extent": None, "temporal_extent": DATES,
            "bands": ["B04", "B08"]}},
        "f": {"process_id": "filter_bbox", "arguments": {
            "data": {"from_node": "l"}, "extent": {"from_parameter": "bbox"}}},
        "s": {"process_id": "save_result", "arguments": {"data": {"from_node": "f"},
                                                         "format": "netCDF"}, "result": True}}
    with serve_in_thread(make_config(tmp_path / "state", limits=limits)) as url:
        con = openeo.connect(url)
        con.authenticate_basic(USER, PASSWORD)
        con.save_user_defined_process("late_bbox", graph, parameters=[
            {"name": "bbox", "description": "area", "schema": {"type": "object"}}])
        literal = {"f": {**graph["f"], "arguments": {**graph["f"]["arguments"],
                                                     "extent": BBOX}}}
        path = tmp_path / "late.nc"
        con.download({**graph, **literal}, path)  # top-level graph, literal extent
        with xr.open_dataset(path) as ds:
            assert ds.sizes["x"] == 40 and ds.sizes["y"] == 30
        path = tmp_path / "late_udp.tif"
        con.datacube_from_process("late_bbox", namespace="user", bbox=BBOX) \
            .download(path, format="GTiff")
        want = ArrayCollection().load(BBOX, DATES, ["B04", "B08"])
        with rioxarray.open_rasterio(path, masked=True) as tif:
            assert tif.shape == (want.sizes["t"] * 2, 30, 40)
            assert tif.rio.crs.to_epsg() == 32631
