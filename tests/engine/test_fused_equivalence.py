"""The fused block path and the general xarray path give the same results."""
from __future__ import annotations

import numpy as np
import pytest

from jupyter_eo.backend.engine import evaluate, materialize
from jupyter_eo.backend.engine import plan as plan_module

from .graphs import NDVI_CALLBACK, load, param, reducer, ref


def _run(graph, ctx, fused: bool):
    old = plan_module.FUSION_ENABLED
    plan_module.FUSION_ENABLED = fused
    try:
        value = evaluate(graph, ctx)
        return materialize(value, ctx)
    finally:
        plan_module.FUSION_ENABLED = old


def _both(graph, ctx):
    a, b = _run(graph, ctx, True), _run(graph, ctx, False)
    assert a.dims == b.dims
    for dim in a.dims:
        if dim in a.coords:
            np.testing.assert_array_equal(a[dim].values, b[dim].values)
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    np.testing.assert_array_equal(a.values, b.values, strict=True)  # no cast, no tolerance
    return a


def _graph(*nodes):
    g = {"load": load(["B02", "B04", "B08"])}
    prev = "load"
    for i, (pid, args) in enumerate(nodes):
        nid = f"n{i}"
        g[nid] = {"process_id": pid, "arguments": {"data": ref(prev), **args}}
        prev = nid
    g[prev]["result"] = True
    return g


@pytest.mark.parametrize("name", ["max", "min", "sum", "mean", "count", "median", "first",
                                  "last", "sd", "variance", "product"])
def test_temporal_reducers(ctx, name):
    graph = _graph(("reduce_dimension", {"dimension": "bands", "reducer": NDVI_CALLBACK}),
                   ("reduce_dimension", {"dimension": "t", "reducer": reducer(name)}))
    out = _both(graph, ctx)
    assert out.dims == ("y", "x")


@pytest.mark.parametrize("ignore", [True, False])
def test_reducers_ignore_nodata(ctx, ignore):
    graph = _graph(("reduce_dimension", {"dimension": "t",
                                         "reducer": reducer("mean", ignore_nodata=ignore)}))
    out = _both(graph, ctx)
    assert out.dims == ("bands", "y", "x")
    assert np.isnan(out.values[0, 1, 1]) == (not ignore)


def test_band_reducer_and_apply_chain(ctx):
    apply_cb = {"process_graph": {
        "m": {"process_id": "multiply", "arguments": {"x": param("x"), "y": 2.5}},
        "l": {"process_id": "linear_scale_range", "arguments": {
            "x": ref("m"), "inputMin": -2, "inputMax": 2, "outputMin": 0, "outputMax": 255}},
        "c": {"process_id": "clip", "arguments": {"x": ref("l"), "min": 10, "max": 200},
              "result": True}}}
    mean_cb = reducer("mean")
    graph = _graph(("apply", {"process": {"process_graph": {"s": {
        "process_id": "sqrt", "arguments": {"x": param("x")}, "result": True}}}}),
                   ("reduce_dimension", {"dimension": "bands", "reducer": mean_cb}),
                   ("reduce_dimension", {"dimension": "t", "reducer": reducer("max")}),
                   ("apply", {"process": apply_cb}))
    _both(graph, ctx)


def test_filters_then_ndvi(ctx):
    graph = _graph(("filter_temporal", {"extent": ["2021-06-06", "2021-06-20"]}),
                   ("filter_bbox", {"extent": {"west": 400_050, "east": 400_200,
                                               "south": 4_999_700, "north": 4_999_900,
                                               "crs": 32633}}),
                   ("ndvi", {}),
                   ("reduce_dimension", {"dimension": "t", "reducer": reducer("median")}))
    out = _both(graph, ctx)
    assert dict(out.sizes) == {"y": 20, "x": 15}


def test_general_only_process_after_fused(ctx):
    graph = _graph(("reduce_dimension", {"dimension": "bands", "reducer": NDVI_CALLBACK}),
                   ("apply", {"process": {"process_graph": {"g": {
                       "process_id": "gt", "arguments": {"x": param("x"), "y": 0.1},
                       "result": True}}}}))
    _both(graph, ctx)


