"""The flat openEO process graph model: documents, result node, references, deterministic node ids.

A flat process graph is a ``dict`` mapping node ids to nodes
``{"process_id": str, "arguments": dict, "namespace"?: str, "result"?: True}``.
Arguments reference other nodes with ``{"from_node": id}``, parameters with
``{"from_parameter": name}`` and hold callbacks as ``{"process_graph": {...}}``.

Node ids are made deterministic the way the official ``openeo`` client makes them:
process id without underscores plus a per-process counter (``loadcollection1``), numbered
in post-order from the result node, arguments visited in sorted key order, with one set of
counters shared by the graph and all its callbacks. ``normalize_ids`` applies that scheme to
any graph, so two graphs are equal "modulo node ids" when their ``canonical`` forms are equal.
"""
from __future__ import annotations

import copy
import json
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterator

from jupyter_eo.errors import ProcessGraphInvalid, ProcessGraphMissing
from jupyter_eo.graph.walk import is_callback  # noqa: F401 - one definition, re-exported here

FlatGraph = dict[str, dict[str, Any]]

__all__ = [
    "FlatGraph", "unwrap", "result_node_id", "iter_node_refs", "iter_parameter_refs",
    "reference_counts", "post_order", "normalize_ids", "canonical", "graphs_equal",
    "NodeIdGenerator", "is_callback", "is_node_ref", "is_parameter_ref",
]


def is_node_ref(value: Any) -> bool:
    """True for ``{"from_node": ...}``."""
    return isinstance(value, dict) and "from_node" in value and len(value) == 1


def is_parameter_ref(value: Any) -> bool:
    """True for ``{"from_parameter": ...}``."""
    return isinstance(value, dict) and "from_parameter" in value and len(value) == 1


class NodeIdGenerator:
    """Client-style node ids: ``process_id`` without underscores + per-process counter."""

    def __init__(self) -> None:
        self._counters: dict[str, int] = defaultdict(int)

    def generate(self, process_id: str) -> str:
        self._counters[process_id] += 1
        return f"{process_id.replace('_', '')}{self._counters[process_id]}"


def unwrap(document: Any) -> tuple[FlatGraph, dict[str, Any]]:
    """Split a process graph document into ``(flat_graph, metadata)``.

    Accepts a bare flat graph, ``{"process_graph": {...}, ...}`` (a process / UDP) or
    ``{"process": {"process_graph": {...}}}`` (a job or sync request body), as a dict,
    JSON text or path to a JSON file.
    """
    if isinstance(document, Path) or (isinstance(document, str) and not document.lstrip().startswith("{")):
        path = Path(document)
        if not path.exists():
            raise ProcessGraphInvalid(f"No such process graph file: {str(path)[:200]}")
        document = path.read_text("utf-8")
    if isinstance(document, (str, bytes)):
        try:
            document = json.loads(document)
        except ValueError as exc:
            raise ProcessGraphInvalid(f"Process graph is not valid JSON: {exc}") from None
    if not isinstance(document, dict) or not document:
        raise ProcessGraphMissing("No process graph given.")
    if isinstance(document.get("process"), dict) and "process_graph" in document["process"]:
        document = document["process"]
    if "process_graph" in document:
        graph = document["process_graph"]
        metadata = {k: v for k, v in document.items() if k != "process_graph"}
    else:
        graph, metadata = document, {}
    if not isinstance(graph, dict) or not graph:
        raise ProcessGraphMissing("The process graph is empty.")
    for node_id, node in graph.items():
        if not isinstance(node, dict) or not isinstance(node.get("process_id"), str):
            raise ProcessGraphInvalid(f"Node {node_id!r} has no 'process_id'.")
        if not isinstance(node.get("arguments", {}), dict):
            raise ProcessGraphInvalid(f"Node {node_id!r}: 'arguments' must be an object.")
    return graph, metadata


def result_node_id(graph: FlatGraph) -> str:
    """The id of the single node flagged ``"result": true``."""
    results = [node_id for node_id, node in graph.items() if node.get("result")]
    if len(results) != 1:
        if not results and len(graph) == 1:
            return next(iter(graph))
        raise ProcessGraphInvalid(
            f"A process graph needs exactly one result node, found {len(results)}"
            + (f": {', '.join(results)}" if results else "."))
    return results[0]


def iter_node_refs(value: Any) -> Iterator[str]:
    """Node ids referenced by ``from_node`` in an argument value (not inside callbacks)."""
    if isinstance(value, dict):
        if "from_node" in value:
            yield value["from_node"]
        elif not is_callback(value):
            for item in value.values():
                yield from iter_node_refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from iter_node_refs(item)


