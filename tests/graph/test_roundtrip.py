"""Property: generated code, run with the real openeo client, rebuilds the input graph."""
from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, given, settings

from jupyter_eo.graph.codegen import to_python
from jupyter_eo.graph.model import canonical

from .fake_connection import run_code
from .strategies import graphs


# Deterministic in CI (same examples every run); JEO_ROUNDTRIP_RANDOM=1 explores new ones.
EXPLORE = os.environ.get("JEO_ROUNDTRIP_RANDOM") == "1"


@settings(max_examples=int(os.environ.get("JEO_ROUNDTRIP_EXAMPLES", "500")), deadline=None, database=None,
          derandomize=not EXPLORE, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(graphs())
def test_generated_code_rebuilds_graph(graph: dict) -> None:
    code = to_python(graph)
    compile(code, "<generated>", "exec")
    cube, _ = run_code(code)
    expected, actual = canonical(graph), canonical(cube.flat_graph())
    assert actual == expected, f"\n{code}\n{json.dumps(expected)}\n{json.dumps(actual)}"


@settings(max_examples=50, deadline=None, database=None, derandomize=not EXPLORE,
          suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_portable_flavour_compiles(graph: dict) -> None:
    code = to_python(graph, flavour="portable", url="https://openeo.example.org")
    compile(code, "<generated>", "exec")
    assert code.startswith("import openeo\n")
    assert 'openeo.connect("https://openeo.example.org").authenticate_oidc()' in code
