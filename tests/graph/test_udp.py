"""UDP helpers without a backend: parameterize, make_udp checks, inline expansion, loading."""
from __future__ import annotations

import json

import pytest

from jupyter_eo.errors import OpenEOError, ProcessGraphInvalid, ProcessGraphNotFound
from jupyter_eo.graph import GraphBuilder, Param, canonical
from jupyter_eo.graph.udp import inline_udp, load_udp, make_udp, number_parameter, parameterize

AOI = {"west": 5.0, "south": 51.0, "east": 5.1, "north": 51.1}


def ndvi_graph() -> dict:
    cube = GraphBuilder().load_collection("S2", spatial_extent=AOI, temporal_extent=["2023-01-01", "2023-02-01"],
                                          bands=["B04", "B08"])
    return cube.ndvi(nir="B08", red="B04").reduce_time("max").to_dict()


def test_parameterize_replaces_load_arguments_with_defaults() -> None:
    graph, parameters = parameterize(ndvi_graph(), bands="band_names")
    arguments = graph["loadcollection1"]["arguments"]
    assert arguments["spatial_extent"] == {"from_parameter": "spatial_extent"}
    assert arguments["bands"] == {"from_parameter": "band_names"}
    by_name = {p["name"]: p for p in parameters}
    assert by_name["spatial_extent"]["default"] == AOI and by_name["spatial_extent"]["optional"] is True
    assert by_name["band_names"]["default"] == ["B04", "B08"]
    _, no_defaults = parameterize(ndvi_graph(), defaults=False)
    assert all("default" not in p for p in no_defaults)


def test_make_udp_checks_ids_and_declared_parameters() -> None:
    graph, parameters = parameterize(ndvi_graph())
    document = make_udp(graph, "ndvi_max", parameters, summary="NDVI max")
    assert document["id"] == "ndvi_max" and document["summary"] == "NDVI max"
    with pytest.raises(ProcessGraphInvalid, match="spatial_extent"):
        make_udp(graph, "ndvi_max", [])
    with pytest.raises(OpenEOError) as info:
        make_udp(graph, "bad id!", parameters)
    assert info.value.code == "ProcessInvalid"
    scaled = GraphBuilder().load_collection("S2").apply(lambda x: x * Param("factor")).to_dict()
    with pytest.raises(ProcessGraphInvalid, match="factor"):
        make_udp(scaled, "scaled", [])
    assert make_udp(scaled, "scaled", [number_parameter("factor", 2)])["parameters"][0]["default"] == 2


def test_inline_udp_substitutes_arguments_and_defaults() -> None:
    graph, parameters = parameterize(ndvi_graph())
    document = make_udp(graph, "ndvi_max", parameters)
    other = {"west": 6.0, "south": 50.0, "east": 6.1, "north": 50.1}
    call = GraphBuilder().process("ndvi_max", namespace="user", spatial_extent=other)
    expanded = inline_udp(call.save_result("GTiff").to_dict(), document)
    direct = json.loads(json.dumps(ndvi_graph()).replace(json.dumps(AOI), json.dumps(other)))
    loads = [n for n in expanded.values() if n["process_id"] == "load_collection"]
    assert loads[0]["arguments"]["spatial_extent"] == other
    assert loads[0]["arguments"]["temporal_extent"] == ["2023-01-01", "2023-02-01"]  # default used
    result = [n for n in expanded.values() if n.get("result")]
    assert len(result) == 1 and result[0]["process_id"] == "save_result"
    without_save = {k: v for k, v in expanded.items() if v["process_id"] != "save_result"}
    last = next(k for k, v in without_save.items() if v["process_id"] == "reduce_dimension")
    without_save[last]["result"] = True
    assert canonical(without_save) == canonical(direct)


def test_load_udp_from_file_and_errors(tmp_path) -> None:
    graph, parameters = parameterize(ndvi_graph())
    document = make_udp(graph, "ndvi_max", parameters)
    path = tmp_path / "ndvi_max.json"
    path.write_text(json.dumps(document))
    loaded = load_udp(str(path))
    assert loaded["id"] == "ndvi_max" and len(loaded["parameters"]) == 2
    with pytest.raises(ProcessGraphNotFound):
        load_udp(str(tmp_path / "missing.json"))
