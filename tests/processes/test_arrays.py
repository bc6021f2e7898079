"""Array processes on DataArrays along ARRAY_DIM: labels, callbacks, errors, per-pixel equivalence."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from procs_testlib import MiniContext, assert_same, call_process, to_plain

from jupyter_eo.backend.processes.registry import ARRAY_DIM
from jupyter_eo.errors import ProcessArgumentInvalid


def _bands_cube() -> xr.DataArray:
    rng = np.random.default_rng(1)
    values = rng.uniform(0, 1, size=(3, 4, 5)).astype(np.float32)
    values[1, 0, 0] = np.nan
    return xr.DataArray(values, dims=(ARRAY_DIM, "y", "x"),
                        coords={ARRAY_DIM: ["B04", "B08", "B11"], "y": np.arange(4.0),
                                "x": np.arange(5.0)})


def _time_cube() -> xr.DataArray:
    rng = np.random.default_rng(2)
    values = rng.normal(size=(7, 3, 4)).astype(np.float32)
    values[rng.random(values.shape) < 0.3] = np.nan
    times = pd.date_range("2020-01-01", periods=7, freq="5D")
    return xr.DataArray(values, dims=(ARRAY_DIM, "y", "x"), coords={ARRAY_DIM: times})


def _pixel(da: xr.DataArray, y: int, x: int) -> list[Any]:
    return [None if v != v else v for v in da.isel(y=y, x=x).values.tolist()]


def test_array_element_by_label_and_index() -> None:
    cube = _bands_cube()
    nir = call_process("array_element", {"data": cube, "label": "B08"})
    assert nir.dims == ("y", "x") and nir.dtype == np.float32
    np.testing.assert_array_equal(nir.values, cube.values[1])
    assert ARRAY_DIM not in nir.coords
    red = call_process("array_element", {"data": cube, "index": 0})
    np.testing.assert_array_equal(red.values, cube.values[0])


def test_array_element_temporal_label() -> None:
    cube = _time_cube()
    got = call_process("array_element", {"data": cube, "label": "2020-01-06T00:00:00Z"})
    np.testing.assert_array_equal(got.values, cube.values[1])


@pytest.mark.parametrize("arguments, code", [
    ({"label": "B99"}, "ArrayElementNotAvailable"),
    ({"index": 3}, "ArrayElementNotAvailable"),
    ({}, "ArrayElementParameterMissing"),
    ({"index": 0, "label": "B04"}, "ArrayElementParameterConflict"),
])
def test_array_element_errors(arguments: dict, code: str) -> None:
    with pytest.raises(ProcessArgumentInvalid) as info:
        call_process("array_element", {"data": _bands_cube(), **arguments})
    assert info.value.code == code and info.value.status == 400


def test_array_element_label_on_unlabeled_array() -> None:
    with pytest.raises(ProcessArgumentInvalid) as info:
        call_process("array_element", {"data": [1, 2], "label": "a"})
    assert info.value.code == "ArrayNotLabeled"
    with pytest.raises(ProcessArgumentInvalid):
        call_process("array_element", {"data": [1, 2], "index": 5})


def test_array_element_return_nodata() -> None:
    got = call_process("array_element", {"data": _bands_cube(), "label": "B99",
                                         "return_nodata": True})
    assert got.dims == ("y", "x") and bool(got.isnull().all())


def test_array_labels() -> None:
    assert call_process("array_labels", {"data": _bands_cube()}) == ["B04", "B08", "B11"]
    labels = call_process("array_labels", {"data": _time_cube()})
    assert labels[:2] == ["2020-01-01T00:00:00Z", "2020-01-06T00:00:00Z"]
    assert call_process("array_labels", {"data": ["a", "b"]}) == [0, 1]


def test_array_apply_vectorised_keeps_labels(ctx: MiniContext) -> None:
    cube = _bands_cube()
    graph = {"process_graph": {
        "m": {"process_id": "multiply", "arguments": {"x": {"from_parameter": "x"}, "y": 2}},
        "a": {"process_id": "add", "arguments": {"x": {"from_node": "m"},
                                                 "y": {"from_parameter": "index"}},
              "result": True}}}
    got = call_process("array_apply", {"data": cube, "process": graph}, ctx)
    assert got.dims == cube.dims and list(got[ARRAY_DIM].values) == ["B04", "B08", "B11"]
    expected = cube.values * 2 + np.arange(3)[:, None, None]
    np.testing.assert_allclose(got.values, expected, rtol=1e-6)


def test_array_apply_list_and_constant_result(ctx: MiniContext) -> None:
    graph = {"process_graph": {"c": {"process_id": "constant", "arguments": {"x": 7},
                                     "result": True}}}
    assert call_process("array_apply", {"data": [1, 2, 3], "process": graph}, ctx) == [7, 7, 7]
    got = call_process("array_apply", {"data": _bands_cube(), "process": graph}, ctx)
    assert got.shape == (3, 4, 5) and int(got.max()) == 7


def test_array_filter_by_label_keeps_selection(ctx: MiniContext) -> None:
    cube = _bands_cube()
    condition = lambda x, index, label, context: label != "B08"  # noqa: E731
    got = call_process("array_filter", {"data": cube, "condition": condition}, ctx)
    assert list(got[ARRAY_DIM].values) == ["B04", "B11"]


def test_array_filter_per_pixel_compacts(ctx: MiniContext) -> None:
    cube = _time_cube()
    graph = {"process_graph": {"g": {"process_id": "gt", "arguments": {
        "x": {"from_parameter": "x"}, "y": 0}, "result": True}}}
    got = call_process("array_filter", {"data": cube, "condition": graph}, ctx)
    assert got.dims == cube.dims
    for y in range(3):
        for x in range(4):
            values = _pixel(cube, y, x)
            expected = call_process("array_filter", {"data": values, "condition": graph}, ctx)
            row = _pixel(got, y, x)
            assert row[:len(expected)] == pytest.approx(expected)
            assert all(v is None for v in row[len(expected):])


def test_count_condition_vectorised(ctx: MiniContext) -> None:
    cube = _time_cube()
    graph = {"process_graph": {"g": {"process_id": "gt", "arguments": {
        "x": {"from_parameter": "x"}, "y": 0}, "result": True}}}
    got = call_process("count", {"data": cube, "condition": graph}, ctx)
    assert got.dims == ("y", "x")
    for y in range(3):
        for x in range(4):
            expected = call_process("count", {"data": _pixel(cube, y, x), "condition": graph}, ctx)
            assert int(got.values[y, x]) == expected
    assert call_process("count", {"data": [0, 1, 2, 3, None], "condition": graph}, ctx) == 3


def test_find_and_contains_vectorised() -> None:
    data = xr.DataArray(np.array([[1, 2], [2, 2], [3, 1]], dtype=np.float32).T[:, :, None]
                        .transpose(1, 0, 2), dims=(ARRAY_DIM, "y", "x"))
    first = call_process("array_find", {"data": data, "value": 2})
    last = call_process("array_find", {"data": data, "value": 2, "reverse": True})
    for y in range(data.sizes["y"]):
        values = data.isel(y=y, x=0).values.tolist()
        assert_same(to_plain(first.isel(y=y, x=0)), call_process("array_find",
                                                                  {"data": values, "value": 2}))
        assert_same(to_plain(last.isel(y=y, x=0)), call_process(
            "array_find", {"data": values, "value": 2, "reverse": True}))
    contains = call_process("array_contains", {"data": data, "value": 3})
    assert contains.dtype == bool and contains.dims == ("y", "x")
    assert call_process("array_contains", {"data": data, "value": "3"}).sum() == 0


def test_concat_append_create_on_cubes() -> None:
    cube = _bands_cube()
    doubled = call_process("array_concat", {"array1": cube, "array2": cube.isel(
        {ARRAY_DIM: [0]}).assign_coords({ARRAY_DIM: ["X"]})})
    assert list(doubled[ARRAY_DIM].values) == ["B04", "B08", "B11", "X"]
    with pytest.raises(ProcessArgumentInvalid) as info:
        call_process("array_concat", {"array1": cube, "array2": cube})
    assert info.value.code == "ArrayLabelConflict"
    mixed = call_process("array_concat", {"array1": cube, "array2": [0.5]})
    assert mixed.sizes[ARRAY_DIM] == 4 and ARRAY_DIM not in mixed.coords
    np.testing.assert_array_equal(mixed.values[3], np.full((4, 5), 0.5))
    appended = call_process("array_append", {"data": cube, "value": 1.0, "label": "ONE"})
    assert list(appended[ARRAY_DIM].values)[-1] == "ONE"
    with pytest.raises(ProcessArgumentInvalid) as info:
        call_process("array_append", {"data": cube, "value": 1.0, "label": "B04"})
    assert info.value.code == "LabelExists"
    created = call_process("array_create", {"data": cube, "repeat": 2})
    assert created.sizes[ARRAY_DIM] == 6


def test_labeled_arrays_round_trip() -> None:
    labeled = call_process("array_create_labeled", {"data": [1, 2, 3], "labels": ["a", "b", "c"]})
    assert call_process("array_element", {"data": labeled, "label": "b"}) == 2
    assert call_process("array_find_label", {"data": labeled, "label": "c"}) == 2
    assert call_process("array_find_label", {"data": labeled, "label": "z"}) is None
    assert call_process("array_find_label", {"data": [1, 2], "label": 0}) is None
    assert call_process("array_labels", {"data": labeled}) == ["a", "b", "c"]
    with pytest.raises(ProcessArgumentInvalid) as info:
        call_process("array_create_labeled", {"data": [1, 2], "labels": ["a"]})
    assert info.value.code == "ArrayLengthMismatch"
    modified = call_process("array_modify", {"data": labeled, "values": call_process(
        "array_create_labeled", {"data": [9], "labels": ["z"]}), "index": 1, "length": 1})
    assert call_process("array_labels", {"data": modified}) == ["a", "z", "c"]
    with pytest.raises(ProcessArgumentInvalid) as info:
        call_process("array_modify", {"data": [1], "values": [], "index": 2})
    assert info.value.code == "ArrayElementNotAvailable"


@pytest.mark.parametrize("process_id, args", [
    ("sort", {}), ("sort", {"asc": False, "nodata": True}), ("sort", {"nodata": False}),
    ("order", {"nodata": True}), ("order", {"asc": False, "nodata": False}), ("order", {}),
    ("array_interpolate_linear", {}),
    ("cumsum", {}), ("cumsum", {"ignore_nodata": False}), ("cummax", {}), ("cummin", {}),
    ("cumproduct", {}), ("cummin", {"ignore_nodata": False}),
])
def test_array_processes_match_per_pixel(process_id: str, args: dict) -> None:
    cube = _time_cube().drop_vars(ARRAY_DIM)
    got = call_process(process_id, {"data": cube, **args})
    assert got.dims == cube.dims
    for y in range(3):
        for x in range(4):
            expected = call_process(process_id, {"data": _pixel(cube, y, x), **args})
            row = _pixel(got, y, x)
            if process_id in ("sort", "order") and args.get("nodata") is None:
                row = row[:len(expected)]  # removed nulls are padding at the end
            assert len(row) == len(expected)
            for a, e in zip(row, expected):
                assert (a is None and e is None) or a == pytest.approx(e, rel=1e-5)


def test_order_then_rearrange_sorts_each_pixel() -> None:
    cube = _time_cube().drop_vars(ARRAY_DIM)
    permutation = call_process("order", {"data": cube, "nodata": True})
    rearranged = call_process("rearrange", {"data": cube, "order": permutation})
    expected = call_process("sort", {"data": cube, "nodata": True})
    np.testing.assert_array_equal(rearranged.values, expected.values)


def test_interpolation_uses_temporal_labels() -> None:
    times = pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-11"])
    data = xr.DataArray([0.0, np.nan, 10.0], dims=(ARRAY_DIM,), coords={ARRAY_DIM: times})
    got = call_process("array_interpolate_linear", {"data": data})
    assert float(got.values[1]) == pytest.approx(1.0)


def test_sort_temporal_strings_by_instant() -> None:
    dates = ["2020-01-01T02:00:00+03:00", "2020-01-01T00:00:00Z"]
    assert call_process("sort", {"data": dates}) == dates
    assert call_process("order", {"data": dates, "asc": False}) == [1, 0]


def test_callables_work_without_run_callback() -> None:
    """The engine may hand callbacks over as callables and a context without run_callback."""
    from jupyter_eo.backend.processes.arrays import array_apply, array_filter

    engine_ctx = object()
    assert array_apply(data=[1, 2], process=lambda x, index, label, context: x * 10,
                       ctx=engine_ctx) == [10, 20]
    assert array_filter(data=[1, 2, 3], condition=lambda x, **_: x > 1, ctx=engine_ctx) == [2, 3]


def test_importing_arrays_registers_all_array_families() -> None:
    import importlib

    from jupyter_eo.backend.processes.registry import REGISTRY

    importlib.import_module("jupyter_eo.backend.processes.arrays")
    for process_id in ("array_modify", "array_create_labeled", "sort", "order", "cumsum",
                       "array_interpolate_linear"):
        assert process_id in REGISTRY


def _forbid_compute(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("a dask graph was computed before the result was asked for")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("process_id, extra", [
    ("median", {}), ("quantiles", {"probabilities": [0.2, 0.5]}), ("first", {}), ("last", {}),
    ("sort", {}), ("order", {"nodata": True}), ("cumsum", {}), ("cummax", {}),
    ("array_interpolate_linear", {}), ("all", {}), ("any", {}), ("array_find", {"value": 0.0}),
    ("array_element", {"index": 3}), ("count", {}), ("extrema", {}),
])
def test_lazy_when_the_array_dimension_is_chunked(process_id: str, extra: dict) -> None:
    """One dask chunk per time step (e.g. one file per date) must still work, lazily."""
    eager = _time_cube().drop_vars(ARRAY_DIM)
    chunked = eager.chunk({ARRAY_DIM: 1, "y": 2})
    import dask

    with dask.config.set(scheduler=_forbid_compute):
        lazy = call_process(process_id, {"data": chunked, **extra})
    assert lazy.chunks is not None
    expected = call_process(process_id, {"data": eager, **extra})
    np.testing.assert_allclose(np.asarray(lazy.values, float), np.asarray(expected.values, float),
                               equal_nan=True, rtol=1e-5)


def test_infinite_values_in_interpolation_and_quantiles() -> None:
    inf = float("inf")
    got = call_process("array_interpolate_linear", {"data": [-inf, None, 0.1, None, 0.2, None, inf]})
    assert got[:3] == [-inf, -inf, 0.1] and got[3] == pytest.approx(0.15) and got[5:] == [inf, inf]
    got = call_process("quantiles", {"data": [1.5, inf, 5.75, -1.25],
                                     "probabilities": [0, 0.25, 0.5, 0.75, 1]})
    assert got == pytest.approx([-1.25, 0.8125, 3.625, inf, inf])
    got = call_process("quantiles", {"data": [1.5, -inf, 5.75, -1.25],
                                     "probabilities": [0, 0.25, 0.5]})
    assert got == pytest.approx([-inf, -inf, 0.125])


def test_negative_index_is_not_available() -> None:
    with pytest.raises(ProcessArgumentInvalid) as info:
        call_process("array_element", {"data": [1, 2], "index": -1})
    assert info.value.code == "ArrayElementNotAvailable"
    assert call_process("array_element", {"data": [1, 2], "index": -1, "return_nodata": True}) \
        is None


def test_reducing_a_labeled_1d_array_gives_python_scalars() -> None:
    labeled = call_process("array_create_labeled", {"data": [3, None, 5], "labels": ["a", "b", "c"]})
    assert call_process("max", {"data": labeled}) == 5
    assert call_process("mean", {"data": labeled}) == 4
    assert call_process("count", {"data": labeled}) == 2
    assert call_process("first", {"data": labeled}) == 3
    assert call_process("last", {"data": labeled, "ignore_nodata": False}) == 5
    assert call_process("text_concat", {"data": call_process(
        "array_create_labeled", {"data": ["x", "y"], "labels": [1, 2]}), "separator": "+"}) == "x+y"
    assert call_process("between", {"x": np.array([0.5, 2.0]), "min": 1, "max": 0}).tolist() \
        == [0.0, 0.0]
    assert call_process("date_shift", {"date": "2020-01-01", "value": 2.0, "unit": "day"}) == \
        "2020-01-03"


def test_append_to_temporal_labels() -> None:
    cube = _time_cube()
    appended = call_process("array_append", {"data": cube, "value": 0.0,
                                             "label": "2020-02-01T01:00:00+01:00"})
    assert call_process("array_labels", {"data": appended})[-1] == "2020-02-01T00:00:00Z"
    with pytest.raises(ProcessArgumentInvalid) as info:
        call_process("array_append", {"data": cube, "value": 0.0, "label": "2020-01-01"})
    assert info.value.code == "LabelExists"
