"""First slice: load_collection + band math + temporal reduction + save_result."""
from __future__ import annotations

import numpy as np
import pytest

from jupyter_eo.backend.engine import SaveResult, evaluate, materialize
from jupyter_eo.backend.engine.plan import BlockPlan
from jupyter_eo.errors import CollectionNotFound, OpenEOError

from .conftest import as_float
from .graphs import load, ndvi_max_graph, ref


def _expected_ndvi(cube) -> np.ndarray:
    red = as_float(cube.sel(bands="B04").values)
    nir = as_float(cube.sel(bands="B08").values)
    with np.errstate(all="ignore"):
        return (nir - red) / (nir + red)


def test_ndvi_max_fused(ctx, cube):
    result = evaluate(ndvi_max_graph(), ctx)
    assert isinstance(result, SaveResult) and result.format == "GTiff"
    assert result.data.dims == ("y", "x")
    assert result.data.chunks is not None  # still lazy
    out = materialize(result, ctx).data
    with np.errstate(all="ignore"):
        expected = np.nanmax(_expected_ndvi(cube), axis=0)
    np.testing.assert_allclose(out.values, expected, rtol=1e-6, equal_nan=True)
    assert np.isnan(out.values[0, 0])
    assert out.rio.crs.to_epsg() == 32633
    np.testing.assert_array_equal(out.x.values, cube.x.values)


def test_load_collection_returns_plan_and_masks_nodata(ctx, cube):
    result = evaluate({"l": {**load(["B04"]), "result": True}}, ctx)
    assert result.dims == ("t", "bands", "y", "x") and result.dtype == np.float32
    values = result.values
    np.testing.assert_array_equal(np.isnan(values), cube.sel(bands=["B04"]).values == 0)


def test_load_collection_common_names(ctx, catalog):
    result = evaluate({"l": {**load(["nir", "red"]), "result": True}}, ctx)
    assert list(result.bands.values) == ["B08", "B04"]


def test_unknown_collection(ctx):
    with pytest.raises(CollectionNotFound):
        evaluate({"l": {**load(), "result": True} | {"arguments": {
            "id": "nope", "spatial_extent": None, "temporal_extent": None}}}, ctx)


def test_ndvi_process_fused(ctx, cube):
    g = {"l": load(), "n": {"process_id": "ndvi", "arguments": {"data": ref("l")},
                            "result": True}}
    out = evaluate(g, ctx)
    assert out.dims == ("t", "y", "x")
    np.testing.assert_allclose(out.values, _expected_ndvi(cube), rtol=1e-6, equal_nan=True)


def test_ndvi_target_band(ctx, cube):
    g = {"l": load(["B04", "B08"]), "n": {"process_id": "ndvi", "arguments": {
        "data": ref("l"), "target_band": "NDVI"}, "result": True}}
    out = evaluate(g, ctx)
    assert list(out.bands.values) == ["B04", "B08", "NDVI"]
    np.testing.assert_allclose(out.sel(bands="NDVI").values, _expected_ndvi(cube), rtol=1e-6,
                               equal_nan=True)


def test_invalid_graph_raises_before_running(ctx):
    g = {"l": {"process_id": "load_collection", "arguments": {"id": "S2", "bogus": 1},
               "result": True}}
    with pytest.raises(OpenEOError) as info:
        evaluate(g, ctx)
    assert info.value.code == "ProcessParameterUnsupported"
    assert ctx.catalog.collections["S2"].calls == []


def test_cancel(ctx):
    import threading

    ctx.cancel_event = threading.Event()
    ctx.cancel_event.set()
    with pytest.raises(OpenEOError) as info:
        evaluate({"l": {**load(), "result": True}}, ctx)
    assert info.value.code == "Cancelled"


def test_plan_type_is_internal(ctx):
    out = evaluate({"l": {**load(), "result": True}}, ctx)
    assert not isinstance(out, BlockPlan)
