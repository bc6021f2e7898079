"""User-defined processes (by id and namespace URL), parameters with defaults, properties."""
from __future__ import annotations

import numpy as np
import pytest

from jupyter_eo.backend.engine import evaluate
from jupyter_eo.errors import OpenEOError

from .graphs import load, param, ref

SCALE = {"id": "scale", "parameters": [
    {"name": "x", "schema": {"type": "number"}},
    {"name": "factor", "schema": {"type": "number"}, "optional": True, "default": 10}],
    "process_graph": {"m": {"process_id": "multiply", "arguments": {
        "x": param("x"), "y": param("factor")}, "result": True}}}

URL = "https://example.org/udps/scale.json"


def resolver(pid, namespace):
    if pid == "scale" and namespace in (None, "user"):
        return SCALE
    if pid == "scale_remote" and namespace == URL:
        return {**SCALE, "id": "scale_remote"}
    if pid == "loop":
        return {"id": "loop", "parameters": [], "process_graph": {"l": {
            "process_id": "loop", "arguments": {}, "result": True}}}
    return None


@pytest.fixture
def uctx(ctx):
    ctx.udp_resolver = resolver
    return ctx


def test_udp_default_parameter(uctx):
    g = {"s": {"process_id": "scale", "namespace": "user", "arguments": {"x": 4},
               "result": True}}
    assert evaluate(g, uctx) == 40
    g["s"]["arguments"]["factor"] = 0.5
    assert evaluate(g, uctx) == 2


def test_udp_by_namespace_url(uctx):
    g = {"s": {"process_id": "scale_remote", "namespace": URL, "arguments": {"x": 3},
               "result": True}}
    assert evaluate(g, uctx) == 30


def test_udp_missing_and_unknown_params(uctx):
    g = {"s": {"process_id": "scale", "arguments": {}, "result": True}}
    with pytest.raises(OpenEOError) as info:
        evaluate(g, uctx)
    assert info.value.code == "ProcessParameterRequired"
    g = {"s": {"process_id": "scale", "arguments": {"x": 1, "nope": 2}, "result": True}}
    with pytest.raises(OpenEOError) as info:
        evaluate(g, uctx)
    assert info.value.code == "ProcessParameterUnsupported"


def test_recursive_udp_is_stopped(uctx):
    g = {"s": {"process_id": "loop", "arguments": {}, "result": True}}
    with pytest.raises(OpenEOError) as info:
        evaluate(g, uctx)
    assert info.value.code == "ProcessGraphComplexity"


def test_udp_inside_callback_on_cube(uctx, cube):
    g = {"l": load(["B04"]), "a": {"process_id": "apply", "arguments": {
        "data": ref("l"), "process": {"process_graph": {"s": {
            "process_id": "scale", "arguments": {"x": param("x"), "factor": 2},
            "result": True}}}}, "result": True}}
    out = evaluate(g, uctx)
    raw = cube.sel(bands=["B04"]).values.astype("float32")
    np.testing.assert_allclose(out.values, np.where(raw == 0, np.nan, raw * 2), equal_nan=True)


def test_callback_sees_context(uctx, cube):
    g = {"l": load(["B04"]), "a": {"process_id": "apply", "arguments": {
        "data": ref("l"), "context": 7, "process": {"process_graph": {"s": {
            "process_id": "add", "arguments": {"x": param("x"), "y": param("context")},
            "result": True}}}}, "result": True}}
    out = evaluate(g, uctx)
    raw = cube.sel(bands=["B04"]).values.astype("float32")
    np.testing.assert_allclose(out.values, np.where(raw == 0, np.nan, raw + 7), equal_nan=True)


def test_load_collection_properties_filter(ctx, catalog):
    cond = {"process_graph": {"c": {"process_id": "lte", "arguments": {
        "x": param("value"), "y": 25}, "result": True}}}
    g = {"l": {**load(["B04"]), "result": True}}
    g["l"]["arguments"]["properties"] = {"eo:cloud_cover": cond}
    out = evaluate(g, ctx)
    assert out.sizes["t"] == 3  # cloud cover 0, 10, 20


def test_top_level_parameters(ctx):
    g = {"l": {"process_id": "load_collection", "arguments": {
        "id": param("collection"), "spatial_extent": None, "temporal_extent": param("time"),
        "bands": ["B04"]}, "result": True}}
    out = evaluate(g, ctx, {"collection": "S2", "time": ["2021-06-01", "2021-06-11"]})
    assert out.sizes["t"] == 2


def test_progress_reported(ctx):
    from jupyter_eo.backend.engine import materialize

    from .graphs import ndvi_max_graph

    seen = []
    ctx.progress = seen.append
    materialize(evaluate(ndvi_max_graph(), ctx), ctx)
    assert seen and seen[-1] == pytest.approx(1.0)
    assert all(0 <= v <= 1 for v in seen)
