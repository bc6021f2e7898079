"""Test helpers for the non-cube processes: a tiny flat-graph evaluator and result comparison."""
from __future__ import annotations

import importlib
import math
from typing import Any

import numpy as np
import xarray as xr

from jupyter_eo.backend.processes.registry import REGISTRY

OWN_MODULES = ("math", "comparison", "logic", "arrays", "arrays_labels", "arrays_numeric",
               "climatology",
               "reducers", "dates",
               "texts")


def load_own_processes() -> None:
    """Import (and so register) the non-cube process families."""
    for name in OWN_MODULES:
        try:
            importlib.import_module(f"jupyter_eo.backend.processes.{name}")
        except ModuleNotFoundError as exc:  # a family not written yet
            if exc.name != f"jupyter_eo.backend.processes.{name}":
                raise


load_own_processes()


class MiniContext:
    """Evaluates callbacks given as flat openEO process graphs (or Python callables).

    Only for tests of single processes: nodes are evaluated depth-first by recursion, which is
    fine for the few-node graphs of spec examples. Nested callbacks get the same context.
    """

    def run_callback(self, callback: Any, parameters: dict[str, Any]) -> Any:
        if callable(callback):
            return callback(**parameters)
        graph = callback.get("process_graph", callback)
        cache: dict[str, Any] = {}
        result_ids = [k for k, node in graph.items() if node.get("result")]
        assert len(result_ids) == 1, "a process graph needs exactly one result node"
        return self._node(graph, result_ids[0], parameters, cache)

    def _node(self, graph: dict, node_id: str, params: dict, cache: dict) -> Any:
        if node_id not in cache:
            node = graph[node_id]
            args = {k: self._arg(v, graph, params, cache) for k, v in node["arguments"].items()}
            cache[node_id] = call_process(node["process_id"], args, self)
        return cache[node_id]

    def _arg(self, value: Any, graph: dict, params: dict, cache: dict) -> Any:
        if isinstance(value, dict):
            if "from_node" in value:
                return self._node(graph, value["from_node"], params, cache)
            if "from_parameter" in value:
                return params[value["from_parameter"]]
            if "process_graph" in value:
                return value  # a callback: handed over unevaluated
            return {k: self._arg(v, graph, params, cache) for k, v in value.items()}
        if isinstance(value, list):
            return [self._arg(v, graph, params, cache) for v in value]
        return value


def call_process(process_id: str, arguments: dict[str, Any], ctx: Any = None) -> Any:
    """Call a registered process with openEO argument names, like the engine does."""
    impl = REGISTRY[process_id]
    kwargs = {impl.param_map[name]: value for name, value in arguments.items()}
    if impl.wants_ctx:
        kwargs["ctx"] = ctx if ctx is not None else MiniContext()
    return impl.func(**kwargs)


def to_plain(value: Any) -> Any:
    """A process result as plain JSON-like Python (DataArrays/arrays to lists, numpy scalars)."""
    if isinstance(value, xr.DataArray):
        value = value.values
    if isinstance(value, np.ndarray):
        return [to_plain(v) for v in value.tolist()] if value.ndim else to_plain(value.item())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value


def _is_null(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def assert_same(actual: Any, expected: Any, path: str = "result") -> None:
    """Equality where null == NaN, numbers compare with a relative tolerance, types are strict
    (a boolean is not a number, a string is not a number)."""
    if _is_null(expected):
        assert _is_null(actual), f"{path}: expected null, got {actual!r}"
        return
    assert not _is_null(actual), f"{path}: expected {expected!r}, got null"
    if isinstance(expected, bool):
        assert isinstance(actual, bool) and actual == expected, \
            f"{path}: expected {expected!r}, got {actual!r}"
    elif isinstance(expected, (int, float)):
        assert isinstance(actual, (int, float)) and not isinstance(actual, bool), \
            f"{path}: expected number {expected!r}, got {actual!r}"
        assert math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9), \
            f"{path}: expected {expected!r}, got {actual!r}"
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{path}: expected a list, got {actual!r}"
        assert len(actual) == len(expected), f"{path}: expected {expected!r}, got {actual!r}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_same(a, e, f"{path}[{i}]")
    else:
        assert actual == expected and type(actual) is type(expected), \
            f"{path}: expected {expected!r}, got {actual!r}"
