"""Model (ids, structure checks) and builder (same graphs as the official client)."""
from __future__ import annotations

import json

import pytest
from openeo.rest.datacube import DataCube

from jupyter_eo.errors import ProcessGraphInvalid, ProcessGraphMissing, ProcessParameterInvalid
from jupyter_eo.graph import GraphBuilder, canonical, graphs_equal, normalize_ids, unwrap
from jupyter_eo.graph.builder import INDEX_FORMULAS, Param


def test_builder_ids_and_graph_equal_client_output() -> None:
    cube = GraphBuilder().load_collection("S2", bands=["B04", "B08"]).band_math("(B08 - B04) / (B08 + B04)")
    client = DataCube.load_collection("S2", connection=None, fetch_metadata=False, bands=["B04", "B08"])
    nir, red = client.band("B08"), client.band("B04")
    assert cube.to_dict() == ((nir - red) / (nir + red)).flat_graph()  # identical, ids included


def test_normalize_ids_renumbers_like_client_including_callbacks() -> None:
    graph = {
        "a": {"process_id": "load_collection", "arguments": {"id": "S2", "spatial_extent": None,
                                                             "temporal_extent": None}},
        "b": {"process_id": "reduce_dimension", "arguments": {
            "data": {"from_node": "a"}, "dimension": "t",
            "reducer": {"process_graph": {"m": {"process_id": "mean", "arguments": {"data": {"from_parameter": "data"}},
                                                "result": True}}}}, "result": True, "description": "composite"},
    }
    normalized = normalize_ids(graph)
    assert list(normalized) == ["loadcollection1", "reducedimension1"]
    assert normalized["reducedimension1"]["arguments"]["data"] == {"from_node": "loadcollection1"}
    assert list(normalized["reducedimension1"]["arguments"]["reducer"]["process_graph"]) == ["mean1"]
    assert "description" not in canonical(graph)["reducedimension1"]
    renamed = json.loads(json.dumps(graph).replace('"a"', '"first"'))
    assert graphs_equal(graph, renamed)


@pytest.mark.parametrize("bad, error", [
    ({}, ProcessGraphMissing),
    ("{not json", ProcessGraphInvalid),
    ({"a": {"arguments": {}}}, ProcessGraphInvalid),
    ({"a": {"process_id": "x", "arguments": {}, "result": True},
      "b": {"process_id": "y", "arguments": {}, "result": True}}, ProcessGraphInvalid),
])
def test_bad_documents_give_openeo_errors(bad: object, error: type) -> None:
    with pytest.raises(error) as info:
        canonical(bad) if isinstance(bad, dict) and bad else unwrap(bad)
    assert info.value.to_dict()["code"] == error.code


def test_cycles_and_unknown_refs_are_reported() -> None:
    cycle = {"a": {"process_id": "absolute", "arguments": {"x": {"from_node": "b"}}},
             "b": {"process_id": "absolute", "arguments": {"x": {"from_node": "a"}}, "result": True}}
    with pytest.raises(ProcessGraphInvalid, match="cycle"):
        normalize_ids(cycle)
    dangling = {"a": {"process_id": "absolute", "arguments": {"x": {"from_node": "zz"}}, "result": True}}
    with pytest.raises(ProcessGraphInvalid, match="unknown node"):
        normalize_ids(dangling)


def test_unwrap_accepts_documents_and_job_bodies(tmp_path) -> None:
    flat = GraphBuilder().load_collection("S2").to_dict()
    assert unwrap({"process": {"process_graph": flat}})[0] == flat
    assert unwrap({"process_graph": flat, "id": "x"}) == (flat, {"id": "x"})
    path = tmp_path / "g.json"
    path.write_text(json.dumps({"process_graph": flat}))
    assert unwrap(str(path))[0] == flat and unwrap(path)[0] == flat


def test_formula_errors_and_functions() -> None:
    cube = GraphBuilder().load_collection("S2", bands=["B04", "B08"])
    with pytest.raises(ProcessParameterInvalid):
        cube.band_math("B08 +")
    with pytest.raises(ProcessParameterInvalid):
        cube.band_math("__import__('os')")
    graph = cube.band_math("sqrt(B08) + log(B04, 10) - -B08").to_dict()
    processes = [n["process_id"] for n in graph["reducedimension1"]["arguments"]["reducer"]["process_graph"].values()]
    assert processes == ["array_element", "sqrt", "array_element", "log", "add", "multiply", "subtract"]


def test_every_index_formula_builds() -> None:
    cube = GraphBuilder().load_collection("S2")
    for name in INDEX_FORMULAS:
        assert cube.spectral_index(name, scale=0.0001).to_dict()["reducedimension1"]["arguments"]["dimension"] == "bands"


def test_params_and_callback_forms() -> None:
    b = GraphBuilder()
    cube = b.load_collection("S2", spatial_extent=Param("aoi"), temporal_extent=["2020-01-01", None])
    as_string = cube.reduce_time("median").to_dict()
    as_lambda = cube.reduce_time(lambda data: data.median()).to_dict()
    as_dict = cube.reduce_time({"process_graph": {"median1": {
        "process_id": "median", "arguments": {"data": {"from_parameter": "data"}}, "result": True}}}).to_dict()
    assert as_string == as_lambda == as_dict
    assert as_string["loadcollection1"]["arguments"]["spatial_extent"] == {"from_parameter": "aoi"}
    with pytest.raises(ProcessParameterInvalid):
        cube.reduce_time(42)
