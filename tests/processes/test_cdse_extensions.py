"""Backend-specific processes of CDSE, simulated (issue 20.6): to_scl_dilation_mask, sar_backscatter."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import jupyter_eo.backend.engine as engine
from jupyter_eo.backend.cube import set_crs
from jupyter_eo.errors import OpenEOError


def _scl_cube() -> xr.DataArray:
    scl = np.full((1, 2, 41, 41), 4.0, dtype=np.float32)  # vegetation everywhere
    scl[0, 1, 20, 20] = 9  # one cloud pixel in the middle
    scl[0, 1, 0, 40] = 0  # one no-data class pixel in a corner
    scl[0, 0] = 1000  # a reflectance band
    cube = xr.DataArray(scl, dims=("t", "bands", "y", "x"),
                        coords={"t": pd.date_range("2023-06-01", periods=1),
                                "bands": ["B04", "SCL"], "y": 5_600_000.0 - 10 * np.arange(41),
                                "x": 500_000.0 + 10 * np.arange(41)})
    return set_crs(cube, "EPSG:32631").chunk({"y": 16, "x": 16})


def _run(node: dict, data: xr.DataArray):
    return engine.evaluate({"n": {**node, "result": True}}, engine.EvalContext(),
                           parameters={"data": data})


def test_to_scl_dilation_mask_dilates_clouds_with_a_disk() -> None:
    out = _run({"process_id": "to_scl_dilation_mask", "arguments": {
        "data": {"from_parameter": "data"}, "kernel1_size": 3, "kernel2_size": 11}},
        _scl_cube()).compute()
    assert out.dims == ("t", "bands", "y", "x") and list(out["bands"].values) == ["mask"]
    assert out.dtype == np.uint8
    m = out.values[0, 0]
    yy, xx = np.mgrid[0:41, 0:41]
    cloud_disk = (yy - 20) ** 2 + (xx - 20) ** 2 <= 25  # radius 5 around the cloud
    corner = (yy - 0) ** 2 + (xx - 40) ** 2 <= 1  # radius 1 around the no-data class pixel
    np.testing.assert_array_equal(m.astype(bool), cloud_disk | corner)
    # the map_overlap over 16 px chunks gives the same as one block
    whole = _run({"process_id": "to_scl_dilation_mask", "arguments": {
        "data": {"from_parameter": "data"}, "kernel1_size": 3, "kernel2_size": 11}},
        _scl_cube().compute()).values
    np.testing.assert_array_equal(whole, out.values)


def test_to_scl_dilation_mask_erosion_removes_single_pixels_and_checks_sizes() -> None:
    out = _run({"process_id": "to_scl_dilation_mask", "arguments": {
        "data": {"from_parameter": "data"}, "erosion_kernel_size": 3}}, _scl_cube()).compute()
    assert int(out.sum()) == 0  # the isolated cloud and no-data pixels are eroded away
    with pytest.raises(OpenEOError):
        _run({"process_id": "to_scl_dilation_mask", "arguments": {
            "data": {"from_parameter": "data"}, "kernel2_size": 100_000}}, _scl_cube())


def _grd() -> xr.DataArray:
    values = np.full((1, 2, 3, 4), 0.1, dtype=np.float32)
    cube = xr.DataArray(values, dims=("t", "bands", "y", "x"),
                        coords={"t": pd.date_range("2023-06-01", periods=1),
                                "bands": ["VV", "VH"], "y": [5_600_000.0, 5_599_990.0, 5_599_980.0],
                                "x": [250_000.0, 312_500.0, 375_000.0, 437_500.0]})
    return set_crs(cube, "EPSG:32631")


@pytest.mark.parametrize("coefficient,func", [
    ("sigma0-ellipsoid", lambda s, th: s), ("sigma0-terrain", lambda s, th: s),
    ("gamma0-terrain", lambda s, th: s / np.cos(th)), ("beta0", lambda s, th: s / np.sin(th))])
def test_sar_backscatter_coefficients(coefficient: str, func) -> None:
    out = _run({"process_id": "sar_backscatter", "arguments": {
        "data": {"from_parameter": "data"}, "coefficient": coefficient,
        "local_incidence_angle": True}}, _grd())
    assert list(out["bands"].values) == ["VV", "VH", "local_incidence_angle"]
    angle = out.sel(bands="local_incidence_angle").values[0, 0]
    np.testing.assert_allclose(angle, [29.1, 33.325, 37.55, 41.775], rtol=1e-5)
    theta = np.radians(angle.astype(np.float32))
    np.testing.assert_allclose(out.sel(bands="VV").values[0, 0],
                               func(np.float32(0.1), theta), rtol=1e-5)
    assert out.dtype == np.float32


def test_sar_backscatter_refuses_optical_bands() -> None:
    with pytest.raises(Exception) as err:
        _run({"process_id": "sar_backscatter", "arguments": {
            "data": {"from_parameter": "data"}}}, _scl_cube())
    assert "VV" in str(err.value)
