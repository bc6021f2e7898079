"""Reducers on (ARRAY_DIM, y, x) DataArrays equal the per-pixel list results, and stay lazy on dask."""
from __future__ import annotations

from typing import Any

import dask
import numpy as np
import pytest
import xarray as xr
from procs_testlib import assert_same, call_process, to_plain

from jupyter_eo.backend.processes.registry import ARRAY_DIM

REDUCER_CASES = [
    ("min", {}), ("max", {}), ("mean", {}), ("median", {}), ("sd", {}), ("variance", {}),
    ("sum", {}), ("product", {}), ("count", {}), ("count", {"condition": True}),
    ("first", {}), ("last", {}), ("extrema", {}),
    ("quantiles", {"probabilities": [0.1, 0.5, 0.9]}), ("quantiles", {"probabilities": 4}),
    ("all", {}), ("any", {}),
]
NODATA_FLAG = {"count"}  # processes without ignore_nodata


def _cube(seed: int = 0, boolean: bool = False) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(6, 4, 5)).astype(np.float32)
    if boolean:
        values = (values > 0).astype(np.float32)
    values[rng.random(values.shape) < 0.25] = np.nan
    values[:, 0, 0] = np.nan          # an all-null pixel
    values[:, 1, 1] = values[0, 1, 1]  # a constant pixel (possibly null)
    values[:, 2, 2] = 1.0              # no nulls at all
    return xr.DataArray(values, dims=(ARRAY_DIM, "y", "x"),
                        coords={"y": np.arange(4) * 10.0, "x": np.arange(5) * 10.0})


def _pixel_list(da: xr.DataArray, y: int, x: int) -> list[Any]:
    out = []
    for v in da.isel(y=y, x=x).values.tolist():
        if v != v:
            out.append(None)
        elif da.attrs.get("boolean"):
            out.append(bool(v))
        else:
            out.append(v)
    return out


def _compare(vectorised: Any, expected: Any) -> None:
    if isinstance(expected, list):
        assert len(vectorised) == len(expected)
        for a, e in zip(vectorised, expected):
            _compare(a, e)
    elif isinstance(expected, bool):
        assert vectorised == expected or (vectorised is None and expected is None)
    elif expected is None:
        assert vectorised is None or vectorised != vectorised
    else:
        assert vectorised == pytest.approx(expected, rel=1e-5, abs=1e-5)


@pytest.mark.parametrize("ignore_nodata", [True, False])
@pytest.mark.parametrize("process_id, extra", REDUCER_CASES,
                         ids=[f"{p}-{i}" for i, (p, _) in enumerate(REDUCER_CASES)])
def test_reducer_matches_per_pixel(process_id: str, extra: dict, ignore_nodata: bool) -> None:
    boolean = process_id in ("all", "any")
    da = _cube(boolean=boolean)
    if boolean:
        da.attrs["boolean"] = True
    args = dict(extra)
    if process_id not in NODATA_FLAG:
        args["ignore_nodata"] = ignore_nodata
    result = call_process(process_id, {"data": da, **args})
    assert isinstance(result, xr.DataArray)
    if process_id in ("extrema", "quantiles"):
        assert result.dims == (ARRAY_DIM, "y", "x")
    else:
        assert result.dims == ("y", "x")
        np.testing.assert_array_equal(result["y"].values, da["y"].values)
    for y in range(4):
        for x in range(5):
            expected = call_process(process_id, {"data": _pixel_list(da, y, x), **args})
            got = to_plain(result.isel(y=y, x=x))
            if boolean and got is not None and got == got:
                got = bool(got)
            _compare(got, expected)


@pytest.mark.parametrize("process_id", ["min", "max", "mean", "sum", "sd", "first", "last",
                                        "count"])
def test_float32_stays_float32(process_id: str) -> None:
    result = call_process(process_id, {"data": _cube()})
    if process_id == "count":
        assert result.dtype.kind == "i"
    else:
        assert result.dtype == np.float32


def _forbid_compute(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("a dask graph was computed before the result was asked for")


@pytest.mark.parametrize("process_id, extra", [("min", {}), ("max", {}), ("mean", {}),
                                               ("sum", {}), ("sd", {}), ("first", {}),
                                               ("last", {}), ("count", {}),
                                               ("extrema", {}),
                                               ("median", {}),
                                               ("quantiles", {"probabilities": [0.5]})])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_reducers_stay_lazy_on_dask(process_id: str, extra: dict) -> None:
    da = _cube().chunk({"y": 2, "x": 5})
    with dask.config.set(scheduler=_forbid_compute):
        result = call_process(process_id, {"data": da, **extra})
    assert result.chunks is not None
    eager = call_process(process_id, {"data": _cube(), **extra})
    np.testing.assert_allclose(result.values, eager.values, rtol=1e-6, equal_nan=True)


def test_empty_array_dimension_gives_null() -> None:
    da = _cube().isel({ARRAY_DIM: slice(0, 0)})
    for process_id in ("min", "max", "mean", "median", "sum", "first", "last"):
        result = call_process(process_id, {"data": da})
        assert result.dims == ("y", "x") and bool(result.isnull().all())
    assert int(call_process("count", {"data": da}).max()) == 0


def test_list_results_are_python_values() -> None:
    assert_same(call_process("mean", {"data": [1, 2, None]}), 1.5)
    assert call_process("max", {"data": [1, 5, 2]}) == 5
    assert isinstance(call_process("max", {"data": [1, 5, 2]}), int)
    assert call_process("count", {"data": [1, None, "a"]}) == 2
