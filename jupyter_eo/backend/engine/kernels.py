"""Fused numpy kernels: callbacks compiled to tiny interpreters and running temporal reducers."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import xarray as xr

from jupyter_eo.graph.walk import (is_callback, is_from_node, is_from_parameter, result_node,
                                   topological_order)


class Unsupported(Exception):
    """The callback uses something the fused path cannot run; use the general path."""


def process_function(pid: str) -> Callable[..., Any]:
    """The registered implementation of ``pid`` (the general path's one definition)."""
    from jupyter_eo.backend.processes.registry import REGISTRY

    if pid not in REGISTRY:
        import jupyter_eo.backend.processes  # noqa: F401  (registers every process)
    return REGISTRY[pid].func


def call_process(pid: str, kwargs: dict[str, Any]) -> Any:
    """Run the registered process ``pid`` with openEO argument names (``if`` -> ``if_``)."""
    from jupyter_eo.backend.processes.registry import REGISTRY

    process_function(pid)
    impl = REGISTRY[pid]
    return impl.func(**{impl.param_map.get(k, k): v for k, v in kwargs.items()})


# The fused path runs the very functions of ``backend/processes`` on numpy blocks; these tables
# only say which processes (and which of their parameters) a fused callback may use.
ELEMENTWISE: dict[str, tuple[str, ...]] = {
    "add": ("x", "y"), "subtract": ("x", "y"), "multiply": ("x", "y"), "divide": ("x", "y"),
    "power": ("base", "p"), "sqrt": ("x",), "absolute": ("x",), "ln": ("x",),
    "log": ("x", "base"), "exp": ("p",), "sin": ("x",), "cos": ("x",), "tan": ("x",),
    "arctan": ("x",), "normalized_difference": ("x", "y"), "clip": ("x", "min", "max"),
    "linear_scale_range": ("x", "inputMin", "inputMax", "outputMin", "outputMax"),
}
CONSTANTS = ("pi", "e")
LOGIC: dict[str, tuple[str, ...]] = {
    "eq": ("x", "y", "delta", "case_sensitive"), "neq": ("x", "y", "delta", "case_sensitive"),
    "gt": ("x", "y"), "gte": ("x", "y"), "lt": ("x", "y"), "lte": ("x", "y"),
    "between": ("x", "min", "max", "exclude_max"),
    "and": ("x", "y"), "or": ("x", "y"), "xor": ("x", "y"), "not": ("x",),
    "if": ("value", "accept", "reject"),
    "is_nan": ("x",), "is_nodata": ("x",), "is_valid": ("x",),
}
_BOOL_CONSTANTS = {"and", "or", "xor", "not", "if", "between", "eq", "neq"}


def _any_equal(x: Any, values: tuple[Any, ...]) -> Any:
    """``or(eq(x, v1), eq(x, v2), ...)`` in one pass, with the chain's dtype: bool for operands
    that cannot be null, else nullable float32 (1/0, NaN where ``x`` is NaN).

    Same ``np.equal`` per value as ``eq``; an operand that is not an array goes through the
    registered ``eq``/``or`` themselves.
    """
    if not isinstance(x, np.ndarray) or x.ndim == 0:
        out = call_process("eq", {"x": x, "y": values[0]})
        for v in values[1:]:
            out = call_process("or", {"x": out, "y": call_process("eq", {"x": x, "y": v})})
        return out
    hit = np.equal(x, values[0])
    for v in values[1:]:
        hit |= np.equal(x, v)
    if x.dtype.kind not in "fc":
        return hit
    out = hit.astype(np.float32)
    np.copyto(out, np.float32(np.nan), where=np.isnan(x))
    return out


# reducers over the band array inside a band callback (run by the registered reducer)
ARRAY_REDUCERS = ("max", "min", "sum", "mean")


def _array_reduce(pid: str, data: list[Any], ignore_nodata: bool) -> Any:
    """The registered reducer on the band blocks stacked along the openEO array dimension."""
    from jupyter_eo.backend.processes.registry import ARRAY_DIM

    blocks = [np.asarray(b) for b in data]
    stack = xr.DataArray(np.stack(blocks), dims=(ARRAY_DIM, *(f"d{i}" for i in
                                                             range(blocks[0].ndim))))
    result = call_process(pid, {"data": stack, "ignore_nodata": ignore_nodata})
    return result.data if isinstance(result, xr.DataArray) else result


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
                env[nid] = _array_reduce(pid, kwargs["data"], kwargs.get("ignore_nodata", True))
            else:
                env[nid] = call_process(pid, kwargs)
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
            if set(args) - set(LOGIC[pid]):
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
            allowed = ELEMENTWISE[pid]
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
    """Folds 2-D float blocks one time step at a time, equal to the registered reducer.

    Streaming reducers repeat, step by step, the sequential numpy folds the registered reducers
    do over the time axis (``nansum`` = sum with NaN as 0, ``nanmax`` = ``fmax``, ``count`` =
    number of ``is_valid``); ``median``/``sd``/``variance`` stack the steps and call the
    registered reducer itself. ``tests/engine/test_one_semantics.py`` checks values and dtypes.
    """

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
        if r == "count":
            if self.acc is None:
                self.acc = np.isfinite(block).astype(np.int64)
            else:
                self.acc += np.isfinite(block)
            return
        if self.acc is None:
            if r in ("sum", "mean", "product") and self.ignore:
                nan = np.isnan(block)
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
        elif r in ("sum", "mean", "product"):
            op = np.multiply if r == "product" else np.add
            if self.ignore:
                nan = np.isnan(block)
                op(acc, np.where(nan, 1 if r == "product" else 0, block), out=acc)
                self.count += ~nan
            else:
                op(acc, block, out=acc)
        elif r == "first":
            if self.ignore:
                fill = np.isnan(acc)
                acc[fill] = block[fill]
        elif r == "last":
            if self.ignore:
                np.copyto(acc, block, where=~np.isnan(block))
            else:
                np.copyto(acc, block)

    def result(self, n_steps: int) -> np.ndarray:
        r = self.reducer
        if r in STACKED:
            from jupyter_eo.backend.processes.registry import ARRAY_DIM

            stack = xr.DataArray(np.stack(self.stack), dims=(ARRAY_DIM, "y", "x"))
            out = call_process(r, {"data": stack, "ignore_nodata": self.ignore})
            return np.asarray(out.data if isinstance(out, xr.DataArray) else out)
        if r in ("sum", "product", "mean") and self.ignore:
            if r == "mean":
                with np.errstate(divide="ignore", invalid="ignore"):
                    mean = self.acc / self.count.astype(self.acc.dtype)
                return np.where(self.count > 0, mean, np.nan).astype(self.acc.dtype, copy=False)
            return np.where(self.count > 0, self.acc, np.nan).astype(self.acc.dtype, copy=False)
        if r == "mean":
            return self.acc / n_steps
        return self.acc


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
