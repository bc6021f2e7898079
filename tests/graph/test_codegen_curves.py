"""Graphs built with the client's DataCube.fit_curve / predict_curve (and unknown processes with
callbacks) become code that rebuilds the same graph; loading them back works too."""
from __future__ import annotations

import math

import pytest

from jupyter_eo.graph.codegen import to_python
from jupyter_eo.graph.model import canonical
from jupyter_eo.graph.offline import GraphOnlyConnection
from jupyter_eo.graph.parse import from_python

from .fake_connection import run_code

EXTENT = {"west": 11.0, "south": 46.0, "east": 11.01, "north": 46.01}


def _model(x, parameters):  # type: ignore[no-untyped-def]
    from openeo.processes import cos, sin

    w = x * (2 * math.pi / 31_557_600)
    return parameters[0] + parameters[1] * cos(w) + parameters[2] * sin(w)


def _ndvi(connection: GraphOnlyConnection):  # type: ignore[no-untyped-def]
    return connection.load_collection("SENTINEL2_L2A", spatial_extent=EXTENT,
                                      temporal_extent=["2023-01-01", "2024-01-01"],
                                      bands=["B04", "B08"]).ndvi()


@pytest.mark.parametrize("labels", [None, ["2023-03-01", "2023-09-01"]], ids=["gap-fill", "labels"])
def test_client_curve_methods_round_trip(labels: list[str] | None) -> None:
    ndvi = _ndvi(GraphOnlyConnection())
    fitted = ndvi.fit_curve(parameters=[0, 0, 0], function=_model, dimension="t")
    graph = ndvi.predict_curve(fitted, function=_model, dimension="t", labels=labels).flat_graph()
    code = to_python(graph)
    assert ".fit_curve(parameters=[0, 0, 0]" in code and ".predict_curve(" in code
    assert ".process(" not in code and "datacube_from_process" not in code
    built, _ = run_code(code)
    assert canonical(built.flat_graph()) == canonical(graph)
    assert canonical(from_python(code)["process_graph"]) == canonical(graph)


def test_unrendered_process_with_a_callback_passes_the_callback_through() -> None:
    ndvi = _ndvi(GraphOnlyConnection())
    callback = {"process_graph": {"m": {"process_id": "multiply", "arguments": {
        "x": {"from_parameter": "x"}, "y": 2}, "result": True}}}
    graph = ndvi.process("some_backend_process", data=ndvi, kernel=callback, size=3).flat_graph()
    code = to_python(graph)
    assert '.process(\n    "some_backend_process"' in code or '.process("some_backend_process"' in code
    built, _ = run_code(code)
    assert canonical(built.flat_graph()) == canonical(graph)
