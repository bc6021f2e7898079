"""User-defined processes (UDPs): parameterize a graph, save it to a backend, share, load and use it.

* ``parameterize(graph, spatial_extent=True, temporal_extent=True, bands=False)`` replaces the
  extents/bands of ``load_collection``/``load_stac`` by parameters (old values become defaults)
  and returns ``(graph, parameters)``.
* ``make_udp(graph, process_id, parameters, ...)`` -> UDP document (checks every top-level
  ``from_parameter`` is declared).
* ``save_udp(connection, document, public=False)`` stores it with
  ``connection.save_user_defined_process``; ``namespace_url(connection, process_id)`` gives the
  URL to share (the backend's canonical link when it has one, else its ``/process_graphs/{id}``).
* ``load_udp(source, connection=None)``: a UDP document from a dict/JSON/file, a process id on
  the connection, or a URL (fetched through the connection's session when it is under its root).
* ``use_udp(connection, process_id, namespace=None, **arguments)`` -> DataCube calling the UDP;
  ``inline_udp(graph, document)`` expands calls to a UDP in a graph (for backends that cannot
  resolve URL namespaces themselves).
"""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from jupyter_eo.errors import OpenEOError, ProcessGraphInvalid, ProcessGraphNotFound
from jupyter_eo.graph.model import FlatGraph, is_callback, iter_parameter_refs, unwrap
from jupyter_eo.graph.walk import child_graphs

__all__ = ["spatial_extent_parameter", "temporal_extent_parameter", "bands_parameter", "number_parameter",
           "string_parameter", "parameterize", "make_udp", "save_udp", "namespace_url", "load_udp", "use_udp",
           "inline_udp"]

_ID = re.compile(r"^\w+$")


def spatial_extent_parameter(name: str = "spatial_extent", default: Any = None,
                             description: str = "Area of interest: a bounding box or GeoJSON.") -> dict[str, Any]:
    """A parameter accepting a bounding box (west/south/east/north[/crs]) or a GeoJSON object."""
    schema = [
        {"type": "object", "subtype": "bounding-box", "required": ["west", "south", "east", "north"],
         "properties": {k: {"type": "number"} for k in ("west", "south", "east", "north")}},
        {"type": "object", "subtype": "geojson"},
    ]
    return _parameter(name, description, schema, default)


def temporal_extent_parameter(name: str = "temporal_extent", default: Any = None,
                              description: str = "Time range [start, end) as ISO dates.") -> dict[str, Any]:
    schema = {"type": "array", "subtype": "temporal-interval", "minItems": 2, "maxItems": 2,
              "items": {"anyOf": [{"type": "string", "format": "date-time", "subtype": "date-time"},
                                  {"type": "string", "format": "date", "subtype": "date"}, {"type": "null"}]}}
    return _parameter(name, description, schema, default)


def bands_parameter(name: str = "bands", default: Any = None,
                    description: str = "Band names to load.") -> dict[str, Any]:
    return _parameter(name, description, {"type": "array", "items": {"type": "string", "subtype": "band-name"}},
                      default)


def number_parameter(name: str, default: float | None = None, description: str = "") -> dict[str, Any]:
    return _parameter(name, description or name, {"type": "number"}, default)


def string_parameter(name: str, default: str | None = None, description: str = "") -> dict[str, Any]:
    return _parameter(name, description or name, {"type": "string"}, default)


def _parameter(name: str, description: str, schema: Any, default: Any) -> dict[str, Any]:
    parameter: dict[str, Any] = {"name": name, "description": description, "schema": schema}
    if default is not None:
        parameter.update(default=copy.deepcopy(default), optional=True)
    return parameter