def test_fused_graph_is_one_task_per_block(ctx):
    graph = _graph(("reduce_dimension", {"dimension": "bands", "reducer": NDVI_CALLBACK}),
                   ("reduce_dimension", {"dimension": "t", "reducer": reducer("max")}))
    out = evaluate(graph, ctx)
    layers = out.data.__dask_graph__()
    tasks = [k for k in dict(layers) if isinstance(k, tuple)]
    assert len(tasks) == out.data.npartitions  # no per-operation tasks


def test_dask_backed_source(catalog, ctx):
    from .conftest import FakeCollection, make_cube

    catalog.collections["S2"] = FakeCollection(make_cube(chunks={"t": 1, "y": 16, "x": 25}))
    graph = _graph(("reduce_dimension", {"dimension": "bands", "reducer": NDVI_CALLBACK}),
                   ("reduce_dimension", {"dimension": "t", "reducer": reducer("mean")}))
    _both(graph, ctx)


TRIANGLE = {"type": "Polygon", "coordinates": [[[400_000, 5_000_000], [400_300, 5_000_000],
                                                 [400_000, 4_999_700], [400_000, 5_000_000]]],
            "crs": {"type": "name", "properties": {"name": "EPSG:32633"}}}


@pytest.mark.parametrize("chunked", [False, True])
def test_polygon_masks_fused(catalog, ctx, chunked):
    from .conftest import FakeCollection, make_cube

    if chunked:
        catalog.collections["S2"] = FakeCollection(make_cube(chunks={"t": 2, "y": 16}))
    graph = _graph(("mask_polygon", {"mask": TRIANGLE}),
                   ("filter_bbox", {"extent": {"west": 400_000, "east": 400_250, "south":
                                               4_999_750, "north": 5_000_000, "crs": 32633}}),
                   ("ndvi", {}),
                   ("reduce_dimension", {"dimension": "t", "reducer": reducer("count")}))
    out = _both(graph, ctx)
    values = out.values
    assert values[0, 3] > 0 and values[-1, -1] == 0  # outside the triangle: no valid steps


def test_load_collection_geojson_extent_masks(ctx, catalog):
    g = {"l": {**load(["B04"]), "result": True}}
    g["l"]["arguments"]["spatial_extent"] = TRIANGLE
    out = _both(g, ctx)
    assert np.isnan(out.values[0, 0, -1, -1]) and not np.isnan(out.values[0, 0, 2, 2])
    assert catalog.collections["S2"].calls[-1]["spatial_extent"] == TRIANGLE


ELEMENTWISE_CASES = {
    "add": {"y": 3}, "subtract": {"y": 1000.5}, "multiply": {"y": -2}, "divide": {"y": 7},
    "power": {"p": 0.5}, "sqrt": {}, "absolute": {}, "ln": {}, "log": {"base": 10},
    "exp": {}, "sin": {}, "cos": {}, "tan": {}, "arctan": {},
    "clip": {"min": 500, "max": 2000},
    "linear_scale_range": {"inputMin": 0, "inputMax": 3000, "outputMin": -1, "outputMax": 1},
}


@pytest.mark.parametrize("pid", sorted(ELEMENTWISE_CASES))
def test_every_fused_elementwise_matches_general(ctx, pid):
    from jupyter_eo.backend.engine.kernels import ELEMENTWISE

    assert pid in ELEMENTWISE
    first = {"power": "base", "exp": "p"}.get(pid, "x")
    scale = {"process_graph": {
        "s": {"process_id": "divide", "arguments": {"x": param("x"), "y": 1000}},
        "f": {"process_id": pid, "arguments": {first: ref("s"), **ELEMENTWISE_CASES[pid]},
              "result": True}}}
    if pid in ("clip", "linear_scale_range", "subtract"):
        scale["process_graph"]["s"]["arguments"]["y"] = 1
    graph = _graph(("apply", {"process": scale}))
    _both(graph, ctx)


