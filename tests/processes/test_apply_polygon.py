"""apply_polygon (openEO processes 2.0.0-rc.2): per-polygon sub cubes, mask_value, overlap."""
from __future__ import annotations

import numpy as np
import pytest

from jupyter_eo.backend.engine import EvalContext, evaluate, materialize
from jupyter_eo.errors import OpenEOError

from tests.engine.conftest import FakeCatalog, FakeCollection, make_cube


def _square(x0: float, y0: float, size: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x0 + size, y0],
                                                [x0 + size, y0 - size], [x0, y0 - size],
                                                [x0, y0]]]}


def _run(geometries: dict, callback: dict, **extra) -> np.ndarray:
    cube = make_cube(nt=2, ny=10, nx=10)
    ctx = EvalContext(catalog=FakeCatalog(S2=FakeCollection(cube)))
    graph = {"l": {"process_id": "load_collection", "arguments": {
        "id": "S2", "spatial_extent": None, "temporal_extent": None, "bands": ["B04"]}},
        "a": {"process_id": "apply_polygon", "arguments": {
            "data": {"from_node": "l"}, "geometries": geometries,
            "process": {"process_graph": callback}, **extra}, "result": True}}
    return (materialize(evaluate(graph, ctx), ctx).values[:, 0],
            cube.sel(bands="B04").values)


def _crs(geom: dict) -> dict:
    return {**geom, "crs": {"type": "name", "properties": {"name": "EPSG:32633"}}}


def test_callback_sees_each_polygon_and_outside_is_unchanged():
    fc = _crs({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": _square(400_000, 5_000_000, 30)},
        {"type": "Feature", "properties": {}, "geometry": _square(400_050, 4_999_950, 20)}]})
    times_ten = {"m": {"process_id": "multiply", "arguments": {
        "x": {"from_parameter": "data"}, "y": 10}, "result": True}}
    out, raw = _run(fc, times_ten)
    raw = raw.astype("float32")
    raw[raw == 0] = np.nan
    np.testing.assert_array_equal(out[:, 0:3, 0:3], raw[:, 0:3, 0:3] * 10)
    np.testing.assert_array_equal(out[:, 5:7, 5:7], raw[:, 5:7, 5:7] * 10)
    np.testing.assert_array_equal(out[:, 8:, 8:], raw[:, 8:, 8:])  # outside: unchanged
    np.testing.assert_array_equal(out[:, 3, 3], raw[:, 3, 3])


def test_pixels_in_the_bbox_but_outside_the_polygon_are_not_written():
    triangle = _crs({"type": "Polygon", "coordinates": [[[400_000, 5_000_000],
                                                         [400_040, 5_000_000],
                                                         [400_000, 4_999_960],
                                                         [400_000, 5_000_000]]]})
    identity = {"m": {"process_id": "add", "arguments": {"x": {"from_parameter": "data"},
                                                         "y": 0}, "result": True}}
    out, raw = _run(triangle, identity, mask_value=-1)
    # the pixel centre (400035, 4999965) is outside the triangle but inside its bbox: in the
    # sub cube it holds mask_value, which is not written back (outside the polygon)
    assert out[0, 3, 3] == raw[0, 3, 3]
    assert out[0, 0, 1] == raw[0, 0, 1]


def test_overlapping_geometries_raise_geometries_overlap():
    fc = _crs({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": _square(400_000, 5_000_000, 30)},
        {"type": "Feature", "properties": {}, "geometry": _square(400_010, 4_999_990, 30)}]})
    with pytest.raises(OpenEOError) as info:
        _run(fc, {"m": {"process_id": "absolute", "arguments": {
            "x": {"from_parameter": "data"}}, "result": True}})
    assert info.value.code == "GeometriesOverlap"


def test_spec_parameters_are_the_rc2_ones():
    from jupyter_eo.specs import process_spec

    names = [p["name"] for p in process_spec("apply_polygon")["parameters"]]
    assert names == ["data", "geometries", "process", "mask_value", "context"]
