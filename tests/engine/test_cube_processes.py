"""Cube processes through evaluate() on a small, realistically shaped cube."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from jupyter_eo.backend.engine import SaveResult, evaluate, materialize
from jupyter_eo.backend.engine.vector import VectorCube
from jupyter_eo.errors import OpenEOError

from .conftest import as_float
from .graphs import load, param, reducer, ref


def run(ctx, *nodes, bands=("B02", "B04", "B08")):
    g = {"load": load(list(bands) if bands else None)}
    prev = "load"
    for i, (pid, args) in enumerate(nodes):
        args = {"data": ref(prev), **args} if "data" not in args else args
        g[f"n{i}"] = {"process_id": pid, "arguments": args}
        prev = f"n{i}"
    g[prev]["result"] = True
    return materialize(evaluate(g, ctx), ctx)


def floats(cube, bands=("B02", "B04", "B08")):
    return as_float(cube.sel(bands=list(bands)).values)


def test_filter_bands_common_names(ctx, cube):
    out = run(ctx, ("filter_bands", {"bands": ["nir", "B02"]}))
    assert list(out.bands.values) == ["B08", "B02"]
    np.testing.assert_array_equal(out.values, floats(cube, ("B08", "B02")))


def test_filter_temporal_and_empty_extent(ctx):
    out = run(ctx, ("filter_temporal", {"extent": ["2021-06-06", None]}))
    assert out.sizes["t"] == 5
    with pytest.raises(OpenEOError) as info:
        run(ctx, ("filter_temporal", {"extent": ["2021-06-06", "2021-06-01"]}))
    assert info.value.code == "TemporalExtentEmpty"


def test_filter_bbox_in_wgs84(ctx, cube):
    from pyproj import Transformer

    tr = Transformer.from_crs(32633, 4326, always_xy=True)
    west, south = tr.transform(400_100, 4_999_700)
    east, north = tr.transform(400_300, 4_999_900)
    out = run(ctx, ("filter_bbox", {"extent": {"west": west, "south": south, "east": east,
                                               "north": north}}))
    assert 18 <= out.sizes["x"] <= 22 and 18 <= out.sizes["y"] <= 22
    assert out.x.min() >= 400_090 and out.x.max() <= 400_310


SQUARE = {"type": "Polygon", "coordinates": [[[400_000, 4_999_800], [400_200, 4_999_800],
                                               [400_200, 5_000_000], [400_000, 5_000_000],
                                               [400_000, 4_999_800]]],
          "crs": {"type": "name", "properties": {"name": "EPSG:32633"}}}
TRIANGLE = {"type": "Polygon", "coordinates": [[[400_000, 5_000_000], [400_200, 5_000_000],
                                                 [400_000, 4_999_800], [400_000, 5_000_000]]]}


def test_mask_polygon_and_filter_spatial(ctx):
    geo = {"type": "FeatureCollection", "crs": SQUARE["crs"],
           "features": [{"type": "Feature", "geometry": TRIANGLE, "properties": {}}]}
    out = run(ctx, ("filter_spatial", {"geometries": geo}))
    assert out.sizes["x"] == 20 and out.sizes["y"] == 20
    valid = out.isel(t=0, bands=0).notnull().values
    assert valid[0, 5] and not valid[19, 19]  # upper-left triangle kept
    inside = run(ctx, ("mask_polygon", {"mask": geo, "inside": True, "replacement": -1}))
    assert float(inside.isel(t=0, bands=0, y=5, x=2)) == -1


def test_mask_with_cube(ctx, cube):
    g = {"load": load(["B04", "B08"]), "m": load(["B02"]),
         "cond": {"process_id": "apply", "arguments": {"data": ref("m"), "process": {
             "process_graph": {"g": {"process_id": "gt", "arguments": {"x": param("x"),
                                                                        "y": 1500},
                                     "result": True}}}}},
         "drop": {"process_id": "drop_dimension", "arguments": {"data": ref("cond"),
                                                                 "name": "bands"}},
         "out": {"process_id": "mask", "arguments": {"data": ref("load"), "mask": ref("drop")},
                 "result": True}}
    # drop_dimension only works for one label: B02 was the only band
    out = materialize(evaluate(g, ctx), ctx)
    blue = as_float(cube.sel(bands="B02").values)
    expected = np.where((blue > 1500)[:, None], np.nan, floats(cube, ("B04", "B08")))
    np.testing.assert_array_equal(out.values, expected)


def test_aggregate_temporal_spec_example_shape(ctx, cube):
    intervals = [["2021-06-01", "2021-06-11"], ["2021-06-11", "2021-06-21"],
                 ["2021-07-01", "2021-08-01"]]
    out = run(ctx, ("aggregate_temporal", {"intervals": intervals, "labels": ["a", "b", "c"],
                                            "reducer": reducer("mean")}))
    assert list(out.t.values) == ["a", "b", "c"]
    with np.errstate(all="ignore"):
        import warnings

        warnings.simplefilter("ignore")
        expected = np.nanmean(floats(cube)[0:2], axis=0)
    np.testing.assert_allclose(out.sel(t="a").values, expected, rtol=1e-6, equal_nan=True)
    assert out.sel(t="c").isnull().all()


def test_aggregate_temporal_period_month_and_dekad(ctx):
    out = run(ctx, ("aggregate_temporal_period", {"period": "month", "reducer": reducer("max")}))
    assert list(out.t.values) == ["2021-06"]
    out = run(ctx, ("aggregate_temporal_period", {"period": "dekad",
                                                  "reducer": reducer("count")}))
    assert list(out.t.values) == ["2021-16", "2021-17", "2021-18"]
    assert int(out.sel(t="2021-16").isel(bands=0, y=5, x=5)) == 2


@pytest.mark.parametrize("fusable", [True, False])
def test_aggregate_temporal_period_without_time_steps_is_an_openeo_error(ctx, fusable):
    keep_all = {"process_graph": {"m": {"process_id": "max", "arguments": {
        "data": param("data")}, "result": True}}} if fusable else {"process_graph": {
            "m": {"process_id": "max", "arguments": {"data": param("data")}},
            "a": {"process_id": "add", "arguments": {"x": ref("m"), "y": 1}, "result": True}}}
    with pytest.raises(OpenEOError) as err:
        run(ctx, ("filter_temporal", {"extent": ["1999-01-01", "1999-02-01"]}),
            ("aggregate_temporal_period", {"period": "month", "reducer": keep_all}))
    assert err.value.code == "ProcessParameterInvalid" and "no time steps" in err.value.message


def test_aggregate_spatial_vector_cube(ctx, cube):
    geo = {"type": "FeatureCollection", "crs": SQUARE["crs"], "features": [
        {"type": "Feature", "geometry": SQUARE, "properties": {"name": "square"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [400_055, 4_999_955]},
         "properties": {"name": "point"}}]}
    g = {"load": load(["B04"]), "agg": {"process_id": "aggregate_spatial", "arguments": {
        "data": ref("load"), "geometries": geo, "reducer": reducer("mean"),
        "target_dimension": "result"}},
         "save": {"process_id": "save_result", "arguments": {"data": ref("agg"),
                                                             "format": "JSON"}, "result": True}}
    result = evaluate(g, ctx)
    assert isinstance(result, SaveResult) and isinstance(result.data, VectorCube)
    vc = materialize(result, ctx).data
    assert vc.values.dims == ("geometry", "t", "bands", "result")
    block = floats(cube, ("B04",))[:, 0, 0:20, 0:20]
    with np.errstate(all="ignore"):
        import warnings

        warnings.simplefilter("ignore")
        expected = np.nanmean(block.reshape(block.shape[0], -1), axis=1)
    np.testing.assert_allclose(vc.values.sel(result="value").isel(geometry=0, bands=0).values,
                               expected, rtol=1e-6)
    assert int(vc.values.sel(result="total_count").isel(geometry=0, t=0, bands=0)) == 400
    point = vc.values.sel(result="value").isel(geometry=1, t=2, bands=0).item()
    assert point == pytest.approx(float(floats(cube, ("B04",))[2, 0, 4, 5]))
    gj = vc.to_geojson()
    assert gj["features"][0]["properties"]["name"] == "square"
    assert vc.to_records()["dims"] == ["geometry", "t", "bands", "result"]


def test_merge_cubes_bands_and_resolver(ctx, cube):
    g = {"a": load(["B04"]), "b": load(["B08"]),
         "m": {"process_id": "merge_cubes", "arguments": {"cube1": ref("a"), "cube2": ref("b")},
               "result": True}}
    out = materialize(evaluate(g, ctx), ctx)
    assert list(out.bands.values) == ["B04", "B08"]
    g["b"] = load(["B04"])
    with pytest.raises(OpenEOError) as info:
        evaluate(g, ctx)
    assert info.value.code == "OverlapResolverMissing"
    g["m"]["arguments"]["overlap_resolver"] = {"process_graph": {"s": {
        "process_id": "add", "arguments": {"x": param("x"), "y": param("y")}, "result": True}}}
    out = materialize(evaluate(g, ctx), ctx)
    np.testing.assert_array_equal(out.values, 2 * floats(cube, ("B04",)))


def test_dimension_processes(ctx):
    labels = evaluate({"l": load(["B04", "B08"]), "d": {"process_id": "dimension_labels",
                       "arguments": {"data": ref("l"), "dimension": "t"}, "result": True}}, ctx)
    assert labels[0] == "2021-06-01T00:00:00Z" and len(labels) == 6
    out = run(ctx, ("rename_labels", {"dimension": "bands", "source": ["B02", "B04", "B08"],
                                      "target": ["blue", "red", "nir"]}))
    assert list(out.bands.values) == ["blue", "red", "nir"]
    out = run(ctx, ("rename_dimension", {"source": "bands", "target": "spectral"}))
    assert "spectral" in out.dims
    out = run(ctx, ("reduce_dimension", {"dimension": "t", "reducer": reducer("max")}),
              ("add_dimension", {"name": "t", "label": "2021-01-01", "type": "temporal"}),
              ("drop_dimension", {"name": "t"}))
    assert out.dims == ("bands", "y", "x")
    with pytest.raises(OpenEOError) as info:
        run(ctx, ("drop_dimension", {"name": "t"}))
    assert info.value.code == "DimensionLabelCountMismatch"
    with pytest.raises(OpenEOError) as info:
        run(ctx, ("reduce_dimension", {"dimension": "nope", "reducer": reducer("max")}))
    assert info.value.code == "DimensionNotAvailable"


def test_trim_cube(ctx):
    geo = {**SQUARE}
    out = run(ctx, ("mask_polygon", {"mask": geo}), ("trim_cube", {}))
    assert out.sizes["x"] == 20 and out.sizes["y"] == 20


def test_resample_spatial(ctx):
    out = run(ctx, ("resample_spatial", {"resolution": 20, "method": "average"}))
    assert out.sizes["x"] == 25 and out.sizes["y"] == 20
    assert out.dims == ("t", "bands", "y", "x")
    out = run(ctx, ("resample_spatial", {"projection": 4326}))
    assert out.rio.crs.to_epsg() == 4326 and 13 < float(out.x.mean()) < 16


def test_resample_cube_spatial_and_temporal(ctx, cube):
    g = {"a": load(["B04"]), "b": load(["B08"]),
         "coarse": {"process_id": "resample_spatial", "arguments": {"data": ref("b"),
                                                                   "resolution": 20}},
         "r": {"process_id": "resample_cube_spatial", "arguments": {
             "data": ref("a"), "target": ref("coarse"), "method": "near"}, "result": True}}
    out = materialize(evaluate(g, ctx), ctx)
    assert out.sizes["x"] == 25
    g = {"a": load(["B04"]), "b": load(["B08"]),
         "f": {"process_id": "filter_temporal", "arguments": {"data": ref("b"),
                                                             "extent": ["2021-06-10", None]}},
         "r": {"process_id": "resample_cube_temporal", "arguments": {
             "data": ref("a"), "target": ref("f")}, "result": True}}
    out = materialize(evaluate(g, ctx), ctx)
    assert out.sizes["t"] == 4
    np.testing.assert_array_equal(out.isel(t=0).values, floats(cube, ("B04",))[2])


def test_apply_dimension_and_kernel(ctx, cube):
    sort = {"process_graph": {"s": {"process_id": "sort", "arguments": {
        "data": param("data")}, "result": True}}}
    out = run(ctx, ("apply_dimension", {"dimension": "bands", "process": sort}))
    vals = out.isel(t=0, y=5, x=5).values
    assert list(vals) == sorted(vals)
    kernel = [[1, 1, 1], [1, 1, 1], [1, 1, 1]]
    out = run(ctx, ("apply_kernel", {"kernel": kernel, "factor": 1 / 9}), bands=["B04"])
    src = np.nan_to_num(floats(cube, ("B04",)))
    np.testing.assert_allclose(out.values[0, 0, 5, 5], src[0, 0, 4:7, 4:7].mean(), rtol=1e-5)
    with pytest.raises(OpenEOError) as info:
        run(ctx, ("apply_kernel", {"kernel": [[1, 1]]}))
    assert info.value.code == "KernelDimensionsUneven"


def test_apply_neighborhood_identity(ctx, cube):
    ident = {"process_graph": {"a": {"process_id": "absolute", "arguments": {
        "x": param("data")}, "result": True}}}
    size = [{"dimension": "x", "value": 16, "unit": "px"},
            {"dimension": "y", "value": 16, "unit": "px"}]
    overlap = [{"dimension": "x", "value": 4, "unit": "px"},
               {"dimension": "y", "value": 4, "unit": "px"}]
    out = run(ctx, ("apply_neighborhood", {"process": ident, "size": size, "overlap": overlap}))
    np.testing.assert_array_equal(out.values, floats(cube))


def test_create_data_cube_and_load_stac_unavailable(ctx):
    out = evaluate({"c": {"process_id": "create_data_cube", "arguments": {}, "result": True}},
                   ctx)
    assert isinstance(out, xr.DataArray) and out.ndim == 0
    with pytest.raises(OpenEOError) as info:
        evaluate({"s": {"process_id": "load_stac", "arguments": {"url": "x"}, "result": True}},
                 ctx)
    assert info.value.code == "FeatureUnsupported"


def test_max_pixels(ctx):
    ctx.max_pixels = 100
    with pytest.raises(OpenEOError) as info:
        run(ctx)
    assert info.value.code == "PayloadTooLarge"


def test_save_result_plain_value(ctx):
    g = {"a": {"process_id": "add", "arguments": {"x": 1, "y": 2}},
         "s": {"process_id": "save_result", "arguments": {"data": ref("a"), "format": "JSON"},
               "result": True}}
    result = evaluate(g, ctx)
    assert result == SaveResult(3, "JSON", {})


def test_time_labels_are_datetimes(ctx):
    out = run(ctx)
    assert isinstance(pd.DatetimeIndex(out.t.values), pd.DatetimeIndex)


def test_resample_spatial_near_reads_at_target_grid(ctx, catalog, cube):
    g = {"load": load(["B04", "B08"]),
         "f": {"process_id": "filter_bands", "arguments": {"data": ref("load"),
                                                           "bands": ["B08"]}},
         "r": {"process_id": "resample_spatial", "arguments": {
             "data": ref("f"), "resolution": 20, "method": "near"}},
         "m": {"process_id": "reduce_dimension", "arguments": {
             "data": ref("r"), "dimension": "t", "reducer": reducer("max")}, "result": True}}
    lazy = evaluate(g, ctx)
    assert catalog.collections["S2"].calls[-1]["resolution"] == 20.0
    assert len(dict(lazy.data.__dask_graph__())) < 20  # still one fused pass
    out = materialize(lazy, ctx)
    expected = np.nanmax(floats(cube, ("B08",))[:, :, ::2, ::2], axis=0)
    np.testing.assert_array_equal(out.values, expected)