def test_band_math_with_constants_and_reducers(ctx):
    evi = {"process_graph": {
        "b": {"process_id": "array_element", "arguments": {"data": param("data"), "index": 0}},
        "r": {"process_id": "array_element", "arguments": {"data": param("data"), "index": 1}},
        "n": {"process_id": "array_element", "arguments": {"data": param("data"), "index": 2}},
        "d": {"process_id": "subtract", "arguments": {"x": ref("n"), "y": ref("r")}},
        "r6": {"process_id": "multiply", "arguments": {"x": 6, "y": ref("r")}},
        "b7": {"process_id": "multiply", "arguments": {"x": 7.5, "y": ref("b")}},
        "s1": {"process_id": "add", "arguments": {"x": ref("n"), "y": ref("r6")}},
        "s2": {"process_id": "subtract", "arguments": {"x": ref("s1"), "y": ref("b7")}},
        "s3": {"process_id": "add", "arguments": {"x": ref("s2"), "y": 1}},
        "q": {"process_id": "divide", "arguments": {"x": ref("d"), "y": ref("s3")}},
        "e": {"process_id": "multiply", "arguments": {"x": 2.5, "y": ref("q")}},
        "m": {"process_id": "mean", "arguments": {"data": param("data")}},
        "pi": {"process_id": "pi", "arguments": {}},
        "x": {"process_id": "multiply", "arguments": {"x": ref("e"), "y": ref("pi")}},
        "out": {"process_id": "add", "arguments": {"x": ref("x"), "y": ref("m")},
                "result": True}}}
    graph = _graph(("reduce_dimension", {"dimension": "bands", "reducer": evi}))
    _both(graph, ctx)


@pytest.mark.parametrize("name", ["max", "mean", "median", "count", "first", "last"])
def test_dask_source_time_folded_chunk_by_chunk(catalog, ctx, monkeypatch, name):
    from .conftest import FakeCollection, make_cube

    monkeypatch.setattr(plan_module, "BLOCK_SLAB_BYTES", 1)  # force the per-chunk fold
    catalog.collections["S2"] = FakeCollection(make_cube(chunks={"t": 2, "y": 16, "x": 25}))
    graph = _graph(("mask_polygon", {"mask": TRIANGLE}), ("ndvi", {}),
                   ("reduce_dimension", {"dimension": "t", "reducer": reducer(name)}))
    out = evaluate(graph, ctx)
    keys = [k for k in dict(out.data.__dask_graph__()) if isinstance(k, tuple)]
    assert any("fold" in str(k[0]) for k in keys)
    _both(graph, ctx)


def test_dask_source_without_reduction_keeps_time_chunks(catalog, ctx):
    from .conftest import FakeCollection, make_cube

    catalog.collections["S2"] = FakeCollection(make_cube(chunks={"t": 2, "y": 16}))
    out = _both(_graph(("ndvi", {})), ctx)
    assert out.dims == ("t", "y", "x")
    lazy = evaluate(_graph(("ndvi", {})), ctx)
    assert lazy.data.chunks[0] == (2, 2, 2)


def _scl_graph(condition: dict) -> dict:
    cb = {"process_graph": {
        "scl": {"process_id": "array_element", "arguments": {"data": param("data"),
                                                             "label": "SCL"}},
        "r": {"process_id": "array_element", "arguments": {"data": param("data"),
                                                           "label": "B04"}},
        "n": {"process_id": "array_element", "arguments": {"data": param("data"),
                                                           "label": "B08"}},
        "nd": {"process_id": "normalized_difference", "arguments": {"x": ref("n"),
                                                                     "y": ref("r")}},
        **condition,
        "out": {"process_id": "if", "arguments": {"value": ref("ok"), "accept": ref("nd")},
                "result": True}}}
    g = {"load": load(["B04", "B08", "SCL"]),
         "b": {"process_id": "reduce_dimension", "arguments": {
             "data": ref("load"), "dimension": "bands", "reducer": cb}},
         "t": {"process_id": "reduce_dimension", "arguments": {
             "data": ref("b"), "dimension": "t", "reducer": reducer("median")},
             "result": True}}
    return g


