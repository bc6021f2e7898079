"""reduce_spatial, aggregate_spatial_window, flatten/unflatten_dimension and inspect via the engine."""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import jupyter_eo.backend.engine as engine
from jupyter_eo.backend.cube import set_crs
from jupyter_eo.errors import OpenEOError


def _p(name: str) -> dict:
    return {"from_parameter": name}


def _reducer(pid: str, **args) -> dict:
    return {"process_graph": {"r": {"process_id": pid, "arguments": {"data": _p("data"), **args},
                                    "result": True}}}


def _cube(dtype: str = "float64") -> xr.DataArray:
    """(t=2, bands=2, y=5, x=7): value = 1000*t + 100*band + 10*row + col; one no-data pixel."""
    t, b, r, c = np.meshgrid(np.arange(2), np.arange(2), np.arange(5), np.arange(7),
                             indexing="ij")
    values = (1000 * t + 100 * b + 10 * r + c).astype(dtype)
    if values.dtype.kind == "f":
        values[0, 0, 0, 0] = np.nan
    cube = xr.DataArray(values, dims=("t", "bands", "y", "x"),
                        coords={"t": pd.date_range("2020-01-01", periods=2),
                                "bands": ["B04", "B08"],
                                "y": 100.0 - 5 - 10 * np.arange(5),
                                "x": 5.0 + 10 * np.arange(7)})
    return set_crs(cube, "EPSG:32633")


def _run(node: dict, cube: xr.DataArray) -> xr.DataArray:
    return engine.evaluate({"n": {**node, "result": True}}, engine.EvalContext(),
                           parameters={"data": cube})


CUBES = [pytest.param(False, id="numpy"), pytest.param(True, id="dask")]


def _maybe_chunk(cube: xr.DataArray, chunked: bool) -> xr.DataArray:
    return cube.chunk({"t": 1, "bands": 1, "y": 2, "x": 3}) if chunked else cube


# --- reduce_spatial -------------------------------------------------------------------------

@pytest.mark.parametrize("chunked", CUBES)
@pytest.mark.parametrize("pid, numpy_func", [
    ("mean", np.nanmean), ("max", np.nanmax), ("median", np.nanmedian),
    ("sd", lambda v, axis: np.nanstd(v, axis=axis, ddof=1)), ("sum", np.nansum)])
def test_reduce_spatial_matches_numpy(chunked: bool, pid: str, numpy_func) -> None:
    cube = _cube()
    out = _run({"process_id": "reduce_spatial", "arguments": {
        "data": _p("data"), "reducer": _reducer(pid)}}, _maybe_chunk(cube, chunked))
    assert out.dims == ("t", "bands")
    assert (chunked and out.chunks is not None) or not chunked
    want = numpy_func(cube.values.reshape(2, 2, -1), axis=-1)
    np.testing.assert_allclose(out.values, want, rtol=1e-12)
    assert out["bands"].values.tolist() == ["B04", "B08"]
    assert out.rio.crs.to_epsg() == 32633


def test_reduce_spatial_respects_ignore_nodata_false_and_composite_reducers() -> None:
    cube = _cube()
    out = _run({"process_id": "reduce_spatial", "arguments": {
        "data": _p("data"), "reducer": _reducer("mean", ignore_nodata=False)}}, cube)
    assert np.isnan(out.values[0, 0]) and np.isfinite(out.values[1, 1])
    spread = {"process_graph": {
        "hi": {"process_id": "max", "arguments": {"data": _p("data")}},
        "lo": {"process_id": "min", "arguments": {"data": _p("data")}},
        "d": {"process_id": "subtract", "arguments": {"x": {"from_node": "hi"},
                                                      "y": {"from_node": "lo"}},
              "result": True}}}
    out = _run({"process_id": "reduce_spatial", "arguments": {
        "data": _p("data"), "reducer": spread}}, _cube().chunk({"y": 2}))
    np.testing.assert_allclose(out.values, [[46 - 1, 46], [46, 46]])


def test_reduce_spatial_needs_spatial_dimensions() -> None:
    with pytest.raises(OpenEOError) as info:
        _run({"process_id": "reduce_spatial", "arguments": {
            "data": _p("data"), "reducer": _reducer("mean")}}, _cube().isel(x=0, drop=True))
    assert info.value.code == "DimensionNotAvailable"


# --- aggregate_spatial_window ---------------------------------------------------------------

