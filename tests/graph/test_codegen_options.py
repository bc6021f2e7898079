"""to_python options and edge cases: flavours, variable name, fallbacks, bad input."""
from __future__ import annotations

import pytest

from jupyter_eo.errors import OpenEOError, ProcessGraphInvalid, ProcessGraphMissing
from jupyter_eo.graph import GraphBuilder, Param, canonical, to_python
from jupyter_eo.graph.codegen import DEFAULT_PORTABLE_URL

from .fake_connection import run_code

GRAPH = GraphBuilder().load_collection("S2", bands=["B04", "B08"]).ndvi().to_dict()


def test_flavours_and_variable_name() -> None:
    lab = to_python(GRAPH, backend_id="cdse", variable="result")
    assert lab.splitlines()[:3] == ["import jupyter_eo", "", 'connection = jupyter_eo.connect("cdse")']
    assert lab.rstrip().endswith('result = result.ndvi()')
    portable = to_python(GRAPH, flavour="portable")
    assert f'connection = openeo.connect("{DEFAULT_PORTABLE_URL}").authenticate_oidc()' in portable
    assert "jupyter_eo" not in portable
    with pytest.raises(OpenEOError):
        to_python(GRAPH, flavour="notebook")
    assert "cube = cube.ndvi()" in to_python(GRAPH, variable="not an identifier")


def test_bad_graphs_raise_openeo_errors() -> None:
    with pytest.raises(ProcessGraphMissing):
        to_python({})
    with pytest.raises(ProcessGraphInvalid):
        to_python({"a": {"process_id": "ndvi", "arguments": {"data": {"from_node": "missing"}}, "result": True}})


def test_unconnected_nodes_are_reported_in_a_comment() -> None:
    graph = dict(GRAPH, extra={"process_id": "pi", "arguments": {}})
    code = to_python(graph)
    assert "# 1 node(s) not connected to the result node were left out" in code
    cube, _ = run_code(code)
    assert canonical(cube.flat_graph()) == canonical(GRAPH)


def test_namespaced_and_unknown_processes_fall_back_to_process_calls() -> None:
    b = GraphBuilder()
    cube = b.process("my_udp", namespace="user", bbox=Param("bbox"), factor=2)
    graph = cube.process("fancy_filter", data=cube, **{"weird-key": 1, "arguments": "x"}).to_dict()
    code = to_python(graph)
    assert 'connection.datacube_from_process(' in code and 'namespace="user"' in code
    assert 'arguments={"arguments": "x", "data": cube, "weird-key": 1}' in code
    assert 'bbox = Parameter(name="bbox", description="bbox")' in code
    result, _ = run_code(code)
    assert canonical(result.flat_graph()) == canonical(graph)


def test_callbacks_with_shared_nodes_become_functions() -> None:
    def reducer(data):
        mean = data.mean()
        return (data.max() - mean) / mean
    graph = GraphBuilder().load_collection("S2").reduce_time(reducer).to_dict()
    code = to_python(graph)
    assert "def reducer(data):" in code and "    return " in code
    cube, _ = run_code(code)
    assert canonical(cube.flat_graph()) == canonical(graph)
