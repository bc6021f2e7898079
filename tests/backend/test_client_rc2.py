"""openEO processes 2.0.0-rc.2 behaviours and API 1.2 details through HTTP with the official client."""
from __future__ import annotations

import math

import pytest
from openeo.rest import OpenEoApiError


def _run(connection, pid: str, **arguments):
    return connection.execute({"p": {"process_id": pid, "arguments": arguments,
                                     "result": True}})


def test_nan_and_infinity_come_back_as_floats(connection) -> None:
    """Not null (which means no-data): the client's JSON reader gives NaN and ±inf."""
    assert math.isnan(_run(connection, "sqrt", x=-1))
    assert _run(connection, "divide", x=1, y=0) == math.inf
    assert _run(connection, "divide", x=-1, y=0) == -math.inf
    assert _run(connection, "ln", x=0) == -math.inf
    assert _run(connection, "mod", x=3, y=0) == math.inf
    assert math.isnan(_run(connection, "log", x=8, base=-2))
    assert _run(connection, "add", x=1, y=None) is None  # no-data stays null


def test_rc2_process_behaviours(connection) -> None:
    assert _run(connection, "any", data=[]) is False
    assert _run(connection, "all", data=[]) is True
    assert _run(connection, "is_nan", x="text") is False
    with pytest.raises(OpenEoApiError) as info:
        _run(connection, "clip", x=1, min=2, max=0)
    assert info.value.code == "MinMaxSwapped" and info.value.http_status_code == 400
    with pytest.raises(OpenEoApiError) as info:
        _run(connection, "array_append", data=[1], value=2, label="b")
    assert info.value.code == "ArrayNotLabeled"
    assert "apply_polygon" in {p["id"] for p in connection.list_processes()}


def test_put_process_graph_path_id_replaces_body_id(connection) -> None:
    graph = {"a": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}}
    connection.put("/process_graphs/three", json={"id": "other", "process_graph": graph},
                   expected_status=200)
    stored = connection.user_defined_process("three").describe()
    assert stored["id"] == "three"
    assert "other" not in {p["id"] for p in connection.list_user_defined_processes()}


def test_udp_parameters_always_have_a_description(connection) -> None:
    """API 1.2 requires `description` on every parameter; a UDP stored without one (as the
    client sends when none is given) is answered with the parameter's name as description."""
    graph = {"a": {"process_id": "add", "arguments": {"x": {"from_parameter": "v"}, "y": 1},
                   "result": True}}
    connection.put("/process_graphs/plus_one", json={
        "process_graph": graph, "parameters": [{"name": "v", "schema": {"type": "number"}}]},
        expected_status=200)
    described = connection.user_defined_process("plus_one").describe()
    assert described["parameters"] == [{"name": "v", "schema": {"type": "number"},
                                        "description": "v"}]
    listed = {p["id"]: p for p in connection.list_user_defined_processes()}
    assert listed["plus_one"]["parameters"][0]["description"] == "v"