def parameterize(graph: Any, *, spatial_extent: bool | str = True, temporal_extent: bool | str = True,
                 bands: bool | str = False, defaults: bool = True) -> tuple[FlatGraph, list[dict[str, Any]]]:
    """Replace load_collection/load_stac arguments by parameters; returns ``(graph, parameters)``.

    Pass a string instead of ``True`` to choose the parameter name. With ``defaults`` the
    replaced values become the parameters' defaults (so the UDP runs without arguments).
    """
    flat, _ = unwrap(copy.deepcopy(graph))
    makers = {"spatial_extent": (spatial_extent, spatial_extent_parameter),
              "temporal_extent": (temporal_extent, temporal_extent_parameter),
              "bands": (bands, bands_parameter)}
    parameters: dict[str, dict[str, Any]] = {}
    for node in flat.values():
        if node["process_id"] not in ("load_collection", "load_stac"):
            continue
        arguments = node.setdefault("arguments", {})
        for argument, (wanted, maker) in makers.items():
            if not wanted:
                continue
            name = wanted if isinstance(wanted, str) else argument
            value = arguments.get(argument)
            if name not in parameters:
                parameters[name] = maker(name, default=value if defaults else None)
            arguments[argument] = {"from_parameter": name}
    return flat, list(parameters.values())


def make_udp(graph: Any, process_id: str, parameters: list[dict[str, Any]] | None = None, *,
             summary: str | None = None, description: str | None = None,
             returns: dict[str, Any] | None = None) -> dict[str, Any]:
    """A UDP document; every top-level ``from_parameter`` must be a declared parameter."""
    if not _ID.match(process_id or ""):
        raise OpenEOError("A process id must match ^\\w+$ (letters, digits, underscore).", code="ProcessInvalid",
                          status=400)
    flat, metadata = unwrap(copy.deepcopy(graph))
    parameters = parameters if parameters is not None else metadata.get("parameters") or []
    declared = {p.get("name") for p in parameters}
    used = set()
    for node in flat.values():
        used |= _free_parameters(node.get("arguments", {}))
    missing = sorted(used - declared)
    if missing:
        raise ProcessGraphInvalid(f"Undeclared parameter(s) used in the process graph: {', '.join(missing)}.")
    document: dict[str, Any] = {"id": process_id, "process_graph": flat, "parameters": copy.deepcopy(parameters)}
    for key, value in (("summary", summary or metadata.get("summary")),
                       ("description", description or metadata.get("description")),
                       ("returns", returns or metadata.get("returns"))):
        if value:
            document[key] = value
    return document


def _free_parameters(arguments: Any, bound: frozenset[str] = frozenset()) -> set[str]:
    """Parameter names referenced but not bound by an enclosing callback (callback params per spec)."""
    free = {name for name in iter_parameter_refs(arguments, deep=False) if name not in bound}
    for callback in child_graphs(arguments):
        names = set()
        for node in callback.values():
            names |= _free_parameters(node.get("arguments", {}), bound | _CALLBACK_NAMES)
        free |= names
    return free


# Names a callback may receive from its parent process (union over the core processes).
_CALLBACK_NAMES = frozenset({"x", "y", "data", "context", "value", "index", "label", "dimension", "parameters"})


def save_udp(connection: Any, document: dict[str, Any], *, public: bool = False) -> Any:
    """Store the UDP on the backend (``PUT /process_graphs/{id}``); returns the client's UDP object."""
    if not isinstance(document, dict) or "id" not in document:
        raise ProcessGraphInvalid("save_udp needs a UDP document with an 'id' (see make_udp).")
    return connection.save_user_defined_process(
        document["id"], document["process_graph"], parameters=document.get("parameters") or None,
        public=public, summary=document.get("summary"), description=document.get("description"),
        returns=document.get("returns"))


def namespace_url(connection: Any, process_id: str) -> str:
    """The URL to share a saved UDP: its ``canonical`` link if the backend gives one, else its
    ``/process_graphs/{id}`` URL (readable by the owner with credentials)."""
    described = connection.user_defined_process(process_id).describe()
    for link in described.get("links") or []:
        if link.get("rel") == "canonical" and link.get("href"):
            return link["href"]
    return connection.build_url(f"/process_graphs/{process_id}")