def _window(cube: xr.DataArray, **args) -> xr.DataArray:
    return _run({"process_id": "aggregate_spatial_window", "arguments": {
        "data": _p("data"), "reducer": _reducer("sum"), **args}}, cube)


@pytest.mark.parametrize("chunked", CUBES)
def test_window_pad_upper_left(chunked: bool) -> None:
    cube = _cube()
    out = _window(_maybe_chunk(cube, chunked), size=[3, 2])            # 3 columns x 2 rows
    assert out.dims == cube.dims and out.shape == (2, 2, 3, 3)
    np.testing.assert_allclose(out["y"].values, [90.0, 70.0, 50.0])     # window centres
    np.testing.assert_allclose(out["x"].values, [15.0, 45.0, 75.0])
    v = cube.values[1, 1]
    assert out.values[1, 1, 0, 0] == v[0:2, 0:3].sum()
    assert out.values[1, 1, 2, 2] == v[4, 6]                             # padded: one pixel
    assert out.values[0, 0, 0, 0] == np.nansum(cube.values[0, 0, 0:2, 0:3])
    assert out.rio.crs.to_epsg() == 32633
    assert out.rio.resolution() == pytest.approx((30.0, -20.0))


@pytest.mark.parametrize("align, rows, cols", [
    ("upper-left", slice(0, 4), slice(0, 6)), ("lower-right", slice(1, 5), slice(1, 7)),
    ("upper-right", slice(0, 4), slice(1, 7)), ("lower-left", slice(1, 5), slice(0, 6))])
def test_window_trim_alignments(align: str, rows: slice, cols: slice) -> None:
    cube = _cube()
    out = _window(cube, size=[3, 2], boundary="trim", align=align)
    assert out.shape == (2, 2, 2, 2)
    kept = cube.values[1, 0, rows, cols]
    want = kept.reshape(2, 2, 2, 3).sum(axis=(1, 3))
    np.testing.assert_allclose(out.values[1, 0], want)
    np.testing.assert_allclose(out["y"].values, cube["y"].values[rows].reshape(2, 2).mean(1))
    np.testing.assert_allclose(out["x"].values, cube["x"].values[cols].reshape(2, 3).mean(1))


def test_window_pads_integer_cubes_with_nodata_and_validates_arguments() -> None:
    out = _window(_cube("int32"), size=[2, 2], align="lower-left")       # pad at the top row
    assert out.dtype.kind == "f" and out.shape == (2, 2, 3, 4)
    assert out.values[0, 0, 0, 0] == 0 + 1                               # padded row: row 0 only
    for bad in ({"size": [0, 2]}, {"size": [2]}, {"size": [2, 2], "boundary": "crop"},
                {"size": [2, 2], "align": "centre"}):
        with pytest.raises(OpenEOError):
            _window(_cube(), **bad)


# --- flatten_dimensions / unflatten_dimension -------------------------------------------------

def test_flatten_spec_example_and_round_trip() -> None:
    cube = xr.DataArray([[1, 2], [3, 4]], dims=("A", "B"),
                        coords={"A": [2020, 2021], "B": ["B1", "B2"]})
    flat = _run({"process_id": "flatten_dimensions", "arguments": {
        "data": _p("data"), "dimensions": ["A", "B"], "target_dimension": "X"}}, cube)
    assert flat.dims == ("X",)
    assert flat["X"].values.tolist() == ["2020~B1", "2020~B2", "2021~B1", "2021~B2"]
    assert flat.values.tolist() == [1, 2, 3, 4]
    back = _run({"process_id": "unflatten_dimension", "arguments": {
        "data": _p("data"), "dimension": "X", "target_dimensions": ["A", "B"]}}, flat)
    assert back.dims == ("A", "B") and back.values.tolist() == [[1, 2], [3, 4]]
    assert back["A"].values.tolist() == ["2020", "2021"]


