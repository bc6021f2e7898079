"""Elementwise math/comparison/logic on scalars, numpy, DataArrays and dask: broadcasting, nulls,
dtypes, laziness; each array result equals the scalar process applied per element."""
from __future__ import annotations

import itertools
from typing import Any

import dask
import numpy as np
import pytest
import xarray as xr
from procs_testlib import call_process

from jupyter_eo.backend.processes.values import truthy
from jupyter_eo.errors import OpenEOError

X = np.array([[-2.5, 0.0, np.nan], [1.5, 3.0, -0.4]], dtype=np.float32)
Y = np.array([[2.0, np.nan, 1.0], [1.5, -2.0, 4.0]], dtype=np.float32)

BINARY_MATH = ["add", "subtract", "multiply", "divide", "mod", "arctan2"]
UNARY_MATH = ["absolute", "sgn", "sqrt", "ceil", "floor", "int", "round", "exp", "ln", "sin",
              "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arsinh",
              "arcosh", "artanh"]
COMPARISONS = ["eq", "neq", "gt", "gte", "lt", "lte"]


def _null(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v)


def _same(a: Any, e: Any) -> bool:
    if _null(e):
        return _null(a)
    return not _null(a) and a == pytest.approx(e, rel=1e-5, abs=1e-6)


def _elements(array: np.ndarray) -> list[Any]:
    return [None if v != v else v for v in array.ravel().tolist()]


def _names(process_id: str) -> tuple[str, str]:
    return ("y", "x") if process_id == "arctan2" else ("x", "y")


@pytest.mark.parametrize("process_id", BINARY_MATH + COMPARISONS)
def test_binary_on_dataarrays_matches_scalars(process_id: str) -> None:
    a, b = _names(process_id)
    xa = xr.DataArray(X, dims=("y", "x"))
    ya = xr.DataArray(Y, dims=("y", "x"))
    result = call_process(process_id, {a: xa, b: ya})
    assert isinstance(result, xr.DataArray) and result.dims == ("y", "x")
    if process_id in COMPARISONS:
        assert result.dtype == np.float32  # nullable boolean: NaN operands give null
    else:
        assert result.dtype == np.float32
    for got, x, y in zip(_elements(result.values), _elements(X), _elements(Y)):
        expected = call_process(process_id, {a: x, b: y})
        if isinstance(expected, bool):
            expected = float(expected)
        assert _same(got, expected), (process_id, x, y, got, expected)


@pytest.mark.parametrize("process_id", UNARY_MATH)
def test_unary_on_dataarrays_matches_scalars(process_id: str) -> None:
    name = "p" if process_id == "exp" else "x"
    xa = xr.DataArray(X, dims=("y", "x"))
    result = call_process(process_id, {name: xa})
    assert result.dtype == np.float32 and result.dims == ("y", "x")
    for got, x in zip(_elements(result.values), _elements(X)):
        assert _same(got, call_process(process_id, {name: x})), (process_id, x)


@pytest.mark.parametrize("process_id", ["add", "multiply", "gt", "lte", "eq"])
def test_broadcasting_with_scalars_and_numpy(process_id: str) -> None:
    xa = xr.DataArray(X, dims=("y", "x"))
    with_scalar = call_process(process_id, {"x": xa, "y": np.float64(1.5)})
    assert with_scalar.dtype in (np.float32, bool)
    with_numpy = call_process(process_id, {"x": X, "y": 1.5})
    assert isinstance(with_numpy, np.ndarray)
    np.testing.assert_array_equal(np.asarray(with_scalar.values, float),
                                  np.asarray(with_numpy, float))
    with_null = call_process(process_id, {"x": xa, "y": None})
    assert bool(np.isnan(np.asarray(with_null, float)).all())


def test_integer_bands_do_not_wrap() -> None:
    b4 = xr.DataArray(np.array([[100, 5000]], dtype=np.uint16), dims=("y", "x"))
    b8 = xr.DataArray(np.array([[50, 6000]], dtype=np.uint16), dims=("y", "x"))
    diff = call_process("subtract", {"x": b8, "y": b4})
    assert diff.dtype == np.float32 and diff.values.tolist() == [[-50.0, 1000.0]]
    nd = call_process("normalized_difference", {"x": b8, "y": b4})
    np.testing.assert_allclose(nd.values, [[-50 / 150, 1000 / 11000]], rtol=1e-6)
    assert call_process("gt", {"x": b8, "y": b4}).dtype == bool


def test_linear_scale_range_and_clip_arrays() -> None:
    xa = xr.DataArray(X, dims=("y", "x"))
    scaled = call_process("linear_scale_range", {"x": xa, "inputMin": -1, "inputMax": 1,
                                                 "outputMin": 0, "outputMax": 255})
    assert scaled.dtype == np.float32
    assert float(scaled.max()) == 255 and float(scaled.min()) == 0
    assert np.isnan(scaled.values[0, 2])
    clipped = call_process("clip", {"x": xa, "min": 0, "max": 1})
    np.testing.assert_array_equal(clipped.values, np.clip(X, 0, 1))
    assert call_process("normalized_difference", {"x": 3, "y": 1}) == 0.5


TRI = [True, False, None]


