"""Loading graphs back (JSON, Python code, DataCube, builder) and UDF helpers."""
from __future__ import annotations

import json

import pytest

from jupyter_eo.errors import ProcessGraphInvalid, ProcessGraphMissing, ProcessParameterInvalid
from jupyter_eo.graph import from_json, from_python, summarize, to_builder, to_python
from jupyter_eo.graph.model import canonical
from jupyter_eo.graph.parse import validation_errors
from jupyter_eo.graph.udf import check_udf, run_udf_callback, to_openeo_udf, udf_code

from .recipes import GOLDEN, RECIPES


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_from_python_of_generated_code_gives_the_graph_back(name: str) -> None:
    data = json.loads((GOLDEN / f"{name}.json").read_text())
    document = from_python((GOLDEN / f"{name}.py").read_text())
    assert canonical(document["process_graph"]) == canonical(from_json(data["graph"])["process_graph"])
    if data["options"].get("udp_id"):
        assert document["id"] == data["options"]["udp_id"]
        assert [p["name"] for p in document["parameters"]] == ["spatial_extent", "temporal_extent", "scale"]


def test_from_python_datacube_and_errors() -> None:
    import openeo
    cube = openeo.DataCube.load_collection("S2", connection=None, fetch_metadata=False).max_time()
    assert from_python(cube)["process_graph"] == cube.flat_graph()
    with pytest.raises(ProcessGraphInvalid, match="syntax error"):
        from_python("cube = (")
    with pytest.raises(ProcessGraphInvalid, match="ZeroDivisionError"):
        from_python("x = 1 / 0")
    with pytest.raises(ProcessGraphMissing):
        from_python("x = 1")


def test_from_json_file_and_structure_errors(tmp_path) -> None:
    path = tmp_path / "g.json"
    path.write_text((GOLDEN / "ndvi_process.json").read_text().replace('"graph"', '"process_graph"'))
    assert "ndvi1" in from_json(path)["process_graph"]
    bad_callback = {"a": {"process_id": "apply", "result": True, "arguments": {
        "data": 1, "process": {"process_graph": {"x": {"process_id": "absolute", "arguments": {}}} | {
            "y": {"process_id": "absolute", "arguments": {}}}}}}}
    with pytest.raises(ProcessGraphInvalid):
        from_json(bad_callback)


def test_to_builder_continues_a_loaded_graph_and_summary() -> None:
    document = from_json(json.loads((GOLDEN / "ndvi_process.json").read_text())["graph"])
    cube = to_builder(document)
    extended = cube.process("save_result", data=cube, format="netCDF", options={})
    graph = extended.to_dict()
    assert graph["saveresult2"]["arguments"]["data"] == {"from_node": "saveresult1"}
    summary = summarize(document)
    assert summary["collection_id"] == "SENTINEL2_L2A" and summary["bands"] == ["B04", "B08"]
    assert summary["steps"] == ["load_collection", "ndvi", "reduce_dimension", "save_result"]
    # the loaded graph renders to the same code as the original
    assert to_python(to_builder(document).to_dict()) == (GOLDEN / "ndvi_process.py").read_text()


def test_validation_uses_the_shared_validator() -> None:
    document = from_json(json.loads((GOLDEN / "ndvi_process.json").read_text())["graph"])
    assert validation_errors(document) == []
    broken = json.loads(json.dumps(document).replace('"ndvi"', '"no_such_process"'))
    errors = validation_errors(broken)
    assert errors and errors[0].code == "ProcessUnsupported"


GOOD_UDF = "import xarray\n\ndef apply_datacube(cube, context):\n    return cube * 2\n"


def test_check_udf_accepts_entry_points() -> None:
    info = check_udf(GOOD_UDF)
    assert info.entry_point == "apply_datacube" and info.parameters == ["cube", "context"]
    assert check_udf("def apply_timeseries(series, context):\n    return series\n",
                     expected="apply_timeseries").entry_point == "apply_timeseries"
    assert check_udf("def apply_datacube(cube, context):\n    pass\n").warnings


@pytest.mark.parametrize("code, message", [
    ("def apply_datacube(cube, context):\n  return (", "syntax error"),
    ("def helper(x):\n    return x\n", "none of the entry points"),
    ("def apply_datacube(cube):\n    return cube\n", "must accept 2"),
    ("def apply_datacube(cube, context, extra):\n    return cube\n", "requires 3"),
    ("async def apply_datacube(cube, context):\n    return cube\n", "async"),
])
def test_check_udf_rejects_bad_code(code: str, message: str) -> None:
    with pytest.raises(ProcessParameterInvalid, match=message):
        check_udf(code)


def test_udf_sources_and_callbacks(tmp_path) -> None:
    path = tmp_path / "my_udf.py"
    path.write_text(GOOD_UDF)
    assert udf_code(str(path)) == GOOD_UDF == udf_code(path)

    def apply_datacube(cube, context):
        return cube

    assert udf_code(apply_datacube).startswith("def apply_datacube(cube, context):")
    with pytest.raises(ProcessParameterInvalid):
        udf_code(str(tmp_path / "missing.py"))
    callback = run_udf_callback(GOOD_UDF, data_parameter="x", context={"a": 1})
    node = callback["process_graph"]["runudf1"]
    assert node["arguments"] == {"data": {"from_parameter": "x"}, "udf": GOOD_UDF, "runtime": "Python",
                                 "context": {"a": 1}}
    with pytest.raises(ProcessParameterInvalid):
        run_udf_callback("print('no entry point')")
    udf = to_openeo_udf(path, version="3.11")
    assert udf.code == GOOD_UDF and udf.version == "3.11"