CONDITIONS = {
    "neq": {"ok": {"process_id": "neq", "arguments": {"x": ref("scl"), "y": 1500}}},
    "or_of_eq": {
        "e1": {"process_id": "eq", "arguments": {"x": ref("scl"), "y": 4}},
        "e2": {"process_id": "gt", "arguments": {"x": ref("scl"), "y": 2000}},
        "e3": {"process_id": "lte", "arguments": {"x": ref("scl"), "y": 100}},
        "o1": {"process_id": "or", "arguments": {"x": ref("e1"), "y": ref("e2")}},
        "o2": {"process_id": "or", "arguments": {"x": ref("o1"), "y": ref("e3")}},
        "ok": {"process_id": "not", "arguments": {"x": ref("o2")}}},
    "between_and": {
        "b1": {"process_id": "between", "arguments": {"x": ref("scl"), "min": 100,
                                                      "max": 2500, "exclude_max": True}},
        "v": {"process_id": "is_valid", "arguments": {"x": ref("nd")}},
        "ok": {"process_id": "and", "arguments": {"x": ref("b1"), "y": ref("v")}}},
    "xor_constant": {
        "g": {"process_id": "gte", "arguments": {"x": ref("scl"), "y": 1000}},
        "ok": {"process_id": "xor", "arguments": {"x": ref("g"), "y": True}}},
}


@pytest.mark.parametrize("name", sorted(CONDITIONS))
def test_cloud_mask_conditions_are_fused(ctx, name):
    graph = _scl_graph(CONDITIONS[name])
    lazy = evaluate(graph, ctx)
    assert any("jeo-fused" in str(k) for k in dict(lazy.data.__dask_graph__()))
    assert len(dict(lazy.data.__dask_graph__())) < 20
    _both(graph, ctx)


def test_scl_mask_recipe_shape_is_fused(ctx):
    """The recipes' cloud mask: mask(L, reduce_bands(L, SCL in classes)) then bands, index."""
    is_cloud = {"process_graph": {
        "s": {"process_id": "array_element", "arguments": {"data": param("data"),
                                                           "label": "SCL"}},
        "a": {"process_id": "gt", "arguments": {"x": ref("s"), "y": 2500}},
        "b": {"process_id": "lt", "arguments": {"x": ref("s"), "y": 300}},
        "o": {"process_id": "or", "arguments": {"x": ref("a"), "y": ref("b")},
              "result": True}}}
    g = {"l": load(["B04", "B08", "SCL"]),
         "c": {"process_id": "reduce_dimension", "arguments": {
             "data": ref("l"), "dimension": "bands", "reducer": is_cloud}},
         "m": {"process_id": "mask", "arguments": {"data": ref("l"), "mask": ref("c")}},
         "f": {"process_id": "filter_bands", "arguments": {"data": ref("m"),
                                                           "bands": ["B08", "B04"]}},
         "n": {"process_id": "reduce_dimension", "arguments": {
             "data": ref("f"), "dimension": "bands", "reducer": NDVI_CALLBACK}},
         "t": {"process_id": "reduce_dimension", "arguments": {
             "data": ref("n"), "dimension": "t", "reducer": reducer("median")},
             "result": True}}
    lazy = evaluate(g, ctx)
    assert len(dict(lazy.data.__dask_graph__())) < 20
    out = _both(g, ctx)
    assert np.isnan(out.values).any() and not np.isnan(out.values).all()
    g["m"]["arguments"]["replacement"] = -5
    g["t"]["arguments"]["reducer"] = reducer("min")
    _both(g, ctx)


@pytest.mark.parametrize("source", ["numpy", "dask", "dask-fold"])
@pytest.mark.parametrize("name", ["max", "mean", "count", "median"])
def test_aggregate_temporal_fused(catalog, ctx, monkeypatch, source, name):
    from .conftest import FakeCollection, make_cube

    if source != "numpy":
        catalog.collections["S2"] = FakeCollection(make_cube(nt=9, chunks={"t": 2, "y": 16}))
    if source == "dask-fold":
        monkeypatch.setattr(plan_module, "BLOCK_SLAB_BYTES", 1)
    graph = _graph(("ndvi", {}), ("aggregate_temporal_period", {
        "period": "dekad", "reducer": reducer(name)}))
    lazy = evaluate(graph, ctx)
    assert len(dict(lazy.data.__dask_graph__())) < 80
    out = _both(graph, ctx)
    assert out.dims == ("t", "y", "x")
    intervals = [["2021-06-01", "2021-06-08"], ["2021-06-05", "2021-06-20"],
                 ["2020-01-01", "2020-02-01"]]
    graph = _graph(("aggregate_temporal", {"intervals": intervals, "labels": ["a", "b", "c"],
                                           "reducer": reducer(name)}),
                   ("ndvi", {}))
    out = _both(graph, ctx)
    assert list(out.t.values) == ["a", "b", "c"]