def load_udp(source: Any, connection: Any = None) -> dict[str, Any]:
    """A UDP document from a dict, JSON text, a file path, a process id (on ``connection``) or a URL."""
    from jupyter_eo.graph.parse import from_json
    if isinstance(source, str) and re.match(r"^https?://", source):
        return from_json(_fetch(source, connection))
    if isinstance(source, str) and connection is not None and _ID.match(source):
        return from_json(connection.user_defined_process(source).describe())
    if isinstance(source, (str, Path)) and not str(source).lstrip().startswith("{") and not Path(source).exists():
        raise ProcessGraphNotFound(f"No user-defined process or file {str(source)[:120]!r}.")
    return from_json(source)


def _fetch(url: str, connection: Any) -> dict[str, Any]:
    """GET a UDP document; through the connection (with its auth) when under its root URL."""
    if connection is not None:
        root = connection.build_url("/")
        if url.startswith(root):
            return connection.get(url[len(root) - 1:], expected_status=200).json()
    import requests
    response = requests.get(url, timeout=30)
    if response.status_code != 200:
        raise ProcessGraphNotFound(f"Could not load the UDP from {url[:200]} (HTTP {response.status_code}).")
    try:
        return response.json()
    except json.JSONDecodeError:
        raise ProcessGraphInvalid(f"{url[:200]} did not return JSON.") from None


def use_udp(connection: Any, process_id: str, namespace: str | None = None, **arguments: Any) -> Any:
    """A DataCube calling the UDP ``process_id`` (own UDPs: ``namespace=None`` or ``"user"``)."""
    return connection.datacube_from_process(process_id, namespace=namespace, **arguments)


def inline_udp(graph: Any, document: dict[str, Any], namespace: str | None = "*") -> FlatGraph:
    """Replace every call of ``document["id"]`` in ``graph`` by the UDP's own nodes.

    Arguments of the call (and parameter defaults) are substituted for ``from_parameter``.
    ``namespace="*"`` matches calls in any namespace. Returns a new flat graph.
    """
    flat, _ = unwrap(copy.deepcopy(graph))
    udp_id, body = document.get("id"), document["process_graph"]
    defaults = {p["name"]: p["default"] for p in document.get("parameters") or [] if "default" in p}
    changed = True
    while changed:
        changed = False
        for node_id, node in list(flat.items()):
            if node["process_id"] != udp_id or (namespace != "*" and node.get("namespace") != namespace):
                continue
            values = {**defaults, **node.get("arguments", {})}
            prefix = f"{node_id}_"
            mapping = {old: prefix + old for old in body}
            for old, inner in body.items():
                new_node = copy.deepcopy(inner)
                new_node["arguments"] = _substitute(new_node.get("arguments", {}), values, mapping)
                is_result = new_node.pop("result", False)
                flat[mapping[old]] = new_node
                if is_result:
                    result_id = mapping[old]
            was_result = node.get("result", False)
            del flat[node_id]
            for other in flat.values():
                other["arguments"] = _redirect(other.get("arguments", {}), node_id, result_id)
            if was_result:
                flat[result_id]["result"] = True
            changed = True
            break
    return flat


def _substitute(value: Any, values: dict[str, Any], mapping: dict[str, str]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"from_parameter"} and value["from_parameter"] in values:
            return copy.deepcopy(values[value["from_parameter"]])
        if set(value) == {"from_node"}:
            return {"from_node": mapping.get(value["from_node"], value["from_node"])}
        if is_callback(value):
            # parameters of the UDP are visible inside its callbacks too (unless shadowed)
            inner = {k: {**n, "arguments": _substitute(n.get("arguments", {}),
                                                       {p: v for p, v in values.items() if p not in _CALLBACK_NAMES},
                                                       {})}
                     for k, n in value["process_graph"].items()}
            return {**value, "process_graph": inner}
        return {k: _substitute(v, values, mapping) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, values, mapping) for v in value]
    return value


def _redirect(value: Any, old: str, new: str) -> Any:
    if isinstance(value, dict):
        if set(value) == {"from_node"}:
            return {"from_node": new} if value["from_node"] == old else value
        if is_callback(value):
            return value
        return {k: _redirect(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_redirect(v, old, new) for v in value]
    return value
