"""Engine-side validation: resolve process descriptions (registry specs, UDPs) for the graph."""
from __future__ import annotations

from typing import Any

from jupyter_eo.backend.engine.context import EvalContext
from jupyter_eo.errors import OpenEOError, ProcessGraphInvalid


def _registry_spec(process_id: str) -> dict[str, Any] | None:
    import jupyter_eo.backend.processes  # noqa: F401
    from jupyter_eo.backend.processes.registry import REGISTRY
    from jupyter_eo.specs import process_spec

    impl = REGISTRY.get(process_id)
    if impl is None:
        return None
    spec = process_spec(process_id)
    if spec is not None:
        return spec
    # a backend-specific process without a spec: accept its own parameter names
    return {"id": process_id, "parameters": [
        {"name": name, "optional": True, "schema": {}} for name in impl.param_map]}


def validate_process_graph(flat_process_graph: Any, ctx: EvalContext,
                           parameters: dict[str, Any] | None = None) -> list[OpenEOError]:
    """All problems of the graph (empty list = valid); never raises on malformed input.

    The keys of ``parameters`` are the names ``from_parameter`` may use at the top level
    (a process document's declared parameters, or the values given for a run). Calls of
    user-defined processes are followed: their graphs are validated with their own declared
    parameters (problems named after the UDP), recursion is reported, not followed.
    """
    from jupyter_eo.backend.engine.evaluator import CORE_NAMESPACES
    from jupyter_eo.graph.validate import validate_graph

    cache: dict[tuple[str, Any], Any] = {}
    udps: set[tuple[str, Any]] = set()

    def lookup(process_id: str, namespace: str | None) -> dict[str, Any] | None:
        key = (process_id, namespace)
        if key not in cache:
            spec = _registry_spec(process_id) if namespace in CORE_NAMESPACES else None
            if spec is None and ctx is not None and ctx.udp_resolver is not None:
                spec = ctx.udp_resolver(process_id, namespace)
                if isinstance(spec, dict):
                    udps.add(key)
            cache[key] = spec if isinstance(spec, dict) else None
        return cache[key]

    try:
        errors = validate_graph(flat_process_graph, lookup, list((parameters or {}).keys()))
        if not errors:
            errors = _validate_udp_calls(flat_process_graph, lookup, udps, ())
        return errors
    except Exception as exc:  # noqa: BLE001 - validation must never crash
        return [ProcessGraphInvalid(f"Process graph could not be validated: {exc}")]


MAX_UDP_NESTING = 16


def _validate_udp_calls(graph: Any, lookup: Any, udps: set[tuple[str, Any]],
                        chain: tuple[str, ...]) -> list[OpenEOError]:
    """Validate the graphs of the user-defined processes ``graph`` calls (depth first)."""
    from jupyter_eo.errors import ProcessGraphComplexity
    from jupyter_eo.graph.validate import validate_graph
    from jupyter_eo.graph.walk import iter_graphs

    errors: list[OpenEOError] = []
    seen: set[tuple[str, Any]] = set()
    for _path, current in iter_graphs(graph):
        for node in current.values():
            key = (node.get("process_id"), node.get("namespace"))
            if key in seen:
                continue
            seen.add(key)
            doc = lookup(*key)
            if key not in udps or not isinstance(doc, dict):
                continue
            name = key[0]
            if name in chain or len(chain) >= MAX_UDP_NESTING:
                path = " -> ".join([*chain, name])
                return [ProcessGraphComplexity(
                    f"User-defined process {name!r} calls itself ({path}).")]
            inner = doc.get("process_graph")
            declared = [p.get("name") for p in doc.get("parameters") or []
                        if isinstance(p, dict)]
            found = validate_graph(inner, lookup, declared)
            if not found:
                found = _validate_udp_calls(inner, lookup, udps, (*chain, name))
                errors.extend(found)
                continue
            for err in found:
                errors.append(type(err)(f"In user-defined process {name!r}: {err.message}",
                                        code=err.code, status=err.status))
    return errors
