"""run_udf: Python UDFs in a child process with openeo.udf signatures and limits."""
from __future__ import annotations

import numpy as np
import pytest

from jupyter_eo.backend.engine import evaluate
from jupyter_eo.errors import OpenEOError

from .conftest import as_float
from .graphs import load, param, ref

UDF = """
from openeo.udf import XarrayDataCube

def apply_datacube(cube: XarrayDataCube, context: dict) -> XarrayDataCube:
    array = cube.get_array()
    return XarrayDataCube(array * context["factor"])
"""


def graph(udf: str, context=None) -> dict:
    return {"l": load(["B04"]), "u": {"process_id": "run_udf", "arguments": {
        "data": ref("l"), "udf": udf, "runtime": "Python",
        "context": context or {"factor": 3}}, "result": True}}


def test_udf_disabled_by_default(ctx):
    with pytest.raises(OpenEOError) as info:
        evaluate(graph(UDF), ctx)
    assert info.value.code == "FeatureUnsupported"


def test_udf_runs_in_child(ctx, cube):
    ctx.udf_enabled = True
    out = evaluate(graph(UDF), ctx)
    np.testing.assert_allclose(out.values, 3 * as_float(cube.sel(bands=["B04"]).values),
                               equal_nan=True)


def test_udf_timeout_and_error(ctx):
    ctx.udf_enabled = True
    ctx.udf_timeout = 2
    slow = UDF.replace("array = cube.get_array()", "import time; time.sleep(30)")
    with pytest.raises(OpenEOError) as info:
        evaluate(graph(slow), ctx)
    assert info.value.code == "UdfTimeout"
    ctx.udf_timeout = 60
    broken = UDF.replace("array * context", "array * undefined_name * context")
    with pytest.raises(OpenEOError) as info:
        evaluate(graph(broken), ctx)
    assert info.value.code == "UdfError" and "undefined_name" in info.value.message


def test_udf_in_apply_dimension_callback(ctx, cube):
    ctx.udf_enabled = True
    g = {"l": load(["B04"]), "a": {"process_id": "apply_dimension", "arguments": {
        "data": ref("l"), "dimension": "t", "process": {"process_graph": {"u": {
            "process_id": "run_udf", "arguments": {"data": param("data"), "udf": UDF,
                                                   "runtime": "Python",
                                                   "context": {"factor": 2}},
            "result": True}}}}, "result": True}}
    out = evaluate(g, ctx)
    np.testing.assert_allclose(out.values, 2 * as_float(cube.sel(bands=["B04"]).values),
                               equal_nan=True)


DIMS_UDF = """
from openeo.udf import XarrayDataCube

def apply_datacube(cube: XarrayDataCube, context: dict) -> XarrayDataCube:
    array = cube.get_array()
    assert "t" in array.dims and not any(d.startswith("__") for d in array.dims), array.dims
    return XarrayDataCube(array.rolling(t=2, min_periods=1).mean())
"""


@pytest.mark.parametrize("dimension", ["t", "bands"])
def test_udf_in_apply_dimension_sees_the_real_dimension_name(ctx, cube, dimension):
    ctx.udf_enabled = True
    g = {"l": load(["B04", "B08"]), "a": {"process_id": "apply_dimension", "arguments": {
        "data": ref("l"), "dimension": dimension, "process": {"process_graph": {"u": {
            "process_id": "run_udf", "arguments": {"data": param("data"), "udf": DIMS_UDF,
                                                   "runtime": "Python"},
            "result": True}}}}, "result": True}}
    out = evaluate(g, ctx)
    raw = cube.sel(bands=["B04", "B08"])
    source = raw.astype("float32").where(raw != 0)
    expected = source.rolling(t=2, min_periods=1).mean()
    assert out.dims == source.dims
    np.testing.assert_allclose(out.values, expected.values, equal_nan=True)


def test_udf_child_gets_no_backend_or_cloud_secrets(ctx, cube, monkeypatch):
    ctx.udf_enabled = True
    for name in ("JUPYTER_EO_BACKEND_PASSWORD", "JUPYTER_EO_KERNEL_SECRET",
                 "AWS_SECRET_ACCESS_KEY", "OPENEO_AUTH_TOKEN"):
        monkeypatch.setenv(name, "s3cret-value")
    snooping = UDF.replace("array = cube.get_array()", "import os\n    array = cube.get_array()\n"
                           "    leaked = [k for k, v in os.environ.items() if v == 's3cret-value']\n"
                           "    assert not leaked, leaked")
    out = evaluate(graph(snooping), ctx)
    np.testing.assert_allclose(out.values, 3 * as_float(cube.sel(bands=["B04"]).values),
                               equal_nan=True)
