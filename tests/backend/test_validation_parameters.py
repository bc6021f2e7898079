"""POST /validation honours the body's declared parameters and looks inside stored UDPs."""
from __future__ import annotations

import pytest

from test_udp_corpus import NDVI_SAVED

BROKEN_INSIDE = {
    "l": {"process_id": "load_collection", "arguments": {
        "id": "TEST_S2", "spatial_extent": None, "temporal_extent": None}},
    "x": {"process_id": "no_such_process_here", "arguments": {"data": {"from_node": "l"}},
          "result": True}}


def _codes(connection, body: dict) -> list[str]:
    return [e["code"] for e in
            connection.post("/validation", json=body, expected_status=200).json()["errors"]]


def test_declared_parameters_of_the_body_are_defined(connection) -> None:
    body = {"id": "ndvi_saved", **NDVI_SAVED}
    assert _codes(connection, body) == []
    # the official client sends a bare process the same way
    assert connection.validate_process_graph(
        {"process_graph": NDVI_SAVED["process_graph"],
         "parameters": NDVI_SAVED["parameters"]}) == []


def test_undeclared_parameter_is_still_reported(connection) -> None:
    body = {"process_graph": NDVI_SAVED["process_graph"],
            "parameters": NDVI_SAVED["parameters"][:1]}
    errors = connection.post("/validation", json=body, expected_status=200).json()["errors"]
    assert [e["code"] for e in errors] == ["ProcessParameterRequired"] * 2
    assert {"dates", "out_format"} == {name for e in errors for name in ("dates", "out_format")
                                       if repr(name) in e["message"]}


def test_call_of_a_stored_udp_is_validated_inside(connection) -> None:
    with pytest.warns(UserWarning):  # the client warns about a UDP without parameters
        connection.save_user_defined_process("broken_inside", BROKEN_INSIDE)
    call = {"u": {"process_id": "broken_inside", "namespace": "user", "arguments": {},
                  "result": True}}
    errors = connection.post("/validation", json={"process_graph": call},
                             expected_status=200).json()["errors"]
    assert [e["code"] for e in errors] == ["ProcessUnsupported"]
    assert "no_such_process_here" in errors[0]["message"]
    assert "broken_inside" in errors[0]["message"]


def test_call_of_a_valid_stored_udp_validates(connection) -> None:
    connection.save_user_defined_process("ndvi_saved", NDVI_SAVED["process_graph"],
                                         parameters=NDVI_SAVED["parameters"])
    call = {"u": {"process_id": "ndvi_saved", "namespace": "user", "arguments": {
        "bbox": {"west": 500_100, "south": 5_599_600, "east": 500_500, "north": 5_599_900,
                 "crs": 32631}, "dates": ["2024-05-05", "2024-05-30"]}, "result": True}}
    assert _codes(connection, {"process_graph": call}) == []


def test_recursive_udp_is_reported_not_followed_forever(connection) -> None:
    me = {"u": {"process_id": "loop_me", "namespace": "user", "arguments": {},
                "result": True}}
    with pytest.warns(UserWarning):
        connection.save_user_defined_process("loop_me", me)
    codes = _codes(connection, {"process_graph": me})
    assert codes == ["ProcessGraphComplexity"]
