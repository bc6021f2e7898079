"""/processes entries and spec examples of the cube processes."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from jupyter_eo.backend.engine import process_descriptions, validate_process_graph
from jupyter_eo.backend.processes.registry import REGISTRY
from jupyter_eo.specs import process_spec

SPECS = Path(__file__).resolve().parents[3] / "shared" / "openeo" / "processes"  # beside the clone


def test_descriptions_cover_exactly_the_registry():
    descriptions = process_descriptions()
    assert sorted(d["id"] for d in descriptions) == sorted(REGISTRY)
    assert len(descriptions) >= 100
    for d in descriptions:
        assert d["description"] and isinstance(d["parameters"], list) and "returns" in d
        assert json.dumps(d)


CUBE_PROCESSES = sorted(pid for pid, impl in REGISTRY.items()
                        if impl.func.__module__.split(".")[-1].startswith("cubes_"))


def _examples():
    for pid in CUBE_PROCESSES:
        spec = process_spec(pid) or {}
        for i, example in enumerate(spec.get("examples", [])):
            if "arguments" in example:
                yield pytest.param(pid, example, id=f"{pid}-{i}")


@pytest.mark.parametrize("pid,example", list(_examples()))
def test_spec_examples_of_cube_processes_validate(ctx, pid, example):
    """Spec examples of cube processes have no 'returns'; their arguments must validate."""
    args = example["arguments"]
    names = set()
    for value in args.values():
        if isinstance(value, dict) and "from_parameter" in value:
            names.add(value["from_parameter"])
    graph = {"x": {"process_id": pid, "arguments": args, "result": True}}
    errors = validate_process_graph(graph, ctx, {n: None for n in names})
    assert errors == [], [e.message for e in errors]


def test_packaged_specs_match_shared_copy():
    if not SPECS.exists():
        pytest.skip("shared openEO specs not available")
    for pid in CUBE_PROCESSES:
        path = SPECS / f"{pid}.json"
        if not path.exists():
            path = SPECS / "proposals" / f"{pid}.json"
        if path.exists():
            assert json.loads(path.read_text())["parameters"] == process_spec(pid)["parameters"]


def _example(pid: str, index: int = 0) -> dict:
    return process_spec(pid)["examples"][index]["arguments"]


def test_rename_labels_and_aggregate_temporal_examples_run(ctx):
    import numpy as np
    import pandas as pd
    import xarray as xr

    from jupyter_eo.backend.engine import evaluate, materialize

    cube = xr.DataArray(np.arange(5 * 3 * 2 * 2, dtype="float32").reshape(5, 3, 2, 2),
                        dims=("t", "bands", "y", "x"),
                        coords={"t": pd.to_datetime([f"{y}-06-01" for y in range(2015, 2020)]),
                                "bands": ["B1", "B2", "B3"], "y": [1.5, 0.5], "x": [0.5, 1.5]})
    args = _example("rename_labels")
    out = evaluate({"r": {"process_id": "rename_labels", "arguments": args, "result": True}},
                   ctx, {"data": cube})
    assert list(out.bands.values) == ["red", "green", "blue"]
    args = _example("aggregate_temporal")
    out = materialize(evaluate({"a": {"process_id": "aggregate_temporal", "arguments": args,
                                      "result": True}}, ctx, {"data": cube}))
    assert list(out.t.values) == ["2015", "2016", "2017", "2018", "2019"]
    np.testing.assert_array_equal(out.values, cube.values)
