"""Validation of graphs against the specs, and deep/large graph behaviour."""
from __future__ import annotations

import sys
import time

import numpy as np
import pytest

from jupyter_eo.backend.engine import EvalContext, evaluate, validate_process_graph
from jupyter_eo.errors import OpenEOError

from .graphs import NDVI_CALLBACK, load, param, ref


def codes(graph, ctx, parameters=None):
    return [e.code for e in validate_process_graph(graph, ctx, parameters)]


def chain(n: int) -> dict:
    g = {"n0": {"process_id": "add", "arguments": {"x": 1, "y": 1}}}
    for i in range(1, n):
        g[f"n{i}"] = {"process_id": "add", "arguments": {"x": ref(f"n{i-1}"), "y": 1}}
    g[f"n{n-1}"]["result"] = True
    return g


def test_valid_graph(ctx):
    g = {"l": load(["B04", "B08"]), "r": {"process_id": "reduce_dimension", "arguments": {
        "data": ref("l"), "dimension": "bands", "reducer": NDVI_CALLBACK}, "result": True}}
    assert validate_process_graph(g, ctx) == []


@pytest.mark.parametrize("graph,code", [
    (None, "ProcessGraphInvalid"),
    ([], "ProcessGraphInvalid"),
    ({}, "ProcessGraphInvalid"),
    ({"a": 5}, "ProcessGraphInvalid"),
    ({"a": {"arguments": {}}}, "ProcessGraphInvalid"),
    ({"a": {"process_id": "add", "arguments": {"x": 1, "y": 2}}}, "ProcessGraphInvalid"),
    ({"a": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True},
      "b": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}},
     "ProcessGraphInvalid"),
    ({"a": {"process_id": "add", "arguments": {"x": ref("b"), "y": 2}, "result": True},
      "b": {"process_id": "add", "arguments": {"x": ref("a"), "y": 2}}}, "ProcessGraphInvalid"),
    ({"a": {"process_id": "add", "arguments": {"x": ref("zzz"), "y": 2}, "result": True}},
     "ProcessGraphInvalid"),
    ({"a": {"process_id": "no_such_process", "arguments": {}, "result": True}},
     "ProcessUnsupported"),
    ({"a": {"process_id": "add", "arguments": {"x": 1}, "result": True}},
     "ProcessParameterRequired"),
    ({"a": {"process_id": "add", "arguments": {"x": 1, "y": 2, "z": 3}, "result": True}},
     "ProcessParameterUnsupported"),
    ({"a": {"process_id": "add", "arguments": {"x": "text", "y": 2}, "result": True}},
     "ProcessParameterInvalid"),
    ({"a": {"process_id": "add", "arguments": {"x": param("nope"), "y": 2}, "result": True}},
     "ProcessParameterRequired"),
    ({"a": {"process_id": "add", "arguments": {"x": {"process_graph": {"b": {
        "process_id": "pi", "arguments": {}, "result": True}}}, "y": 2}, "result": True}},
     "ProcessParameterInvalid"),
])
def test_invalid_graphs(ctx, graph, code):
    found = codes(graph, ctx)
    assert code in found, found
    with pytest.raises(OpenEOError):
        evaluate(graph, ctx)


def test_callback_parameters_checked(ctx):
    bad = {"process_graph": {"r": {"process_id": "max", "arguments": {
        "data": param("values")}, "result": True}}}
    g = {"l": load(), "r": {"process_id": "reduce_dimension", "arguments": {
        "data": ref("l"), "dimension": "t", "reducer": bad}, "result": True}}
    assert "ProcessParameterRequired" in codes(g, ctx)
    inner_bad = {"process_graph": {"r": {"process_id": "max", "arguments": {
        "data": param("data"), "bogus": 1}, "result": True}}}
    g["r"]["arguments"]["reducer"] = inner_bad
    errors = validate_process_graph(g, ctx)
    assert errors and "callback r.reducer" in errors[0].message


def test_parameters_and_defaults(ctx):
    g = {"a": {"process_id": "add", "arguments": {"x": param("p"), "y": 2}, "result": True}}
    assert codes(g, ctx) == ["ProcessParameterRequired"]
    assert evaluate(g, ctx, {"p": 40}) == 42


def test_10000_node_graph_validates_fast(ctx):
    g = chain(10_000)
    validate_process_graph(g, ctx)  # warm caches (spec loading)
    t0 = time.perf_counter()
    assert validate_process_graph(g, ctx) == []
    assert time.perf_counter() - t0 < 1.0


def test_5000_node_chain_evaluates(ctx):
    limit = sys.getrecursionlimit()
    assert evaluate(chain(5_000), ctx) == 5_001
    assert sys.getrecursionlimit() == limit


def test_long_fused_cube_chain(ctx, cube):
    g = {"l": load(["B04"])}
    prev = "l"
    for i in range(300):
        g[f"a{i}"] = {"process_id": "apply", "arguments": {"data": ref(prev), "process": {
            "process_graph": {"p": {"process_id": "add", "arguments": {"x": param("x"),
                                                                       "y": 1},
                                    "result": True}}}}}
        prev = f"a{i}"
    g[prev]["result"] = True
    out = evaluate(g, ctx)
    assert len(dict(out.data.__dask_graph__())) < 30
    raw = cube.sel(bands=["B04"]).values.astype("float32")
    expected = np.where(raw == 0, np.nan, raw + 300)
    np.testing.assert_allclose(out.values, expected, equal_nan=True)


def test_validation_never_raises_on_garbage(ctx):
    for garbage in [1, "x", [1, 2], {"a": {"process_id": 5}}, {"a": {"process_id": "add",
                                                                      "arguments": [1]}},
                    {"a": {"process_id": "add", "arguments": {"x": {"from_node": 1}, "y": 1},
                           "result": True}}]:
        assert validate_process_graph(garbage, ctx)


def test_no_catalog_needed_for_validation():
    assert validate_process_graph(chain(3), EvalContext()) == []


def test_nested_property_callbacks_are_validated(ctx):
    g = {"l": {**load(["B04"]), "result": True}}
    g["l"]["arguments"]["properties"] = {"eo:cloud_cover": {"process_graph": {"c": {
        "process_id": "no_such", "arguments": {"x": param("value")}, "result": True}}}}
    assert "ProcessUnsupported" in codes(g, ctx)