@pytest.mark.parametrize("process_id", ["and", "or", "xor"])
def test_three_valued_logic_on_arrays(process_id: str) -> None:
    pairs = list(itertools.product(TRI, TRI))
    as_float = lambda v: np.nan if v is None else float(v)  # noqa: E731
    xs = xr.DataArray(np.array([as_float(a) for a, _ in pairs], np.float32), dims="i")
    ys = xr.DataArray(np.array([as_float(b) for _, b in pairs], np.float32), dims="i")
    result = call_process(process_id, {"x": xs, "y": ys})
    for got, (a, b) in zip(_elements(result.values), pairs):
        expected = call_process(process_id, {"x": a, "y": b})
        assert _same(got, None if expected is None else float(expected)), (a, b)
    # pure boolean arrays stay boolean
    xb = xr.DataArray(np.array([True, False, True]), dims="i")
    assert call_process(process_id, {"x": xb, "y": ~xb}).dtype == bool


def test_not_if_and_truthy_on_nullable_booleans() -> None:
    xa = xr.DataArray(X, dims=("y", "x"))
    mask = call_process("gt", {"x": xa, "y": 0})          # null where X is NaN
    negated = call_process("not", {"x": mask})
    assert np.isnan(negated.values[0, 2]) and negated.values[1, 0] == 0
    picked = call_process("if", {"value": mask, "accept": xa, "reject": 0})
    assert picked.dtype == np.float32
    np.testing.assert_array_equal(picked.values, np.where(X > 0, X, 0))
    assert truthy(mask).dtype == bool and not bool(truthy(mask).values[0, 2])
    assert call_process("if", {"value": mask, "accept": 1}).values[0, 0] != \
        call_process("if", {"value": mask, "accept": 1}).values[0, 0]  # NaN: reject=null


def test_value_checks_on_arrays() -> None:
    data = np.array([1.0, np.nan, np.inf], dtype=np.float32)
    assert call_process("is_nan", {"x": data}).tolist() == [False, True, False]
    assert call_process("is_nodata", {"x": data}).tolist() == [False, True, False]
    assert call_process("is_valid", {"x": data}).tolist() == [True, False, False]
    assert call_process("is_infinite", {"x": data}).tolist() == [False, False, True]
    assert call_process("is_infinite", {"x": float("-inf")}) is True
    assert call_process("is_valid", {"x": float("inf")}) is False
    assert call_process("between", {"x": data, "min": 0, "max": 2}).tolist()[0] == 1.0


def _forbid_compute(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("a dask graph was computed before the result was asked for")


def test_elementwise_chain_stays_lazy_on_dask() -> None:
    red = xr.DataArray(X, dims=("y", "x")).chunk({"y": 1})
    nir = xr.DataArray(Y, dims=("y", "x")).chunk({"y": 1})
    with dask.config.set(scheduler=_forbid_compute):
        nd = call_process("normalized_difference", {"x": nir, "y": red})
        mask = call_process("and", {"x": call_process("gt", {"x": nd, "y": -0.5}),
                                    "y": call_process("not", {"x": call_process(
                                        "is_nan", {"x": red})})})
        out = call_process("if", {"value": mask, "accept": call_process("round", {"x": nd,
                                                                                  "p": 2})})
    assert out.chunks is not None and out.dtype == np.float32
    expected = np.where((((Y - X) / (Y + X)) > -0.5) & ~np.isnan(X), np.round((Y - X) / (Y + X), 2),
                        np.nan)
    np.testing.assert_allclose(out.values, expected, rtol=1e-6)


@pytest.mark.parametrize("process_id, arguments", [
    ("add", {"x": "a", "y": 1}), ("multiply", {"x": [1], "y": 2}), ("and", {"x": 1.5, "y": True}),
    ("text_begins", {"data": 5, "pattern": "a"}), ("date_shift", {"date": "2020-13-01",
                                                                   "value": 1, "unit": "day"}),
    ("date_shift", {"date": "2020-01-01", "value": 1, "unit": "fortnight"}),
    ("quantiles", {"data": [1, 2]}), ("quantiles", {"data": [1, 2], "probabilities": [0.5, 0.1]}),
    ("mean", {"data": ["a", "b"]}), ("linear_scale_range", {"x": 1, "inputMin": None,
                                                            "inputMax": 2}),
])
def test_bad_input_gives_openeo_error(process_id: str, arguments: dict) -> None:
    with pytest.raises(OpenEOError) as info:
        call_process(process_id, arguments)
    assert info.value.status == 400 and info.value.code
    assert info.value.to_dict()["message"]


def test_modulo_sign_rules_and_division_by_zero() -> None:
    assert call_process("mod", {"x": 2, "y": 0}) == float("inf")
    assert call_process("mod", {"x": -2, "y": 0}) == float("-inf")
    assert call_process("mod", {"x": 0, "y": 0}) != call_process("mod", {"x": 0, "y": 0})
    data = xr.DataArray(np.array([7.5, -7.5, 0.0, 3.0], dtype=np.float32), dims="i")
    divisor = xr.DataArray(np.array([-2.0, 2.0, 0.0, 0.0], dtype=np.float32), dims="i")
    got = call_process("mod", {"x": data, "y": divisor})
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got.values[:2], [-0.5, 0.5])
    assert np.isnan(got.values[2]) and got.values[3] == np.inf
    assert call_process("divide", {"x": -1, "y": 0}) == float("-inf")


@pytest.mark.parametrize("x, p, expected", [(2.5, 0, 2), (3.5, 0, 4), (-0.5, 0, 0), (0.125, 2, 0.12),
                                            (0.375, 2, 0.38), (-1250, -2, -1200), (1350, -2, 1400)])
def test_round_half_to_even(x: float, p: int, expected: float) -> None:
    assert call_process("round", {"x": x, "p": p}) == pytest.approx(expected)
    array = call_process("round", {"x": np.array([x], dtype=np.float64), "p": p})
    assert array[0] == pytest.approx(expected)