def iter_parameter_refs(value: Any, *, deep: bool = True) -> Iterator[str]:
    """Parameter names referenced by ``from_parameter`` (into callbacks when ``deep``)."""
    if isinstance(value, dict):
        if "from_parameter" in value:
            yield value["from_parameter"]
        elif is_callback(value):
            if deep:
                for node in value["process_graph"].values():
                    yield from iter_parameter_refs(node.get("arguments", {}), deep=deep)
        else:
            for item in value.values():
                yield from iter_parameter_refs(item, deep=deep)
    elif isinstance(value, list):
        for item in value:
            yield from iter_parameter_refs(item, deep=deep)


def reference_counts(graph: FlatGraph) -> dict[str, int]:
    """How many ``from_node`` references point at each node of this (one-level) graph."""
    counts = {node_id: 0 for node_id in graph}
    for node in graph.values():
        for ref in iter_node_refs(node.get("arguments", {})):
            if ref not in graph:
                raise ProcessGraphInvalid(f"Reference to unknown node {ref!r}.")
            counts[ref] += 1
    return counts


def post_order(graph: FlatGraph, start: str | None = None) -> list[str]:
    """Node ids reachable from ``start`` (default: the result node), inputs first.

    Arguments are visited in sorted key order, like the openeo client's flattener.
    Raises ``ProcessGraphInvalid`` on unknown references and cycles.
    """
    start = start or result_node_id(graph)
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = visiting, 2 = done
    stack: list[tuple[str, Iterator[str]]] = []

    def refs_of(node_id: str) -> Iterator[str]:
        arguments = graph[node_id].get("arguments", {})
        for key in sorted(arguments):
            yield from iter_node_refs(arguments[key])

    def push(node_id: str) -> None:
        if node_id not in graph:
            raise ProcessGraphInvalid(f"Reference to unknown node {node_id!r}.")
        state[node_id] = 1
        stack.append((node_id, refs_of(node_id)))

    push(start)
    while stack:
        node_id, refs = stack[-1]
        for ref in refs:
            if state.get(ref) == 1:
                raise ProcessGraphInvalid(f"The process graph has a cycle through {ref!r}.")
            if ref not in state:
                push(ref)
                break
        else:
            stack.pop()
            state[node_id] = 2
            order.append(node_id)
    return order


def normalize_ids(graph: FlatGraph, generator: NodeIdGenerator | None = None) -> FlatGraph:
    """A copy of ``graph`` with client-style deterministic node ids (callbacks included).

    Nodes not connected to the result node are kept, after the others, in id order.
    ``"result": false`` flags are dropped; the result node keeps ``"result": true``.
    """
    generator = generator or NodeIdGenerator()
    result = result_node_id(graph)
    order = post_order(graph, result)
    order += sorted(set(graph) - set(order))
    mapping: dict[str, str] = {}
    out: FlatGraph = {}
    for old_id in order:
        node = graph[old_id]
        arguments = node.get("arguments", {})
        new_arguments = {key: _rename(arguments[key], mapping, generator) for key in sorted(arguments)}
        new_id = generator.generate(node["process_id"])
        mapping[old_id] = new_id
        new_node: dict[str, Any] = {"process_id": node["process_id"], "arguments": new_arguments}
        for key, value in node.items():
            if key not in ("process_id", "arguments", "result"):
                new_node[key] = copy.deepcopy(value)
        if old_id == result:
            new_node["result"] = True
        out[new_id] = new_node
    return out


def _rename(value: Any, mapping: dict[str, str], generator: NodeIdGenerator) -> Any:
    if isinstance(value, dict):
        if "from_node" in value and len(value) == 1:
            return {"from_node": mapping.get(value["from_node"], value["from_node"])}
        if is_callback(value):
            renamed = dict(value)
            renamed["process_graph"] = normalize_ids(value["process_graph"], generator)
            return renamed
        return {key: _rename(item, mapping, generator) for key, item in value.items()}
    if isinstance(value, list):
        return [_rename(item, mapping, generator) for item in value]
    return value


def canonical(graph: Any) -> FlatGraph:
    """Normalized ids and only semantic keys (drops node ``description``), for comparisons."""
    flat, _ = unwrap(copy.deepcopy(graph)) if not _looks_flat(graph) else (copy.deepcopy(graph), {})
    return _strip(normalize_ids(flat))


def _looks_flat(graph: Any) -> bool:
    return isinstance(graph, dict) and bool(graph) and all(
        isinstance(node, dict) and "process_id" in node for node in graph.values())


def _strip(graph: FlatGraph) -> FlatGraph:
    out: FlatGraph = {}
    for node_id, node in graph.items():
        new_node = {key: value for key, value in node.items() if key in ("process_id", "arguments", "namespace", "result")}
        new_node["arguments"] = _strip_value(node.get("arguments", {}))
        out[node_id] = new_node
    return out


def _strip_value(value: Any) -> Any:
    if is_callback(value):
        return {"process_graph": _strip(value["process_graph"])}
    if isinstance(value, dict):
        return {key: _strip_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_strip_value(item) for item in value]
    return value


def graphs_equal(a: Any, b: Any) -> bool:
    """True when two graphs are equal modulo node ids (and node descriptions)."""
    return canonical(a) == canonical(b)
