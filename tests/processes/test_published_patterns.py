"""Patterns of published openEO UDPs (issue 20) as minimal graphs run by the real engine."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import jupyter_eo.backend.engine as engine
from jupyter_eo.errors import PayloadTooLarge


def _cube() -> xr.DataArray:
    rng = np.random.default_rng(1)
    values = rng.uniform(0, 1, (2, 3, 4, 5)).astype(np.float32)
    values[0, 1, 0, 0] = np.nan
    return xr.DataArray(values, dims=("t", "bands", "y", "x"),
                        coords={"t": pd.date_range("2021-06-01", periods=2),
                                "bands": ["B04", "B08", "B11"], "y": np.arange(4.0),
                                "x": np.arange(5.0)})


def _run(node: dict) -> xr.DataArray:
    out = engine.evaluate({"n": {**node, "result": True}}, engine.EvalContext(),
                          parameters={"data": _cube()})
    return out.compute()


def _element(index: int) -> dict:
    return {"process_id": "array_element",
            "arguments": {"data": {"from_parameter": "data"}, "index": index}}


def _gt(node: str, threshold: float) -> dict:
    return {"process_id": "gt", "arguments": {"x": {"from_node": node}, "y": threshold}}


def _apply_bands(graph: dict) -> dict:
    return {"process_id": "apply_dimension", "arguments": {
        "data": {"from_parameter": "data"}, "dimension": "bands",
        "process": {"process_graph": graph}}}


def _reduce_bands(graph: dict) -> dict:
    return {"process_id": "reduce_dimension", "arguments": {
        "data": {"from_parameter": "data"}, "dimension": "bands",
        "reducer": {"process_graph": graph}}}


def test_apply_dimension_returns_array_create_of_band_values() -> None:
    out = _run(_apply_bands({
        "a": _element(0), "b": _element(1),
        "c": {"process_id": "array_create",
              "arguments": {"data": [{"from_node": "b"}, {"from_node": "a"}, 2.5]},
              "result": True}}))
    cube = _cube()
    assert out.dims == ("t", "bands", "y", "x")
    assert out.sizes["bands"] == 3
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.isel(bands=0).values, cube.isel(bands=1).values)
    np.testing.assert_array_equal(out.isel(bands=1).values, cube.isel(bands=0).values)
    assert (out.isel(bands=2).values == np.float32(2.5)).all()


def test_if_with_array_accept_and_reject() -> None:
    out = _run(_apply_bands({
        "a": _element(0), "g": _gt("a", 0.5),
        "i": {"process_id": "if", "arguments": {"value": {"from_node": "g"},
                                                "accept": [1, 2, 3], "reject": [4, 5, 6]},
              "result": True}}))
    cube = _cube()
    assert out.dims == ("t", "bands", "y", "x") and out.sizes["bands"] == 3
    high = (cube.isel(bands=0) > 0.5).values
    for k in range(3):
        np.testing.assert_array_equal(out.isel(bands=k).values,
                                      np.where(high, k + 1, k + 4))


def test_if_with_the_band_array_or_a_constant_array() -> None:
    out = _run(_apply_bands({
        "a": _element(0), "g": _gt("a", 0.5),
        "i": {"process_id": "if", "arguments": {"value": {"from_node": "g"},
                                                "accept": {"from_parameter": "data"},
                                                "reject": [0, 0, 0]}, "result": True}}))
    cube = _cube()
    high = (cube.isel(bands=0) > 0.5).values
    assert out.dtype == np.float32
    for k in range(3):
        expected = np.where(high, cube.isel(bands=k).values, 0)
        np.testing.assert_array_equal(out.isel(bands=k).values, expected)
    # the band labels survive (same count as the input)
    assert list(out["bands"].values) == ["B04", "B08", "B11"]


@pytest.mark.parametrize("reducer", ["any", "all"])
def test_logical_reducer_over_array_create_of_conditions(reducer: str) -> None:
    out = _run(_reduce_bands({
        "a": _element(0), "b": _element(2), "ga": _gt("a", 0.5), "gb": _gt("b", 0.3),
        "c": {"process_id": "array_create",
              "arguments": {"data": [{"from_node": "ga"}, {"from_node": "gb"}]}},
        "r": {"process_id": reducer, "arguments": {"data": {"from_node": "c"}},
              "result": True}}))
    cube = _cube()
    ga, gb = cube.isel(bands=0).values > 0.5, cube.isel(bands=2).values > 0.3
    expected = (ga | gb) if reducer == "any" else (ga & gb)
    assert out.dims == ("t", "y", "x")
    # gt on float data gives the engine's nullable boolean (float32 1/0/NaN); so does any/all
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.values, expected.astype(np.float32))


@pytest.mark.parametrize("reducer", ["max", "min", "sum", "mean"])
def test_numeric_reducer_over_array_create_of_band_values(reducer: str) -> None:
    out = _run(_reduce_bands({
        "a": _element(0), "b": _element(1),
        "c": {"process_id": "array_create",
              "arguments": {"data": [{"from_node": "a"}, {"from_node": "b"}]}},
        "r": {"process_id": reducer, "arguments": {"data": {"from_node": "c"}},
              "result": True}}))
    cube = _cube()
    stack = np.stack([cube.isel(bands=0).values, cube.isel(bands=1).values])
    fn = {"max": np.nanmax, "min": np.nanmin, "sum": np.nansum, "mean": np.nanmean}[reducer]
    assert out.dims == ("t", "y", "x")
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.values, fn(stack, axis=0), rtol=1e-6)


SAVING_UDP = {
    "id": "scaled_saved",
    "parameters": [{"name": "data", "description": "cube", "schema": {"type": "object"}},
                   {"name": "factor", "description": "factor", "schema": {"type": "number"},
                    "optional": True, "default": 2}],
    "process_graph": {
        "m": {"process_id": "apply", "arguments": {
            "data": {"from_parameter": "data"},
            "process": {"process_graph": {"x": {"process_id": "multiply", "arguments": {
                "x": {"from_parameter": "x"}, "y": {"from_parameter": "factor"}},
                "result": True}}}}},
        "s": {"process_id": "save_result", "arguments": {
            "data": {"from_node": "m"}, "format": "netCDF"}, "result": True}},
}


def _udp_context() -> engine.EvalContext:
    return engine.EvalContext(udp_resolver=lambda pid, ns: SAVING_UDP
                              if pid == "scaled_saved" else None)


def test_udp_ending_in_save_result_feeds_a_later_save_result() -> None:
    graph = {
        "u": {"process_id": "scaled_saved", "namespace": "user",
              "arguments": {"data": {"from_parameter": "data"}}},
        "s": {"process_id": "save_result", "arguments": {"data": {"from_node": "u"},
                                                         "format": "GTiff"}, "result": True}}
    out = engine.evaluate(graph, _udp_context(), parameters={"data": _cube()})
    assert isinstance(out, engine.SaveResult)
    assert out.format == "GTiff"  # the outer graph's choice wins
    assert out.data.dtype == np.float32
    np.testing.assert_array_equal(out.data.values, (_cube() * np.float32(2)).values)


def test_udp_ending_in_save_result_then_processed_without_a_save() -> None:
    graph = {
        "u": {"process_id": "scaled_saved", "namespace": "user",
              "arguments": {"data": {"from_parameter": "data"}, "factor": 3}},
        "r": {"process_id": "reduce_dimension", "arguments": {
            "data": {"from_node": "u"}, "dimension": "t",
            "reducer": {"process_graph": {"m": {"process_id": "max", "arguments": {
                "data": {"from_parameter": "data"}}, "result": True}}}}, "result": True}}
    out = engine.evaluate(graph, _udp_context(), parameters={"data": _cube()})
    assert not isinstance(out, engine.SaveResult)  # the consumed save is a pass-through
    np.testing.assert_allclose(out.values, (_cube() * 3).max("t").values, rtol=1e-6)


def test_udp_ending_in_save_result_as_the_result_keeps_its_format() -> None:
    graph = {"u": {"process_id": "scaled_saved", "namespace": "user",
                   "arguments": {"data": {"from_parameter": "data"}}, "result": True}}
    out = engine.evaluate(graph, _udp_context(), parameters={"data": _cube()})
    assert isinstance(out, engine.SaveResult) and out.format == "netCDF"


class _WorldCollection:
    """A 'world-wide' collection: loading without an extent is refused, extents are recorded."""

    def __init__(self) -> None:
        self.extents: list = []

    def metadata(self) -> dict:
        return {"id": "WORLD", "summaries": {"eo:bands": [{"name": "B04"}, {"name": "B08"}]}}

    def load(self, spatial_extent, temporal_extent, bands, accept, **_kw) -> xr.DataArray:
        from jupyter_eo.backend.cube import set_crs

        self.extents.append(spatial_extent)
        if spatial_extent is None:
            raise PayloadTooLarge("this test collection refuses to load the whole world")
        cube = _cube().sel(bands=["B04", "B08"])
        cube = cube.assign_coords(x=5.0 + 0.01 * np.arange(5), y=51.0 - 0.01 * np.arange(4))
        return set_crs(cube, "EPSG:4326")


class _WorldCatalog:
    def __init__(self) -> None:
        self.collection = _WorldCollection()

    def get(self, collection_id: str) -> _WorldCollection:
        return self.collection


SQUARE = {"type": "Polygon", "coordinates": [[[5.0, 50.97], [5.03, 50.97], [5.03, 51.0],
                                              [5.0, 51.0], [5.0, 50.97]]]}


@pytest.mark.parametrize("later", ["filter_bbox", "filter_spatial", "aggregate_spatial"])
def test_load_without_spatial_extent_takes_it_from_a_later_filter(later: str) -> None:
    load = {"process_id": "load_collection", "arguments": {
        "id": "WORLD", "spatial_extent": None, "temporal_extent": ["2021-06-01", "2021-06-03"],
        "bands": ["B04"]}}
    if later == "filter_bbox":
        second = {"process_id": "filter_bbox", "arguments": {
            "data": {"from_node": "l"}, "extent": {"from_parameter": "box"}}, "result": True}
    elif later == "filter_spatial":
        second = {"process_id": "filter_spatial", "arguments": {
            "data": {"from_node": "l"}, "geometries": {"from_parameter": "geometry"}},
            "result": True}
    else:
        second = {"process_id": "aggregate_spatial", "arguments": {
            "data": {"from_node": "l"}, "geometries": {"from_parameter": "geometry"},
            "reducer": {"process_graph": {"m": {"process_id": "mean", "arguments": {
                "data": {"from_parameter": "data"}}, "result": True}}}}, "result": True}
    catalog = _WorldCatalog()
    box = {"west": 5.0, "south": 50.97, "east": 5.03, "north": 51.0}
    out = engine.evaluate({"l": load, "f": second}, engine.EvalContext(catalog=catalog),
                          parameters={"box": box, "geometry": SQUARE})
    engine.materialize(out)
    (extent,) = catalog.collection.extents
    assert extent is not None
    assert (extent["west"], extent["south"], extent["east"], extent["north"]) == \
        pytest.approx((5.0, 50.97, 5.03, 51.0))


def test_no_push_down_when_a_path_skips_the_filter() -> None:
    graph = {
        "l": {"process_id": "load_collection", "arguments": {
            "id": "WORLD", "spatial_extent": None, "temporal_extent": None}},
        "f": {"process_id": "filter_bbox", "arguments": {
            "data": {"from_node": "l"},
            "extent": {"west": 5.0, "south": 50.97, "east": 5.03, "north": 51.0}}},
        "m": {"process_id": "merge_cubes", "arguments": {
            "cube1": {"from_node": "f"}, "cube2": {"from_node": "l"}}, "result": True}}
    from jupyter_eo.backend.engine.pushdown import push_down_spatial_extents

    assert push_down_spatial_extents(graph, {}) is graph  # the unfiltered path needs it all


@pytest.mark.parametrize("condition", ["gt", "eq", "if"])
def test_conditions_keep_the_crs(condition: str) -> None:
    """Issue 20.4: comparisons and if() inside a band reducer lost spatial_ref's CRS (xarray's
    where(keep_attrs=True) copies the attributes of a number onto every coordinate), so the
    GTiff had a transform but no CRS."""
    from jupyter_eo.backend.cube import get_crs, set_crs

    cube = set_crs(_cube(), "EPSG:32631")
    test = {"process_id": "eq" if condition == "eq" else "gt",
            "arguments": {"x": {"from_node": "a"}, "y": 0.5}}
    graph = {"a": _element(0), "c": {**test, "result": condition != "if"}}
    if condition == "if":
        graph["i"] = {"process_id": "if", "arguments": {"value": {"from_node": "c"},
                                                        "accept": 1, "reject": 0},
                      "result": True}
    out = engine.evaluate({"n": {**_reduce_bands(graph), "result": True}}, engine.EvalContext(),
                          parameters={"data": cube})
    assert get_crs(out) is not None and get_crs(out).to_epsg() == 32631
