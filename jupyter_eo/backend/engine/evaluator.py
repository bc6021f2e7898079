"""The iterative graph evaluator: nodes in topological order, callbacks, UDPs, parameters."""
from __future__ import annotations

import inspect
from typing import Any

from jupyter_eo.backend.engine.context import EvalContext, ProcessContext, SaveResult
from jupyter_eo.backend.engine.plan import BlockPlan
from jupyter_eo.backend.engine.pushdown import push_down_spatial_extents
from jupyter_eo.backend.processes.registry import PLAN_AWARE, REGISTRY, ProcessImpl
from jupyter_eo.errors import (OpenEOError, ProcessGraphComplexity, ProcessParameterInvalid,
                               ProcessParameterRequired, ProcessParameterUnsupported,
                               ProcessUnsupported)
from jupyter_eo.graph.walk import (is_callback, is_from_node, is_from_parameter, result_node,
                                   topological_order)
from jupyter_eo.specs import process_spec

CORE_NAMESPACES = (None, "", "backend", "openeo", "core")
MAX_UDP_DEPTH = 64


class Callback:
    """A child process graph passed as an argument; call it with its named parameters.

    ``callback(x=1)`` or ``callback({"x": 1})``; parameters of the enclosing graph stay visible.
    """

    def __init__(self, graph: dict[str, Any], ctx: EvalContext, outer: dict[str, Any],
                 depth: int, names: list[str] | None = None) -> None:
        self.graph = graph
        self.ctx = ctx
        self.outer = outer
        self.depth = depth
        self.parameter_names = names or []

    def __call__(self, *args: Any, **named: Any) -> Any:
        if args:
            if len(args) == 1 and isinstance(args[0], dict) and not named:
                named = dict(args[0])
            else:
                raise TypeError("callbacks take named parameters")
        params = {**self.outer, **named}
        return run_graph(self.graph, self.ctx, params, depth=self.depth)


def _callback_names(process_id: str, arg_name: str) -> list[str] | None:
    from jupyter_eo.graph.validate import callback_parameters

    spec = process_spec(process_id)
    if spec is None:
        return None
    for param in spec.get("parameters", []):
        if param.get("name") == arg_name:
            return callback_parameters(param.get("schema", {}))
    return None


def _resolve(value: Any, results: dict[str, Any], params: dict[str, Any], ctx: EvalContext,
             depth: int, pid: str, arg: str, nid: str) -> Any:
    if isinstance(value, dict):
        if is_from_node(value):
            return results[value["from_node"]]
        if is_from_parameter(value):
            name = value["from_parameter"]
            if name not in params:
                raise ProcessParameterRequired(
                    f"Node {nid!r} ({pid}) refers to parameter {name!r}, which has no value.")
            return params[name]
        if is_callback(value):
            return Callback(value["process_graph"], ctx, params, depth, _callback_names(pid, arg))
        return {k: _resolve(v, results, params, ctx, depth, pid, arg, nid)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, results, params, ctx, depth, pid, arg, nid) for v in value]
    return value


def run_graph(graph: dict[str, Any], ctx: EvalContext, params: dict[str, Any],
              depth: int = 0, saves: list | None = None) -> Any:
    """Evaluate one flat graph with ``params`` and return the result node's value."""
    if depth > MAX_UDP_DEPTH:
        raise ProcessGraphComplexity("User-defined processes are nested too deeply (recursion?).")
    graph = push_down_spatial_extents(graph, params)
    order = topological_order(graph)
    final = result_node(graph)
    results: dict[str, Any] = {}
    remaining = _use_counts(graph)
    consumers = dict(remaining)
    for nid in order:
        ctx.check_cancel()
        node = graph[nid]
        pid = node["process_id"]
        args = {name: _resolve(v, results, params, ctx, depth, pid, name, nid)
                for name, v in (node.get("arguments") or {}).items()}
        value = call_process(pid, node.get("namespace"), args, ctx, nid, depth)
        if saves is not None and isinstance(value, SaveResult) and not consumers[nid]:
            saves.append(value)  # a save another node consumes is a pass-through
        results[nid] = value
        for dep in set(_deps(node)):  # drop values nobody needs any more
            remaining[dep] -= 1
            if remaining[dep] == 0 and dep != final:
                results.pop(dep, None)
    return results[final]


def _deps(node: dict[str, Any]) -> list[str]:
    from jupyter_eo.graph.walk import node_dependencies

    return node_dependencies(node)


def _use_counts(graph: dict[str, Any]) -> dict[str, int]:
    counts = {nid: 0 for nid in graph}
    for node in graph.values():
        for dep in set(_deps(node)):
            counts[dep] += 1
    return counts


