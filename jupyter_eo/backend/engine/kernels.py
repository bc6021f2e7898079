"""Fused numpy kernels: callbacks compiled to tiny interpreters and running temporal reducers."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from jupyter_eo.graph.walk import (is_callback, is_from_node, is_from_parameter, result_node,
                                   topological_order)


class Unsupported(Exception):
    """The callback uses something the fused path cannot run; use the general path."""


def _divide(x: Any, y: Any) -> Any:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.divide(x, y)


def _normdiff(x: Any, y: Any) -> Any:
    with np.errstate(divide="ignore", invalid="ignore"):
        return (x - y) / (x + y)


def _log(x: Any, base: Any) -> Any:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x) / math.log(base)


def _lsr(x: Any, inputMin: Any, inputMax: Any, outputMin: Any = 0, outputMax: Any = 1) -> Any:
    lo, hi = min(inputMin, inputMax), max(inputMin, inputMax)
    clipped = np.clip(x, lo, hi)
    return (clipped - inputMin) / (inputMax - inputMin) * (outputMax - outputMin) + outputMin


def _unary(func: Callable[[Any], Any]) -> Callable[..., Any]:
    def run(x: Any) -> Any:
        with np.errstate(divide="ignore", invalid="ignore"):
            return func(x)
    run.__name__ = getattr(func, "__name__", "unary")
    return run


# elementwise processes: openEO id -> (numpy implementation, parameter names)
ELEMENTWISE: dict[str, tuple[Callable[..., Any], tuple[str, ...]]] = {
    "add": (lambda x, y: np.add(x, y), ("x", "y")),
    "subtract": (lambda x, y: np.subtract(x, y), ("x", "y")),
    "multiply": (lambda x, y: np.multiply(x, y), ("x", "y")),
    "divide": (_divide, ("x", "y")),
    "power": (lambda base, p: np.power(base, p, dtype=np.result_type(base, p, np.float32)),
              ("base", "p")),
    "sqrt": (_unary(np.sqrt), ("x",)),
    "absolute": (lambda x: np.abs(x), ("x",)),
    "ln": (_unary(np.log), ("x",)),
    "log": (_log, ("x", "base")),
    "exp": (lambda p: np.exp(p), ("p",)),
    "sin": (lambda x: np.sin(x), ("x",)),
    "cos": (lambda x: np.cos(x), ("x",)),
    "tan": (lambda x: np.tan(x), ("x",)),
    "arctan": (lambda x: np.arctan(x), ("x",)),
    "normalized_difference": (_normdiff, ("x", "y")),
    "clip": (lambda x, min, max: np.clip(x, min, max), ("x", "min", "max")),
    "linear_scale_range": (_lsr, ("x", "inputMin", "inputMax", "outputMin", "outputMax")),
}
CONSTANTS = {"pi": math.pi, "e": math.e}

# --- comparisons and logic on nullable booleans (float32 1/0/NaN, like the general path) ---


def _f32(value: Any) -> Any:
    if isinstance(value, bool):
        return np.float32(value)
    return value


def _nullable(result: Any, *operands: Any) -> Any:
    out = np.asarray(result, dtype=np.float32)
    null = None
    for op in operands:
        if isinstance(op, np.ndarray) and op.dtype.kind == "f":
            m = np.isnan(op)
            null = m if null is None else (null | m)
        elif op is None or (isinstance(op, float) and math.isnan(op)):
            return np.full(np.shape(out), np.nan, dtype=np.float32)
    if null is not None:
        out = np.where(null, np.float32(np.nan), out)
    return out


def _compare(op: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    def run(x: Any, y: Any) -> Any:
        with np.errstate(invalid="ignore"):
            return _nullable(op(x, y), x, y)
    return run


def _eq(x: Any, y: Any, delta: Any = None, case_sensitive: bool = True) -> Any:
    with np.errstate(invalid="ignore"):
        result = np.abs(x - y) <= delta if delta is not None else np.equal(x, y)
    return _nullable(result, x, y)


def _neq(x: Any, y: Any, delta: Any = None, case_sensitive: bool = True) -> Any:
    return 1 - _eq(x, y, delta)


def _between(x: Any, min: Any, max: Any, exclude_max: bool = False) -> Any:
    with np.errstate(invalid="ignore"):
        upper = np.less(x, max) if exclude_max else np.less_equal(x, max)
        return _nullable(np.greater_equal(x, min) & upper, x)


def _truth(x: Any) -> tuple[Any, Any]:
    x = _f32(x)
    return np.equal(x, 1), np.equal(x, 0)


def _from_masks(true: Any, false: Any) -> Any:
    return np.where(true, np.float32(1), np.where(false, np.float32(0), np.float32(np.nan)))


def _and(x: Any, y: Any) -> Any:
    (tx, fx), (ty, fy) = _truth(x), _truth(y)
    return _from_masks(tx & ty, fx | fy)


def _or(x: Any, y: Any) -> Any:
    (tx, fx), (ty, fy) = _truth(x), _truth(y)
    return _from_masks(tx | ty, fx & fy)


def _xor(x: Any, y: Any) -> Any:
    (tx, fx), (ty, fy) = _truth(x), _truth(y)
    return _from_masks((tx & fy) | (fx & ty), (tx & ty) | (fx & fy))


def _not(x: Any) -> Any:
    tx, fx = _truth(x)
    return _from_masks(fx, tx)


def _any_equal(x: Any, values: tuple[Any, ...]) -> Any:
    """``or(eq(x, v1), eq(x, v2), ...)`` in one pass: 1/0, NaN where ``x`` is NaN.

    Same comparisons as the chain (``np.equal`` per value), so results are identical; an
    operand that is not an array (or a None/NaN scalar) goes through the chain itself.
    """
    if not isinstance(x, np.ndarray):
        return _fold(_or, [_eq(x, v) for v in values])
    hit = np.equal(x, values[0])
    for v in values[1:]:
        hit |= np.equal(x, v)
    out = hit.astype(np.float32)
    if x.dtype.kind == "f":
        np.copyto(out, np.float32(np.nan), where=np.isnan(x))
    return out


def _if(value: Any, accept: Any, reject: Any = None) -> Any:
    accept = np.nan if accept is None else _f32(accept)
    reject = np.nan if reject is None else _f32(reject)
    return np.where(np.equal(_f32(value), 1), accept, reject)


# processes on nullable booleans: id -> (implementation, parameters, constants allowed)
LOGIC: dict[str, tuple[Callable[..., Any], tuple[str, ...]]] = {
    "eq": (_eq, ("x", "y", "delta", "case_sensitive")),
    "neq": (_neq, ("x", "y", "delta", "case_sensitive")),
    "gt": (_compare(np.greater), ("x", "y")),
    "gte": (_compare(np.greater_equal), ("x", "y")),
    "lt": (_compare(np.less), ("x", "y")),
    "lte": (_compare(np.less_equal), ("x", "y")),
    "between": (_between, ("x", "min", "max", "exclude_max")),
    "and": (_and, ("x", "y")),
    "or": (_or, ("x", "y")),
    "xor": (_xor, ("x", "y")),
    "not": (_not, ("x",)),
    "if": (_if, ("value", "accept", "reject")),
    "is_nan": (lambda x: np.isnan(x), ("x",)),
    "is_nodata": (lambda x: np.isnan(x), ("x",)),
    "is_valid": (lambda x: np.isfinite(x), ("x",)),
}
_BOOL_CONSTANTS = {"and", "or", "xor", "not", "if", "between", "eq", "neq"}


def _fold(func: Callable[[Any, Any], Any], items: list[Any]) -> Any:
    out = items[0]
    for item in items[1:]:
        out = func(out, item)
    return out


def _array_sum(data: list[Any], ignore_nodata: bool = True) -> Any:
    if not ignore_nodata:
        return _fold(np.add, data)
    valid = _fold(np.add, [~np.isnan(d) for d in data])
    total = _fold(np.add, [np.where(np.isnan(d), 0, d) for d in data])
    return np.where(valid > 0, total, np.nan)


def _array_mean(data: list[Any], ignore_nodata: bool = True) -> Any:
    if not ignore_nodata:
        return _fold(np.add, data) / len(data)
    valid = _fold(np.add, [(~np.isnan(d)).astype(np.int32) for d in data])
    total = _fold(np.add, [np.where(np.isnan(d), 0, d) for d in data])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(valid > 0, total / np.maximum(valid, 1), np.nan)


# reducers over the band array inside a band callback: id -> implementation(list, ignore_nodata)
ARRAY_REDUCERS: dict[str, Callable[..., Any]] = {
    "max": lambda data, ignore_nodata=True: _fold(np.fmax if ignore_nodata else np.maximum, data),
    "min": lambda data, ignore_nodata=True: _fold(np.fmin if ignore_nodata else np.minimum, data),
    "sum": _array_sum,
    "mean": _array_mean,
}


@dataclass
class CompiledCallback:
    """A callback graph runnable on numpy blocks; ``array_param`` receives a list of 2-D blocks."""

    steps: list[tuple[str, str, dict[str, tuple[str, Any]]]]
    result: str
    array_param: str | None
    value_param: str | None
    labels: tuple[str, ...]

    def __call__(self, value: Any) -> Any:
        env: dict[str, Any] = {}
        for nid, pid, args in self.steps:
            kwargs = {}
            for name, (kind, ref) in args.items():
                kwargs[name] = env[ref] if kind == "node" else (value if kind == "param" else ref)
            if pid == "array_element":
                env[nid] = self._element(kwargs)
            elif pid == ANY_EQUAL:
                env[nid] = _any_equal(kwargs["x"], kwargs["values"])
            elif pid in ARRAY_REDUCERS:
                env[nid] = ARRAY_REDUCERS[pid](kwargs["data"],
                                               kwargs.get("ignore_nodata", True))
            elif pid in CONSTANTS:
                env[nid] = CONSTANTS[pid]
            elif pid in LOGIC:
                env[nid] = LOGIC[pid][0](**kwargs)
            else:
                env[nid] = ELEMENTWISE[pid][0](**kwargs)
        return env[self.result]

    def _element(self, kwargs: dict[str, Any]) -> Any:
        data = kwargs["data"]
        if kwargs.get("label") is not None:
            return data[self.labels.index(kwargs["label"])]
        return data[int(kwargs["index"])]


def compile_callback(graph: dict[str, Any], *, array_param: str | None = None,
                     value_param: str | None = None, labels: tuple[str, ...] = (),
                     context: Any = None) -> CompiledCallback:
    """Compile a callback for the fused path or raise :class:`Unsupported`.

    ``array_param`` names the parameter holding the dimension's values (band list) for
    reducers; ``value_param`` the parameter holding a single pixel value (``apply``).
    """
    try:
        order = topological_order(graph)
        final = result_node(graph)
    except ValueError as exc:
        raise Unsupported(str(exc)) from exc
    steps = []
    array_nodes: set[str] = set()
    for nid in order:
        node = graph[nid]
        pid = node.get("process_id")
        if node.get("namespace") not in (None, "backend", "openeo", "core"):
            raise Unsupported(pid)
        args: dict[str, tuple[str, Any]] = {}
        for name, value in (node.get("arguments") or {}).items():
            if is_from_node(value):
                args[name] = ("node", value["from_node"])
            elif is_from_parameter(value):
                pname = value["from_parameter"]
                if pname == array_param or pname == value_param:
                    args[name] = ("param", pname)
                elif pname == "context":
                    args[name] = ("const", context)
                else:
                    raise Unsupported(f"parameter {pname}")
            elif is_callback(value) or isinstance(value, (dict, list)):
                raise Unsupported(f"{pid}.{name}")
            else:
                args[name] = ("const", value)
        data_ref = args.get("data")
        takes_array = data_ref is not None and (
            data_ref == ("param", array_param) if array_param else False)
        if pid == "array_element":
            if not takes_array or set(args) - {"data", "index", "label", "return_nodata"}:
                raise Unsupported(pid)
            label = args.get("label", ("const", None))[1]
            if label is not None and label not in labels:
                raise Unsupported("unknown label")
            if label is None and not isinstance(args.get("index", ("", None))[1], int):
                raise Unsupported("array_element index")
            if label is None and not 0 <= args["index"][1] < len(labels):
                raise Unsupported("array_element index out of range")
            args.pop("return_nodata", None)
        elif pid in ARRAY_REDUCERS:
            if not takes_array or set(args) - {"data", "ignore_nodata"}:
                raise Unsupported(pid)
        elif pid in CONSTANTS:
            if args:
                raise Unsupported(pid)
        elif pid in LOGIC:
            if set(args) - set(LOGIC[pid][1]):
                raise Unsupported(pid)
            if any(a == ("param", array_param) for a in args.values()):
                raise Unsupported(f"{pid} on an array")
            for name, (kind, v) in args.items():
                if kind != "const":
                    continue
                if name == "case_sensitive" or (v is None and pid == "if"):
                    continue
                if isinstance(v, bool) and pid in _BOOL_CONSTANTS:
                    continue
                if not isinstance(v, (int, float)) or isinstance(v, bool):
                    raise Unsupported(f"{pid} with constant {v!r}")
        elif pid in ELEMENTWISE:
            allowed = ELEMENTWISE[pid][1]
            if set(args) - set(allowed):
                raise Unsupported(pid)
            if any(a == ("param", array_param) for a in args.values()):
                raise Unsupported(f"{pid} on an array")
            if any(kind == "const" and not isinstance(v, (int, float)) or isinstance(v, bool)
                   for kind, v in args.values()):
                raise Unsupported(f"{pid} with non-numeric constant")
        else:
            raise Unsupported(pid)
        if any(kind == "node" and ref in array_nodes for kind, ref in args.values()):
            raise Unsupported("array-valued intermediate")
        steps.append((nid, pid, args))
    return CompiledCallback(_fuse_any_equal(steps, final), final, array_param, value_param,
                            labels)


ANY_EQUAL = "__any_equal__"  # internal step: or-chain of eq(x, constant) on one operand

Step = tuple[str, str, dict[str, tuple[str, Any]]]


def _eq_constant(args: dict[str, tuple[str, Any]]) -> tuple[tuple[str, Any], Any] | None:
    """(operand ref, constant) of an ``eq`` against a plain number, else None."""
    if set(args) - {"x", "y", "case_sensitive"} or "x" not in args or "y" not in args:
        return None
    for ref, const in ((args["x"], args["y"]), (args["y"], args["x"])):
        if ref[0] in ("node", "param") and const[0] == "const":
            value = const[1]
            if isinstance(value, (int, float)) and not isinstance(value, bool) \
                    and math.isfinite(value):
                return ref, value
    return None


def _fuse_any_equal(steps: list[Step], final: str) -> list[Step]:
    """Rewrite ``or`` trees over ``eq(x, number)`` of one operand ``x`` (the usual SCL cloud
    mask: six classes, five ``or``) into one :func:`_any_equal` step; drop unused steps."""
    uses: dict[str, int] = {}
    for _nid, _pid, args in steps:
        for kind, ref in args.values():
            if kind == "node":
                uses[ref] = uses.get(ref, 0) + 1
    sets: dict[str, tuple[tuple[str, Any], tuple[Any, ...]]] = {}
    out: list[Step] = []
    for nid, pid, args in steps:
        if pid == "eq":
            found = _eq_constant(args)
            if found is not None:
                sets[nid] = (found[0], (found[1],))
        elif pid == "or" and set(args) == {"x", "y"}:
            a, b = args["x"], args["y"]
            if a[0] == b[0] == "node" and a[1] in sets and b[1] in sets \
                    and sets[a[1]][0] == sets[b[1]][0] \
                    and uses.get(a[1]) == 1 and uses.get(b[1]) == 1:
                ref = sets[a[1]][0]
                values = sets[a[1]][1] + sets[b[1]][1]
                sets[nid] = (ref, values)
                out.append((nid, ANY_EQUAL, {"x": ref, "values": ("const", values)}))
                continue
        out.append((nid, pid, args))
    # keep only steps the result depends on (the fused eq/or are no longer referenced)
    by_id = {nid: (pid, args) for nid, pid, args in out}
    needed, stack = set(), [final]
    while stack:
        nid = stack.pop()
        if nid in needed or nid not in by_id:
            continue
        needed.add(nid)
        stack.extend(ref for kind, ref in by_id[nid][1].values() if kind == "node")
    return [step for step in out if step[0] in needed]


# --- running reducers over time ---------------------------------------------------------------

STREAMING = {"max", "min", "sum", "mean", "count", "first", "last", "product"}
STACKED = {"median", "sd", "variance"}
TEMPORAL_REDUCERS = STREAMING | STACKED


class Accumulator:
    """Folds 2-D blocks one time step at a time (or stacks them for median/sd/variance)."""

    def __init__(self, reducer: str, ignore_nodata: bool = True) -> None:
        self.reducer = reducer
        self.ignore = ignore_nodata
        self.acc: Any = None
        self.count: Any = None
        self.stack: list[Any] = []

    def add(self, block: np.ndarray) -> None:
        r = self.reducer
        if r in STACKED:
            self.stack.append(block)
            return
        nan = np.isnan(block)
        if self.acc is None:
            if r == "count":
                self.acc = (~nan).astype(np.int64)
            elif r in ("sum", "mean", "product") and self.ignore:
                self.acc = np.where(nan, 1 if r == "product" else 0, block).astype(block.dtype)
                self.count = (~nan).astype(np.int32)
            else:
                self.acc = np.array(block, copy=True)
            return
        acc = self.acc
        if r == "max":
            (np.fmax if self.ignore else np.maximum)(acc, block, out=acc)
        elif r == "min":
            (np.fmin if self.ignore else np.minimum)(acc, block, out=acc)
        elif r == "count":
            acc += ~nan
        elif r in ("sum", "mean", "product"):
            if self.ignore:
                op = np.multiply if r == "product" else np.add
                op(acc, np.where(nan, 1 if r == "product" else 0, block), out=acc)
                self.count += ~nan
            else:
                (np.multiply if r == "product" else np.add)(acc, block, out=acc)
        elif r == "first":
            if self.ignore:
                fill = np.isnan(acc)
                acc[fill] = block[fill]
        elif r == "last":
            if self.ignore:
                np.copyto(acc, block, where=~nan)
            else:
                np.copyto(acc, block)

    def result(self, n_steps: int) -> np.ndarray:
        r = self.reducer
        if r in STACKED:
            stack = np.stack(self.stack)
            with np.errstate(all="ignore"):
                import warnings

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    if not self.ignore:
                        func = {"median": np.median, "sd": lambda a, axis: np.std(a, axis, ddof=1),
                                "variance": lambda a, axis: np.var(a, axis, ddof=1)}[r]
                    else:
                        func = {"median": _nanmedian_owned,
                                "sd": lambda a, axis: np.nanstd(a, axis, ddof=1),
                                "variance": lambda a, axis: np.nanvar(a, axis, ddof=1)}[r]
                    return func(stack, axis=0).astype(stack.dtype, copy=False)
        if r in ("sum", "product", "mean") and self.ignore:
            with np.errstate(divide="ignore", invalid="ignore"):
                if r == "mean":
                    return np.where(self.count > 0, self.acc / np.maximum(self.count, 1),
                                    np.nan).astype(self.acc.dtype, copy=False)
                return np.where(self.count > 0, self.acc, np.nan).astype(self.acc.dtype,
                                                                          copy=False)
        if r == "mean":
            return self.acc / n_steps
        return self.acc


def _nanmedian_owned(stack: np.ndarray, axis: int = 0) -> np.ndarray:
    """:func:`nanmedian` of a freshly stacked array, which it may sort in place."""
    return nanmedian(stack, axis, overwrite_input=True)


def nanmedian(stack: np.ndarray, axis: int = 0, overwrite_input: bool = False) -> np.ndarray:
    """Median over axis 0 ignoring NaN (sort once, pick the middle; faster than np.nanmedian).
    ``overwrite_input``: ``stack`` may be sorted in place (saves a copy)."""
    nan = np.isnan(stack)
    if not nan.any():
        return np.median(stack, axis=0, overwrite_input=overwrite_input)
    valid = stack.shape[0] - nan.sum(axis=0)
    del nan
    if overwrite_input:
        stack.sort(axis=0)  # NaN sorts last
        ordered = stack
    else:
        ordered = np.sort(stack, axis=0)
    lo = np.take_along_axis(ordered, np.maximum(valid - 1, 0)[None] // 2, axis=0)[0]
    hi = np.take_along_axis(ordered, np.minimum(valid // 2, stack.shape[0] - 1)[None],
                            axis=0)[0]
    out = (lo + hi) / 2
    out[valid == 0] = np.nan
    return out


def reducer_of(graph: dict[str, Any], array_param: str = "data") -> tuple[str, bool]:
    """``(reducer, ignore_nodata)`` when the callback is one temporal reducer on its data."""
    if len(graph) != 1:
        raise Unsupported("reducer callback with several nodes")
    node = next(iter(graph.values()))
    pid = node.get("process_id")
    args = node.get("arguments") or {}
    if pid not in TEMPORAL_REDUCERS or args.get("data") != {"from_parameter": array_param}:
        raise Unsupported(f"reducer {pid}")
    extra = set(args) - {"data", "ignore_nodata"}
    ignore = args.get("ignore_nodata", True)
    if extra or not isinstance(ignore, bool):
        raise Unsupported(f"reducer {pid} arguments")
    return pid, ignore
