"""Iterative walking of openEO flat process graphs: references, callbacks, topological order."""
from __future__ import annotations

from collections import deque
from typing import Any, Iterator


class GraphStructureError(ValueError):
    """A flat process graph is structurally broken (not a dict, no result node, cycle ...)."""


def is_from_node(value: Any) -> bool:
    """True for ``{"from_node": "<id>"}`` references."""
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("from_node"), str)


def is_from_parameter(value: Any) -> bool:
    """True for ``{"from_parameter": "<name>"}`` references."""
    return (isinstance(value, dict) and len(value) == 1
            and isinstance(value.get("from_parameter"), str))


def is_callback(value: Any) -> bool:
    """True for ``{"process_graph": {...}}`` (a child process, i.e. a callback)."""
    return isinstance(value, dict) and isinstance(value.get("process_graph"), dict)


def iter_references(value: Any) -> Iterator[tuple[str, Any]]:
    """Yield ``("node", id)``, ``("parameter", name)`` and ``("callback", graph)`` found in an
    argument value, without descending into callbacks. Iterative (no recursion)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if is_from_node(item):
                yield "node", item["from_node"]
            elif is_from_parameter(item):
                yield "parameter", item["from_parameter"]
            elif is_callback(item):
                yield "callback", item["process_graph"]
            else:
                stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def child_graphs(value: Any) -> list[dict[str, Any]]:
    """The callbacks' process graphs directly in an argument value (not those nested inside
    them)."""
    return [ref for kind, ref in iter_references(value) if kind == "callback"]


def node_dependencies(node: dict[str, Any]) -> list[str]:
    """Ids of the nodes whose results ``node`` uses (``from_node`` in its arguments)."""
    args = node.get("arguments") if isinstance(node, dict) else None
    if not isinstance(args, dict):
        return []
    return [ref for kind, ref in iter_references(args) if kind == "node"]


def result_node(graph: dict[str, Any]) -> str:
    """The id of the node flagged ``"result": true`` (exactly one must be)."""
    if not isinstance(graph, dict) or not graph:
        raise GraphStructureError("process graph must be a non-empty object")
    results = [nid for nid, node in graph.items() if isinstance(node, dict) and node.get("result")]
    if len(results) != 1:
        raise GraphStructureError(
            f"process graph must have exactly one result node, found {len(results)}")
    return results[0]


def topological_order(graph: dict[str, Any]) -> list[str]:
    """All node ids so that each node comes after the nodes it depends on (Kahn's algorithm).

    Raises :class:`GraphStructureError` for references to missing nodes and for cycles.
    """
    deps: dict[str, list[str]] = {}
    users: dict[str, list[str]] = {nid: [] for nid in graph}
    for nid, node in graph.items():
        refs = node_dependencies(node)
        for ref in refs:
            if ref not in graph:
                raise GraphStructureError(f"node {nid!r} refers to unknown node {ref!r}")
            users[ref].append(nid)
        deps[nid] = refs
    pending = {nid: len(set(refs)) for nid, refs in deps.items()}
    queue = deque(nid for nid, count in pending.items() if count == 0)
    order: list[str] = []
    while queue:
        nid = queue.popleft()
        order.append(nid)
        for user in dict.fromkeys(users[nid]):
            pending[user] -= 1
            if pending[user] == 0:
                queue.append(user)
    if len(order) != len(graph):
        stuck = sorted(nid for nid, count in pending.items() if count > 0)
        raise GraphStructureError(f"process graph contains a cycle among nodes {stuck[:10]}")
    return order


def iter_graphs(graph: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(path, flat_graph)`` for ``graph`` and every callback nested in it (iterative)."""
    stack: list[tuple[str, dict[str, Any]]] = [("", graph)]
    while stack:
        path, current = stack.pop()
        yield path, current
        if not isinstance(current, dict):
            continue
        for nid, node in current.items():
            if not isinstance(node, dict) or not isinstance(node.get("arguments"), dict):
                continue
            for name, value in node["arguments"].items():
                for kind, ref in iter_references(value):
                    if kind == "callback":
                        stack.append((f"{path}{nid}.{name}/", ref))


def process_ids(graph: dict[str, Any]) -> set[tuple[str, str | None]]:
    """All ``(process_id, namespace)`` pairs used in ``graph`` including its callbacks."""
    found: set[tuple[str, str | None]] = set()
    for _, current in iter_graphs(graph):
        for node in current.values():
            if isinstance(node, dict) and isinstance(node.get("process_id"), str):
                found.add((node["process_id"], node.get("namespace")))
    return found