def call_process(pid: str, namespace: str | None, args: dict[str, Any], ctx: EvalContext,
                 nid: str = "?", depth: int = 0) -> Any:
    """Run process ``pid`` with resolved arguments (registry first, then user-defined)."""
    impl = REGISTRY.get(pid) if namespace in CORE_NAMESPACES else None
    # data coming out of a save_result (e.g. of a UDP that ends in one) is used as the data
    args = {k: _unsave(v) for k, v in args.items()}
    if impl is None:
        return _call_udp(pid, namespace, args, ctx, nid, depth)
    if pid not in PLAN_AWARE:
        args = {k: _unplan(v) for k, v in args.items()}
    kwargs = _bind(impl, args, nid)
    if impl.wants_ctx:
        kwargs["ctx"] = ProcessContext(ctx, nid, pid, {})
    try:
        return impl.func(**kwargs)
    except OpenEOError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, ZeroDivisionError) as exc:
        raise ProcessParameterInvalid(f"Process {pid!r} (node {nid!r}) failed: {exc}") from exc
    except MemoryError as exc:
        raise OpenEOError(f"Process {pid!r} (node {nid!r}) ran out of memory.") from exc


def _unsave(value: Any) -> Any:
    if isinstance(value, SaveResult):
        return value.data
    if isinstance(value, list) and any(isinstance(v, SaveResult) for v in value):
        return [_unsave(v) for v in value]
    return value


def _unplan(value: Any) -> Any:
    if isinstance(value, BlockPlan):
        return value.to_dataarray()
    if isinstance(value, list) and any(isinstance(v, BlockPlan) for v in value):
        return [_unplan(v) for v in value]
    return value


_SIGNATURES: dict[str, tuple[Any, ...]] = {}


def _signature_info(impl: ProcessImpl) -> tuple[bool, frozenset[str], dict[str, Any]]:
    cached = _SIGNATURES.get(impl.id)
    if cached is not None and cached[3] is impl.func:
        return cached[:3]
    sig = inspect.signature(impl.func)
    var_kw = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    without_default = frozenset(n for n, p in sig.parameters.items()
                                if p.default is p.empty and p.kind is not p.VAR_KEYWORD)
    defaults: dict[str, Any] = {}
    spec = process_spec(impl.id) or {}
    for param in spec.get("parameters", []):
        if param.get("optional") and "default" in param:
            defaults[param["name"]] = param["default"]
    _SIGNATURES[impl.id] = (var_kw, without_default, defaults, impl.func)
    return var_kw, without_default, defaults


def _bind(impl: ProcessImpl, args: dict[str, Any], nid: str) -> dict[str, Any]:
    var_kw, without_default, defaults = _signature_info(impl)
    kwargs: dict[str, Any] = {}
    for name, value in args.items():
        target = impl.param_map.get(name)
        if target is None:
            if not var_kw:
                raise ProcessParameterUnsupported(
                    f"Process {impl.id!r} (node {nid!r}) has no parameter {name!r}.")
            target = name
        kwargs[target] = value
    for name, default in defaults.items():
        target = impl.param_map.get(name)
        if target is not None and target not in kwargs and target in without_default:
            kwargs[target] = default
    missing = [n for n in without_default if n not in kwargs and n != "ctx"]
    if missing:
        raise ProcessParameterRequired(
            f"Process {impl.id!r} (node {nid!r}) requires parameter {missing[0].rstrip('_')!r}.")
    return kwargs


def _call_udp(pid: str, namespace: str | None, args: dict[str, Any], ctx: EvalContext,
              nid: str, depth: int) -> Any:
    doc = ctx.udp_resolver(pid, namespace) if ctx.udp_resolver is not None else None
    if not isinstance(doc, dict) or not isinstance(doc.get("process_graph"), dict):
        ns = f" in namespace {namespace!r}" if namespace else ""
        raise ProcessUnsupported(f"Process {pid!r}{ns} (node {nid!r}) is not supported.")
    params: dict[str, Any] = {}
    declared = {p["name"]: p for p in doc.get("parameters") or [] if isinstance(p, dict)}
    for name, decl in declared.items():
        if name in args:
            params[name] = args[name]
        elif "default" in decl:
            params[name] = decl["default"]
        elif decl.get("optional"):
            params[name] = None
        else:
            raise ProcessParameterRequired(
                f"Process {pid!r} (node {nid!r}) requires parameter {name!r}.")
    unknown = [n for n in args if n not in declared]
    if unknown:
        raise ProcessParameterUnsupported(
            f"Process {pid!r} (node {nid!r}) has no parameter {unknown[0]!r}.")
    return run_graph(doc["process_graph"], ctx, params, depth=depth + 1)
