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
    """All problems of the graph (empty list = valid); never raises on malformed input."""
    from jupyter_eo.backend.engine.evaluator import CORE_NAMESPACES
    from jupyter_eo.graph.validate import validate_graph

    cache: dict[tuple[str, Any], Any] = {}

    def lookup(process_id: str, namespace: str | None) -> dict[str, Any] | None:
        key = (process_id, namespace)
        if key not in cache:
            spec = _registry_spec(process_id) if namespace in CORE_NAMESPACES else None
            if spec is None and ctx is not None and ctx.udp_resolver is not None:
                spec = ctx.udp_resolver(process_id, namespace)
            cache[key] = spec if isinstance(spec, dict) else None
        return cache[key]

    try:
        return validate_graph(flat_process_graph, lookup,
                              list((parameters or {}).keys()))
    except Exception as exc:  # noqa: BLE001 - validation must never crash
        return [ProcessGraphInvalid(f"Process graph could not be validated: {exc}")]
