"""The process-graph engine: validate and evaluate openEO flat process graphs lazily and fused."""
from __future__ import annotations

from typing import Any

from jupyter_eo.backend.engine.context import EvalContext, ProcessContext, SaveResult
from jupyter_eo.backend.engine.validation import validate_process_graph

__all__ = ["evaluate", "validate_process_graph", "EvalContext", "ProcessContext", "SaveResult",
           "process_descriptions", "materialize"]


def _ensure_processes() -> None:
    import jupyter_eo.backend.processes  # noqa: F401  (registers every process)


def evaluate(flat_process_graph: dict[str, Any], ctx: EvalContext,
             parameters: dict[str, Any] | None = None) -> Any:
    """Validate, then evaluate a flat process graph.

    Returns a :class:`SaveResult` when the graph's result is (or the graph contains) a
    ``save_result`` node, else the result node's value (lazy cube, vector cube, JSON value).
    Raises the first validation problem (an ``OpenEOError``) before running anything.
    """
    _ensure_processes()
    from jupyter_eo.backend.engine.evaluator import run_graph
    from jupyter_eo.backend.engine.plan import BlockPlan

    errors = validate_process_graph(flat_process_graph, ctx, parameters)
    if errors:
        raise errors[0]
    saves: list[SaveResult] = []
    ctx.report(0.0)
    value = run_graph(flat_process_graph, ctx, dict(parameters or {}), saves=saves)
    if not isinstance(value, SaveResult) and saves:
        value = saves[-1]
    if isinstance(value, BlockPlan):
        value = value.to_dataarray()
    return value


def process_descriptions() -> list[dict[str, Any]]:
    """Spec descriptions (``GET /processes`` entries) of exactly the implemented processes."""
    _ensure_processes()
    from jupyter_eo.backend.processes.registry import REGISTRY
    from jupyter_eo.specs import process_spec

    out = []
    for pid in sorted(REGISTRY):
        spec = process_spec(pid)
        out.append(spec if spec is not None else _own_description(REGISTRY[pid]))
    return out


def _own_description(impl: Any) -> dict[str, Any]:
    """A minimal, schema-valid description for a process without a packaged spec."""
    import inspect

    doc = inspect.getdoc(impl.func) or impl.id
    params = []
    for name, target in impl.param_map.items():
        param = inspect.signature(impl.func).parameters[target]
        entry: dict[str, Any] = {"name": name, "description": name, "schema": {}}
        if param.default is not param.empty:
            entry["optional"] = True
            entry["default"] = param.default
        params.append(entry)
    return {"id": impl.id, "summary": doc.splitlines()[0], "description": doc,
            "categories": ["cubes", "import"], "experimental": True, "parameters": params,
            "returns": {"description": "The result.", "schema": {}}}


def materialize(value: Any, ctx: EvalContext | None = None) -> Any:
    """Compute a lazy result (cube, vector cube or SaveResult data) locally or on the cluster."""
    from jupyter_eo.backend.engine.compute import materialize as _materialize

    return _materialize(value, ctx)
