"""Validation of flat process graphs against process descriptions (pure Python, never raises)."""
from __future__ import annotations

from typing import Any, Callable, Iterable

from jupyter_eo.errors import (OpenEOError, ProcessGraphInvalid, ProcessParameterInvalid,
                               ProcessParameterRequired, ProcessParameterUnsupported,
                               ProcessUnsupported)
from jupyter_eo.graph.walk import (GraphStructureError, is_callback, is_from_node,
                                   is_from_parameter, iter_references, result_node,
                                   topological_order)

# (process_id, namespace) -> process description ({"id", "parameters", ...}) or None if unknown
ProcessLookup = Callable[[str, "str | None"], "dict[str, Any] | None"]

_JSON_TYPES = {type(None): "null", bool: "boolean", str: "string", list: "array", dict: "object"}


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return _JSON_TYPES.get(type(value), "object")


def _schemas(schema: Any) -> list[dict[str, Any]]:
    """Flatten a parameter schema (dict, list, anyOf/oneOf) into its alternatives."""
    out: list[dict[str, Any]] = []
    stack = [schema]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            alternatives = item.get("anyOf") or item.get("oneOf")
            if alternatives:
                stack.extend(alternatives)
            else:
                out.append(item)
    return out


def callback_parameters(schema: Any) -> list[str] | None:
    """Parameter names a callback receives, or None when the schema allows no callback."""
    for alt in _schemas(schema):
        if alt.get("subtype") == "process-graph":
            return [p.get("name") for p in alt.get("parameters", []) if isinstance(p, dict)]
    return None


def _type_ok(value: Any, schema: Any) -> bool:
    """Cheap check of a literal's JSON type against the schema's declared types."""
    allowed: set[str] = set()
    for alt in _schemas(schema):
        declared = alt.get("type")
        if declared is None:
            return True  # an alternative without a type accepts anything
        allowed.update([declared] if isinstance(declared, str) else declared)
    if not allowed:
        return True
    kind = _json_type(value)
    return kind in allowed or (kind == "integer" and "number" in allowed)


def validate_graph(graph: Any, lookup: ProcessLookup,
                   parameters: Iterable[str] | None = None) -> list[OpenEOError]:
    """All problems found in ``graph`` (empty list = valid). Never raises.

    ``lookup(process_id, namespace)`` returns a process description (core spec or UDP document)
    or None. ``parameters`` are the names available to ``from_parameter`` at the top level
    (None: do not check top-level parameter references).
    """
    errors: list[OpenEOError] = []
    allowed = None if parameters is None else set(parameters)
    stack: list[tuple[Any, set[str] | None, str]] = [(graph, allowed, "")]
    while stack:
        current, names, path = stack.pop()
        errors.extend(_validate_flat(current, lookup, names, path, stack))
    return errors


def _validate_flat(graph: Any, lookup: ProcessLookup, names: set[str] | None, path: str,
                   stack: list) -> list[OpenEOError]:
    where = f" (in callback {path.rstrip('/')})" if path else ""
    if not isinstance(graph, dict) or not graph:
        return [ProcessGraphInvalid(f"Process graph must be a non-empty object{where}.")]
    errors: list[OpenEOError] = []
    for nid, node in graph.items():
        if not isinstance(node, dict):
            errors.append(ProcessGraphInvalid(f"Node {nid!r} is not an object{where}."))
        elif not isinstance(node.get("process_id"), str) or not node["process_id"]:
            errors.append(ProcessGraphInvalid(f"Node {nid!r} has no process_id{where}."))
        elif not isinstance(node.get("arguments", {}), dict):
            errors.append(ProcessGraphInvalid(f"Node {nid!r}: arguments must be an object{where}."))
    if errors:
        return errors
    try:
        result_node(graph)
        topological_order(graph)
    except GraphStructureError as exc:
        return [ProcessGraphInvalid(f"{exc}{where}.")]
    for nid, node in graph.items():
        errors.extend(_validate_node(nid, node, lookup, names, path, where, stack))
    return errors


def _validate_node(nid: str, node: dict[str, Any], lookup: ProcessLookup,
                   names: set[str] | None, path: str, where: str,
                   stack: list) -> list[OpenEOError]:
    pid, namespace = node["process_id"], node.get("namespace")
    args: dict[str, Any] = node.get("arguments") or {}
    try:
        spec = lookup(pid, namespace)
    except OpenEOError as exc:
        return [exc]
    except Exception as exc:  # a resolver failure must not crash validation
        return [ProcessUnsupported(f"Process {pid!r} could not be resolved: {exc}{where}.")]
    if spec is None:
        ns = f" in namespace {namespace!r}" if namespace else ""
        return [ProcessUnsupported(f"Process {pid!r}{ns} (node {nid!r}) is not supported{where}.")]
    errors: list[OpenEOError] = []
    params = {p["name"]: p for p in spec.get("parameters", []) if isinstance(p, dict)}
    for name in args:
        if name not in params:
            errors.append(ProcessParameterUnsupported(
                f"Process {pid!r} (node {nid!r}) has no parameter {name!r}{where}."))
    for name, param in params.items():
        if name not in args and not param.get("optional", False):
            errors.append(ProcessParameterRequired(
                f"Process {pid!r} (node {nid!r}) requires parameter {name!r}{where}."))
    for name, value in args.items():
        param = params.get(name)
        if param is None:
            continue
        schema = param.get("schema", {})
        if is_callback(value):
            cb_params = callback_parameters(schema)
            if cb_params is None:
                errors.append(ProcessParameterInvalid(
                    f"Process {pid!r} (node {nid!r}) parameter {name!r} does not accept a "
                    f"callback{where}."))
                continue
            inner = None if names is None else names | set(cb_params)
            if names is None:
                inner = set(cb_params) | {"__any__"}
            stack.append((value["process_graph"], inner, f"{path}{nid}.{name}/"))
        elif is_from_node(value):
            continue
        elif is_from_parameter(value):
            errors.extend(_check_parameter(value["from_parameter"], names, nid, where))
        else:
            for kind, ref in iter_references(value):
                if kind == "parameter":
                    errors.extend(_check_parameter(ref, names, nid, where))
                elif kind == "callback":  # e.g. load_collection properties: check the graph
                    stack.append((ref, {"__any__"}, f"{path}{nid}.{name}/"))
            if not _has_reference(value) and not _type_ok(value, schema):
                errors.append(ProcessParameterInvalid(
                    f"Process {pid!r} (node {nid!r}) parameter {name!r}: a value of type "
                    f"{_json_type(value)} is not allowed{where}."))
    return errors


def _has_reference(value: Any) -> bool:
    return any(True for _ in iter_references(value))


def _check_parameter(name: str, names: set[str] | None, nid: str,
                     where: str) -> list[OpenEOError]:
    if names is None or "__any__" in names or name in names:
        return []
    return [ProcessParameterRequired(
        f"Node {nid!r} refers to undefined parameter {name!r}{where}.")]
