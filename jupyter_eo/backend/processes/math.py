"""Elementwise math processes: arithmetic, rounding, exponentials, trigonometry, constants, indices."""
from __future__ import annotations

import math as _math
from typing import Any

import numpy as np

from jupyter_eo.errors import ProcessArgumentInvalid, ProcessParameterInvalid

from .registry import process
from .values import check_number, is_array, is_null, numeric, to_py, where

# --- constants ------------------------------------------------------------------------------


@process("e")
def e() -> float:
    """Euler's number."""
    return _math.e


@process("pi")
def pi() -> float:
    """The number pi."""
    return _math.pi


@process("nan")
def nan() -> float:
    """Not a number."""
    return _math.nan


@process("constant")
def constant(x: Any) -> Any:
    """The value ``x`` itself."""
    return x


# --- arithmetic -----------------------------------------------------------------------------


@process("add")
def add(x: Any, y: Any) -> Any:
    """x + y."""
    return numeric("add", np.add, ("x", "y"), x, y)


@process("subtract")
def subtract(x: Any, y: Any) -> Any:
    """x - y."""
    return numeric("subtract", np.subtract, ("x", "y"), x, y)


@process("multiply")
def multiply(x: Any, y: Any) -> Any:
    """x * y."""
    return numeric("multiply", np.multiply, ("x", "y"), x, y)


def _true_divide(x: Any, y: Any) -> Any:
    if not is_array(x) and not is_array(y):
        return np.true_divide(float(x), float(y))  # IEEE: ±inf / NaN on division by zero
    return np.true_divide(x, y)


@process("divide")
def divide(x: Any, y: Any) -> Any:
    """x / y (division by zero gives ±infinity or NaN)."""
    return numeric("divide", _true_divide, ("x", "y"), x, y)


def _mod(x: Any, y: Any) -> Any:
    """Floored modulo; a modulo by zero gives ±infinity with the dividend's sign (0 → NaN)."""
    if not is_array(x) and not is_array(y):
        if y == 0:
            return _math.copysign(_math.inf, x) if x != 0 else _math.nan
        return np.mod(x, y)
    result = np.mod(x, y)
    if not is_array(y) and y != 0:
        return result
    return where(y == 0, np.sign(x) * np.inf, result)  # sign(0) * inf is NaN


@process("mod")
def mod(x: Any, y: Any) -> Any:
    """Remainder of x / y with the sign of the divisor."""
    return numeric("mod", _mod, ("x", "y"), x, y)


def _power(base: Any, p: Any) -> Any:
    if not is_array(base) and not is_array(p):
        if isinstance(base, int) and isinstance(p, int) and p >= 0:
            return base ** p
        return np.power(float(base), float(p))
    return np.power(base, p)


@process("power")
def power(base: Any, p: Any) -> Any:
    """base raised to the power p."""
    return numeric("power", _power, ("base", "p"), base, p)


@process("absolute")
def absolute(x: Any) -> Any:
    """|x|."""
    return numeric("absolute", np.abs, ("x",), x, promote_int=False)


@process("sgn")
def sgn(x: Any) -> Any:
    """The signum of x (-1, 0 or 1)."""
    return numeric("sgn", np.sign, ("x",), x, promote_int=False)


@process("sqrt")
def sqrt(x: Any) -> Any:
    """The square root of x."""
    return numeric("sqrt", np.sqrt, ("x",), x)


@process("clip")
def clip(x: Any, min: Any, max: Any) -> Any:  # noqa: A002 - spec parameter names
    """x clipped to [min, max]; null passes through; min > max is MinMaxSwapped (rc.2)."""
    for name, bound in (("min", min), ("max", max)):
        if is_array(bound) or is_null(bound):
            raise ProcessParameterInvalid(
                f"The value passed for parameter '{name}' in process 'clip' is invalid: "
                "expected a number.")
    if min > max:
        raise ProcessArgumentInvalid("MinMaxSwapped", "The minimum value should be lower "
                                     "than or equal to the maximum value.")
    return numeric("clip", lambda a, lo, hi: np.minimum(np.maximum(a, lo), hi),
                   ("x", "min", "max"), x, min, max, promote_int=False)


def _linear_scale(x: Any, in_min: Any, in_max: Any, out_min: Any, out_max: Any) -> Any:
    lo, hi = (in_min, in_max) if in_min <= in_max else (in_max, in_min)
    clipped = np.minimum(np.maximum(x, lo), hi)
    return (clipped - in_min) / (in_max - in_min) * (out_max - out_min) + out_min


