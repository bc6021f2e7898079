"""Load graphs back: from JSON (text, dict, file), from Python (code cell or DataCube), into the builder.

All loaders return a *process document*: ``{"process_graph": {...flat graph...}}`` plus, when
known, UDP metadata (``id``, ``summary``, ``description``, ``parameters``, ``returns``).
``to_builder(document)`` turns it into a ``builder.Cube`` so widgets can show and extend it;
``summarize(document)`` extracts what the pickers show (collection, extents, bands, steps).
"""
from __future__ import annotations

import ast
import copy
from pathlib import Path
from typing import Any

from jupyter_eo.errors import OpenEOError, ProcessGraphInvalid, ProcessGraphMissing
from jupyter_eo.graph.model import (FlatGraph, is_callback, is_node_ref, post_order, result_node_id,
                                    unwrap)
from jupyter_eo.graph.walk import child_graphs

__all__ = ["from_json", "from_python", "to_builder", "summarize", "validation_errors", "CONNECTION_NAME"]

CONNECTION_NAME = "__jupyter_eo_graph_connection__"
_METADATA_KEYS = ("id", "summary", "description", "parameters", "returns", "categories", "namespace",
                  "deprecated", "experimental", "exceptions", "examples", "links")


def from_json(source: str | bytes | dict | Path) -> dict[str, Any]:
    """A process document from JSON text, a dict or a ``.json`` file path.

    Accepts a flat graph, a process/UDP document or a job/sync request body (``{"process": ...}``).
    Structure is checked (one result node, known references, no cycles): ``ProcessGraphInvalid``.
    """
    if isinstance(source, bytes):
        source = source.decode("utf-8")
    graph, metadata = unwrap(copy.deepcopy(source) if isinstance(source, dict) else source)
    post_order(graph)  # raises ProcessGraphInvalid on bad structure
    _check_callbacks(graph)
    document: dict[str, Any] = {"process_graph": graph}
    document.update({k: metadata[k] for k in _METADATA_KEYS if k in metadata})
    return document


def _check_callbacks(graph: FlatGraph) -> None:
    for node in graph.values():
        for value in node.get("arguments", {}).values():
            for callback in child_graphs(value):
                if not callback:
                    raise ProcessGraphInvalid(f"Empty callback in process {node['process_id']!r}.")
                post_order(callback)
                _check_callbacks(callback)


class _ConnectCalls(ast.NodeTransformer):
    """Replaces ``jupyter_eo.connect(...)`` / ``openeo.connect(...)`` by the graph-only connection."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "connect" and isinstance(func.value, ast.Name) \
                and func.value.id in ("jupyter_eo", "openeo"):
            return ast.copy_location(ast.Name(id=CONNECTION_NAME, ctx=ast.Load()), node)
        return node


def from_python(source: Any, variable: str | None = None) -> dict[str, Any]:
    """A process document from a DataCube (anything with ``flat_graph()``) or from Python code.

    Code (e.g. an exported cell) is executed with ``jupyter_eo.connect``/``openeo.connect``
    replaced by a graph-only connection, so nothing is sent anywhere. The result is
    ``variable``, else the last assigned variable holding a cube. A UDP saved by the code
    (``connection.save_user_defined_process``) is returned with its parameters.
    Only run code you trust: it is executed as it is (like running the cell).
    """
    if hasattr(source, "flat_graph"):
        return from_json(source.flat_graph())
    if not isinstance(source, str):
        raise ProcessGraphMissing("from_python needs Python code or a DataCube.")
    from jupyter_eo.graph.offline import GraphOnlyConnection
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ProcessGraphInvalid(f"Python code has a syntax error on line {exc.lineno}: {exc.msg}") from None
    tree = ast.fix_missing_locations(_ConnectCalls().visit(tree))
    connection = GraphOnlyConnection()
    namespace: dict[str, Any] = {CONNECTION_NAME: connection, "__name__": "__jupyter_eo_graph__"}
    try:
        exec(compile(tree, "<cell>", "exec"), namespace)  # noqa: S102 - the user's own cell
    except OpenEOError:
        raise
    except Exception as exc:
        raise ProcessGraphInvalid(f"Running the code failed: {type(exc).__name__}: {exc}") from None
    if connection.saved and variable is None:
        return from_json(list(connection.saved.values())[-1])
    names = [variable] if variable else _assigned_names(tree)
    for name in reversed(names):
        value = namespace.get(name)
        if hasattr(value, "flat_graph"):
            return from_json(value.flat_graph())
    raise ProcessGraphMissing(
        f"No cube found in the code{f' (variable {variable!r})' if variable else ''}.")


def _assigned_names(tree: ast.Module) -> list[str]:
    names: list[str] = []
    for statement in tree.body:
        if isinstance(statement, ast.Assign):
            names += [t.id for t in statement.targets if isinstance(t, ast.Name)]
        elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)) and isinstance(statement.target, ast.Name):
            names.append(statement.target.id)
    return names


def to_builder(document: Any) -> Any:
    """A ``builder.Cube`` for the document's result node, to continue building in the widgets."""
    from jupyter_eo.graph.builder import Cube, Param, _Node
    graph, _ = unwrap(document)
    nodes: dict[str, _Node] = {}

    def convert(value: Any) -> Any:
        if is_node_ref(value):
            return nodes[value["from_node"]]
        if isinstance(value, dict) and set(value) == {"from_parameter"}:
            return Param(value["from_parameter"])
        if is_callback(value):
            return copy.deepcopy(value)
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    result = result_node_id(graph)
    for node_id in post_order(graph, result):
        node = graph[node_id]
        nodes[node_id] = _Node(node["process_id"], {k: convert(v) for k, v in node.get("arguments", {}).items()},
                               node.get("namespace"))
    return Cube(nodes[result], summarize(document).get("bands"))


def summarize(document: Any) -> dict[str, Any]:
    """What the widgets show for a graph: the first load_collection's id, extents and bands, and
    the process ids from source to result (``steps``)."""
    graph, metadata = unwrap(document)
    order = post_order(graph)
    summary: dict[str, Any] = {"steps": [graph[n]["process_id"] for n in order]}
    for node_id in order:
        node = graph[node_id]
        if node["process_id"] in ("load_collection", "load_stac"):
            args = node.get("arguments", {})
            summary.update(source=node["process_id"], collection_id=args.get("id", args.get("url")),
                           spatial_extent=args.get("spatial_extent"), temporal_extent=args.get("temporal_extent"),
                           bands=args.get("bands"))
            break
    if metadata.get("parameters"):
        summary["parameters"] = [p.get("name") for p in metadata["parameters"]]
    return summary


def validation_errors(document: Any, lookup: Any = None) -> list[OpenEOError]:
    """Problems found by the shared validator (``graph.validate``) against the packaged specs.

    ``lookup(process_id, namespace)`` may add UDPs / backend processes; by default only core
    processes (namespace None) are known. Declared UDP parameters are allowed references.
    """
    from jupyter_eo.graph.validate import validate_graph
    from jupyter_eo.specs import process_spec
    graph, metadata = unwrap(document)
    if lookup is None:
        def lookup(process_id: str, namespace: str | None) -> dict | None:
            return process_spec(process_id) if namespace in (None, "backend") else None
    parameters = [p["name"] for p in metadata.get("parameters") or [] if isinstance(p, dict) and "name" in p]
    return validate_graph(graph, lookup, parameters)
