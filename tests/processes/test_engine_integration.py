"""Non-cube processes inside real engine callbacks (reduce_dimension/apply_dimension/apply)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from procs_testlib import call_process

import jupyter_eo.backend.engine as engine


def _cube() -> xr.DataArray:
    rng = np.random.default_rng(0)
    values = rng.uniform(0, 1, (5, 3, 4, 6)).astype(np.float32)
    values[rng.random(values.shape) < 0.2] = np.nan
    return xr.DataArray(values, dims=("t", "bands", "y", "x"),
                        coords={"t": pd.date_range("2020-01-01", periods=5),
                                "bands": ["B04", "B08", "B11"], "y": np.arange(4.0),
                                "x": np.arange(6.0)})


def _run(node: dict) -> xr.DataArray:
    graph = {"n": {**node, "result": True}}
    return engine.evaluate(graph, engine.EvalContext(), parameters={"data": _cube()})


def _callback(graph: dict) -> dict:
    return {"process_graph": graph}


def _per_pixel(cube: xr.DataArray, band: int, y: int, x: int) -> list:
    return [None if v != v else v for v in cube.isel(bands=band, y=y, x=x).values.tolist()]


def test_count_with_nested_condition_in_reducer() -> None:
    condition = _callback({"g": {"process_id": "gt", "arguments": {
        "x": {"from_parameter": "x"}, "y": 0.5}, "result": True}})
    reducer = _callback({"c": {"process_id": "count", "arguments": {
        "data": {"from_parameter": "data"}, "condition": condition}, "result": True}})
    out = _run({"process_id": "reduce_dimension", "arguments": {
        "data": {"from_parameter": "data"}, "dimension": "t", "reducer": reducer}})
    cube = _cube()
    assert out.dims == ("bands", "y", "x")
    for band, y, x in [(0, 0, 0), (1, 2, 3), (2, 3, 5)]:
        expected = sum(1 for v in _per_pixel(cube, band, y, x) if v is not None and v > 0.5)
        assert int(out.values[band, y, x]) == expected


def test_interpolate_then_cumsum_in_apply_dimension() -> None:
    process = _callback({
        "i": {"process_id": "array_interpolate_linear", "arguments": {
            "data": {"from_parameter": "data"}}},
        "s": {"process_id": "cumsum", "arguments": {"data": {"from_node": "i"}},
              "result": True}})
    out = _run({"process_id": "apply_dimension", "arguments": {
        "data": {"from_parameter": "data"}, "dimension": "t", "process": process}})
    cube = _cube()
    assert out.dims == cube.dims
    for band, y, x in [(0, 0, 0), (1, 2, 3), (2, 3, 5)]:
        values = _per_pixel(cube, band, y, x)
        expected = call_process("cumsum", {"data": call_process(
            "array_interpolate_linear", {"data": values})})
        got = [None if v != v else v for v in out.isel(bands=band, y=y, x=x).values.tolist()]
        assert [g is None for g in got] == [e is None for e in expected]
        assert [g for g in got if g is not None] == pytest.approx(
            [e for e in expected if e is not None], rel=1e-5)


def test_ndvi_by_labels_and_mask_in_band_reducer() -> None:
    reducer = _callback({
        "r": {"process_id": "array_element", "arguments": {"data": {"from_parameter": "data"},
                                                          "label": "B04"}},
        "n": {"process_id": "array_element", "arguments": {"data": {"from_parameter": "data"},
                                                          "label": "B08"}},
        "d": {"process_id": "normalized_difference", "arguments": {
            "x": {"from_node": "n"}, "y": {"from_node": "r"}}},
        "m": {"process_id": "between", "arguments": {"x": {"from_node": "d"}, "min": -0.5,
                                                      "max": 0.5}},
        "i": {"process_id": "if", "arguments": {"value": {"from_node": "m"},
                                                 "accept": {"from_node": "d"}},
              "result": True}})
    out = _run({"process_id": "reduce_dimension", "arguments": {
        "data": {"from_parameter": "data"}, "dimension": "bands", "reducer": reducer}})
    cube = _cube()
    red, nir = cube.sel(bands="B04").values, cube.sel(bands="B08").values
    nd = (nir - red) / (nir + red)
    expected = np.where((nd >= -0.5) & (nd <= 0.5), nd, np.nan)
    assert out.dims == ("t", "y", "x")
    np.testing.assert_allclose(np.asarray(out.values, dtype=float), expected, rtol=1e-5,
                               equal_nan=True)