@process("linear_scale_range")
def linear_scale_range(x: Any, inputMin: Any, inputMax: Any, outputMin: Any = 0,  # noqa: N803
                       outputMax: Any = 1) -> Any:  # noqa: N803
    """Linear transformation of x from [inputMin, inputMax] (clipped) to [outputMin, outputMax]."""
    for name, value in (("inputMin", inputMin), ("inputMax", inputMax),
                        ("outputMin", outputMin), ("outputMax", outputMax)):
        check_number("linear_scale_range", name, value)
        if is_null(value) or is_array(value):
            raise ProcessParameterInvalid(
                f"The value passed for parameter '{name}' in process 'linear_scale_range' is "
                "invalid: expected a number.")
    return numeric("linear_scale_range",
                   lambda a: _linear_scale(a, to_py(inputMin), to_py(inputMax),
                                           to_py(outputMin), to_py(outputMax)),
                   ("x",), x)


@process("normalized_difference")
def normalized_difference(x: Any, y: Any) -> Any:
    """(x - y) / (x + y)."""
    if isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and x.dtype == y.dtype \
            and x.dtype.kind == "f" and x.shape == y.shape:
        # numpy blocks (the fused path): two passes into one buffer, no third temporary;
        # the same IEEE operations as below, so the same bits
        with np.errstate(all="ignore"):
            out = np.subtract(x, y)
            return np.divide(out, np.add(x, y), out=out)

    def nd(a: Any, b: Any) -> Any:
        if not is_array(a) and not is_array(b):
            a, b = float(a), float(b)
        return (a - b) / (a + b)
    return numeric("normalized_difference", nd, ("x", "y"), x, y)


# --- rounding -------------------------------------------------------------------------------


def _integral(func: Any, x: Any, process_id: str) -> Any:
    if is_array(x) and x.dtype.kind in "iub":
        return x
    result = numeric(process_id, func, ("x",), x, promote_int=False)
    if not is_array(result) and result is not None and not is_null(result) \
            and not _math.isinf(result):
        return int(result)
    return result


@process("ceil")
def ceil(x: Any) -> Any:
    """Smallest integer >= x."""
    return _integral(np.ceil, x, "ceil")


@process("floor")
def floor(x: Any) -> Any:
    """Largest integer <= x."""
    return _integral(np.floor, x, "floor")


@process("int")
def int_(x: Any) -> Any:
    """The integer part of x (truncation towards zero)."""
    return _integral(np.trunc, x, "int")


@process("round")
def round_(x: Any, p: int = 0) -> Any:
    """x rounded to p decimals, ties to even (IEEE 754); negative p rounds to powers of ten."""
    p = int(p)
    def rounded(a: Any) -> Any:
        # DataArray/dask have their own round (np.round would load the data into memory)
        return a.round(p) if is_array(a) and not isinstance(a, np.ndarray) else np.round(a, p)

    result = numeric("round", rounded, ("x",), x, promote_int=False)
    if p <= 0 and isinstance(result, float) and _math.isfinite(result):
        return int(result)
    return result


# --- exponential and logarithmic ------------------------------------------------------------


def _float_scalar(func: Any) -> Any:
    def wrapped(*args: Any) -> Any:
        if not any(is_array(a) for a in args):
            args = tuple(float(a) for a in args)
        return func(*args)
    return wrapped


@process("exp")
def exp(p: Any) -> Any:
    """e to the power p."""
    return numeric("exp", _float_scalar(np.exp), ("p",), p)


@process("ln")
def ln(x: Any) -> Any:
    """Natural logarithm of x."""
    return numeric("ln", _float_scalar(np.log), ("x",), x)


@process("log")
def log(x: Any, base: Any) -> Any:
    """Logarithm of x to the given base."""
    def _log(a: Any, b: Any) -> Any:
        if not is_array(b):  # a Python float divisor keeps float32 data float32
            b = float(np.log(np.float64(b)))
        return np.log(a) / b
    return numeric("log", _float_scalar(_log), ("x", "base"), x, base)


# --- trigonometric and hyperbolic -----------------------------------------------------------

_UNARY = {
    "sin": np.sin, "cos": np.cos, "tan": np.tan,
    "arcsin": np.arcsin, "arccos": np.arccos, "arctan": np.arctan,
    "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh,
    "arsinh": np.arcsinh, "arcosh": np.arccosh, "artanh": np.arctanh,
}


def _make_unary(process_id: str, func: Any) -> Any:
    def unary(x: Any) -> Any:
        return numeric(process_id, _float_scalar(func), ("x",), x)
    unary.__name__ = process_id
    unary.__doc__ = f"Elementwise {process_id}(x)."
    return process(process_id)(unary)


for _pid, _func in _UNARY.items():
    globals()[_pid] = _make_unary(_pid, _func)


@process("arctan2")
def arctan2(y: Any, x: Any) -> Any:
    """The angle of the point (x, y) to the positive x axis, in radians."""
    return numeric("arctan2", _float_scalar(np.arctan2), ("y", "x"), y, x)