@pytest.mark.parametrize("chunked", CUBES)
def test_flatten_time_and_bands_of_a_cube(chunked: bool) -> None:
    cube = _cube()
    flat = _run({"process_id": "flatten_dimensions", "arguments": {
        "data": _p("data"), "dimensions": ["bands", "t"], "target_dimension": "features",
        "label_separator": "|"}}, _maybe_chunk(cube, chunked))
    assert flat.dims == ("features", "y", "x")
    assert flat["features"].values.tolist()[:2] == ["B04|2020-01-01T00:00:00Z",
                                                    "B04|2020-01-02T00:00:00Z"]
    np.testing.assert_array_equal(flat.values[1], cube.values[1, 0])
    assert flat.rio.crs.to_epsg() == 32633
    back = _run({"process_id": "unflatten_dimension", "arguments": {
        "data": _p("data"), "dimension": "features", "target_dimensions": ["b", "time"],
        "label_separator": "|"}}, flat)
    assert back.dims == ("b", "time", "y", "x")
    np.testing.assert_array_equal(back.values, cube.values.swapaxes(0, 1))


def test_unflatten_fills_missing_combinations_with_nodata() -> None:
    flat = xr.DataArray([1, 2, 3], dims=("X",), coords={"X": ["a~1", "a~2", "b~2"]})
    out = _run({"process_id": "unflatten_dimension", "arguments": {
        "data": _p("data"), "dimension": "X", "target_dimensions": ["L", "N"]}}, flat)
    assert out["L"].values.tolist() == ["a", "b"] and out["N"].values.tolist() == ["1", "2"]
    np.testing.assert_array_equal(out.values, [[1, 2], [np.nan, 3]])


@pytest.mark.parametrize("node, code", [
    ({"process_id": "flatten_dimensions", "arguments": {
        "dimensions": ["t", "nope"], "target_dimension": "z"}}, "DimensionNotAvailable"),
    ({"process_id": "flatten_dimensions", "arguments": {
        "dimensions": ["t", "bands"], "target_dimension": "x"}}, "TargetDimensionExists"),
    ({"process_id": "unflatten_dimension", "arguments": {
        "dimension": "nope", "target_dimensions": ["a", "b"]}}, "DimensionNotAvailable"),
    ({"process_id": "unflatten_dimension", "arguments": {
        "dimension": "bands", "target_dimensions": ["a", "y"]}}, "TargetDimensionExists"),
    ({"process_id": "unflatten_dimension", "arguments": {
        "dimension": "bands", "target_dimensions": ["a", "b"]}}, "ProcessParameterInvalid"),
])
def test_flatten_errors(node: dict, code: str) -> None:
    node["arguments"]["data"] = _p("data")
    with pytest.raises(OpenEOError) as info:
        _run(node, _cube())
    assert info.value.code == code


# --- inspect --------------------------------------------------------------------------------

def test_inspect_logs_a_summary_and_returns_data_unchanged(caplog) -> None:
    cube = _cube().chunk({"t": 1})
    with caplog.at_level(logging.DEBUG, logger="jupyter_eo"):
        out = _run({"process_id": "inspect", "arguments": {
            "data": _p("data"), "message": "before fit", "code": "dbg", "level": "warning"}},
            cube)
    assert out.identical(cube) and out.chunks is not None
    record = next(r for r in caplog.records if r.name.endswith("inspect"))
    assert record.levelno == logging.WARNING
    text = record.getMessage()
    assert text.startswith("[dbg] before fit: ") and '"datacube"' in text
    assert record.openeo_code == "dbg"
    assert record.openeo_data["dimensions"]["bands"] == {"size": 2, "labels": ["B04", "B08"]}


def test_inspect_inside_a_callback_and_plain_values(caplog) -> None:
    graph = {"process_graph": {
        "i": {"process_id": "inspect", "arguments": {"data": _p("x"), "level": "debug"}},
        "m": {"process_id": "multiply", "arguments": {"x": {"from_node": "i"}, "y": 2},
              "result": True}}}
    with caplog.at_level(logging.DEBUG, logger="jupyter_eo"):
        out = _run({"process_id": "apply", "arguments": {"data": _p("data"), "process": graph}},
                   _cube())
        value = engine.evaluate({"i": {"process_id": "inspect", "arguments": {
            "data": [1, 2, None], "message": "list"}, "result": True}}, engine.EvalContext())
    np.testing.assert_allclose(out.values, _cube().values * 2)
    assert value == [1, 2, None]
    messages = [r.getMessage() for r in caplog.records if r.name.endswith("inspect")]
    assert any(m == "[User] list: [1, 2, null]" for m in messages)
    with pytest.raises(OpenEOError):
        engine.evaluate({"i": {"process_id": "inspect", "arguments": {
            "data": 1, "level": "loud"}, "result": True}}, engine.EvalContext())
