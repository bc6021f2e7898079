"""Process documents (UDPs, predefined processes, catalogues): checking, searching, parameter kinds, values.

Pure helpers shared by the process plaza and the server's safe loader: no network, no widgets.

* ``process_documents(data)``: the process documents in a single process or a catalogue
  (``{"processes": [...]}``), each checked (id, parameters, process graph) before use.
* ``parameter_kind(parameter)``: which input suits a parameter's JSON schema (AOI map, dates,
  collection, bands, slider, dropdown, checkbox, JSON editor, ...).
* ``check_value(parameter, value)``: an error message (or None) for a value, by the JSON schema.
* ``search(documents, query)``: documents whose id, summary, categories or description match.
"""
from __future__ import annotations

import copy
import json
import re
from typing import Any, Iterable

from jupyter_eo.errors import ProcessGraphInvalid

__all__ = ["MAX_DOCUMENT_BYTES", "process_documents", "check_document", "parameter_kind", "schemas_of",
           "check_value", "search", "enum_options", "number_bounds", "number_literals", "parameterize_numbers"]

MAX_DOCUMENT_BYTES = 2 * 1024 * 1024  # a process document or catalogue larger than this is refused
MAX_PROCESSES = 500  # processes in one catalogue
_ID = re.compile(r"^\w+$")
_NAME = re.compile(r"^\w+$")


def process_documents(data: Any) -> list[dict[str, Any]]:
    """The checked process documents in ``data`` (a JSON text/bytes, a process, or a catalogue)."""
    if isinstance(data, (bytes, bytearray)):
        if len(data) > MAX_DOCUMENT_BYTES:
            raise ProcessGraphInvalid(f"The process document is larger than {MAX_DOCUMENT_BYTES} bytes.")
        data = data.decode("utf-8", errors="replace")
    if isinstance(data, str):
        if len(data) > MAX_DOCUMENT_BYTES:
            raise ProcessGraphInvalid(f"The process document is larger than {MAX_DOCUMENT_BYTES} bytes.")
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise ProcessGraphInvalid(f"Not JSON: {exc}.") from None
    if isinstance(data, dict) and isinstance(data.get("processes"), list) and "process_graph" not in data:
        items = data["processes"]
        if len(items) > MAX_PROCESSES:
            raise ProcessGraphInvalid(f"The catalogue lists more than {MAX_PROCESSES} processes.")
        return [check_document(item, where=f"processes[{i}]") for i, item in enumerate(items)]
    return [check_document(data)]


def check_document(document: Any, where: str = "the document") -> dict[str, Any]:
    """A deep copy of ``document`` if it is a usable process description, else ProcessGraphInvalid."""
    if not isinstance(document, dict):
        raise ProcessGraphInvalid(f"{where} is not a JSON object.")
    process_id = document.get("id")
    if not isinstance(process_id, str) or not _ID.match(process_id):
        raise ProcessGraphInvalid(f"{where}: 'id' must be a string matching ^\\w+$ (got {str(process_id)[:60]!r}).")
    where = f"process {process_id!r}"
    for key in ("summary", "description"):
        if key in document and document[key] is not None and not isinstance(document[key], str):
            raise ProcessGraphInvalid(f"{where}: '{key}' must be a string.")
    if "categories" in document and not (isinstance(document["categories"], list)
                                         and all(isinstance(c, str) for c in document["categories"])):
        raise ProcessGraphInvalid(f"{where}: 'categories' must be a list of strings.")
    parameters = document.get("parameters")
    if parameters is None:
        parameters = []
    if not isinstance(parameters, list):
        raise ProcessGraphInvalid(f"{where}: 'parameters' must be a list.")
    seen: set[str] = set()
    for index, parameter in enumerate(parameters):
        if not isinstance(parameter, dict) or not isinstance(parameter.get("name"), str) \
                or not _NAME.match(parameter["name"]):
            raise ProcessGraphInvalid(f"{where}: parameters[{index}] needs a 'name' matching ^\\w+$.")
        if parameter["name"] in seen:
            raise ProcessGraphInvalid(f"{where}: parameter {parameter['name']!r} is declared twice.")
        seen.add(parameter["name"])
        if not isinstance(parameter.get("schema"), (dict, list)):
            raise ProcessGraphInvalid(f"{where}: parameter {parameter['name']!r} needs a JSON 'schema'.")
        if "default" in parameter and parameter["default"] is not None:
            problem = check_value(parameter, parameter["default"])
            if problem:
                raise ProcessGraphInvalid(f"{where}: the default of {parameter['name']!r} is invalid: {problem}")
    graph = document.get("process_graph")
    if graph is not None:
        if not isinstance(graph, dict) or not graph:
            raise ProcessGraphInvalid(f"{where}: 'process_graph' must be a non-empty object.")
        from jupyter_eo.errors import OpenEOError
        from jupyter_eo.graph.model import result_node_id, unwrap

        try:
            result_node_id(unwrap(graph)[0])
        except OpenEOError as exc:
            raise ProcessGraphInvalid(f"{where}: {exc.message}") from None
    for link in document.get("links") or []:
        if not isinstance(link, dict) or not isinstance(link.get("href"), str):
            raise ProcessGraphInvalid(f"{where}: every link needs an 'href'.")
    out = copy.deepcopy(document)
    out["parameters"] = copy.deepcopy(parameters)
    return out


# -- parameter kinds --------------------------------------------------------------------------
def schemas_of(parameter: dict[str, Any]) -> list[dict[str, Any]]:
    """The alternatives of a parameter's schema (a list, ``anyOf``/``oneOf``), without null."""
    schema = parameter.get("schema", {})
    alternatives = schema if isinstance(schema, list) else [schema]
    out: list[dict[str, Any]] = []
    for item in alternatives:
        if not isinstance(item, dict):
            continue
        nested = item.get("anyOf") or item.get("oneOf")
        if isinstance(nested, list) and "type" not in item:
            out.extend(n for n in nested if isinstance(n, dict) and n.get("type") != "null")
        elif item.get("type") != "null":
            out.append(item)
    return out


def _subtypes(schemas: list[dict[str, Any]]) -> set[str]:
    return {s.get("subtype") for s in schemas if isinstance(s.get("subtype"), str)}


def parameter_kind(parameter: dict[str, Any]) -> str:
    """One of: aoi, temporal, collection, bands, band, enum, slider, integer, number, boolean,
    date, string, json."""
    schemas = schemas_of(parameter)
    subtypes = _subtypes(schemas)
    if subtypes & {"bounding-box", "geojson", "geometry"}:
        return "aoi"
    if "temporal-interval" in subtypes:
        return "temporal"
    if "collection-id" in subtypes:
        return "collection"
    if "band-name" in subtypes:
        return "band"
    if len(schemas) == 1:
        schema = schemas[0]
        kind = schema.get("type")
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        if kind == "array" and items.get("subtype") == "band-name":
            return "bands"
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return "enum"
        if kind in ("number", "integer"):
            low, high = number_bounds(schema)
            if low is not None and high is not None:
                return "slider"
            return "integer" if kind == "integer" else "number"
        if kind == "boolean":
            return "boolean"
        if kind == "string":
            return "date" if schema.get("subtype") in ("date", "date-time") else "string"
    return "json"


def number_bounds(schema: dict[str, Any]) -> tuple[float | None, float | None]:
    """(minimum, maximum) of a number schema (exclusive bounds count as bounds)."""
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    low = low if isinstance(low, (int, float)) and not isinstance(low, bool) else None
    high = high if isinstance(high, (int, float)) and not isinstance(high, bool) else None
    return low, high


def enum_options(parameter: dict[str, Any]) -> list[Any]:
    schemas = schemas_of(parameter)
    return list(schemas[0].get("enum") or []) if schemas else []


# -- values -----------------------------------------------------------------------------------
_OPENEO_KEYWORDS = ("subtype", "parameters", "returns", "deprecated", "experimental")


def _plain_schema(schema: Any) -> Any:
    """The schema as standard JSON Schema: a top-level list of alternatives becomes ``anyOf``,
    openEO's ``subtype``/callback keywords are dropped."""
    if isinstance(schema, list):
        return {"anyOf": [_strip_openeo(s) for s in schema]}
    return _strip_openeo(schema)


def _strip_openeo(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_strip_openeo(s) for s in schema]
    if isinstance(schema, dict):
        return {k: _strip_openeo(v) for k, v in schema.items() if k not in _OPENEO_KEYWORDS}
    return schema


def check_value(parameter: dict[str, Any], value: Any) -> str | None:
    """Why ``value`` does not fit the parameter's schema (a short message), or None if it does."""
    if value is None:
        if parameter.get("optional") or "default" in parameter:
            return None
        return "a value is required."
    import jsonschema

    schema = _plain_schema(parameter.get("schema", {}))
    validator_cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    try:
        validator_cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return f"the process declares an invalid schema ({exc.message[:120]})."
    validator = validator_cls(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(value), key=lambda e: len(list(e.absolute_path)))
    if not errors:
        return _check_subtype(parameter, value)
    best = jsonschema.exceptions.best_match(errors)
    path = "".join(f"[{p!r}]" for p in best.absolute_path)
    return f"{path + ': ' if path else ''}{best.message[:200]}"


def _check_subtype(parameter: dict[str, Any], value: Any) -> str | None:
    """Checks plain JSON Schema cannot express: an interval's order, a bounding box's corners."""
    subtypes = _subtypes(schemas_of(parameter))
    if "temporal-interval" in subtypes and isinstance(value, list) and len(value) == 2 \
            and all(isinstance(v, str) for v in value) and value[0] >= value[1]:
        return f"the start {value[0]} must be before the end {value[1]}."
    if "bounding-box" in subtypes and isinstance(value, dict) and {"west", "east", "south", "north"} <= set(value):
        try:
            if float(value["south"]) >= float(value["north"]):
                return "south must be less than north."
        except (TypeError, ValueError):
            return "west, south, east, north must be numbers."
    return None


# -- search -----------------------------------------------------------------------------------
def search(documents: Iterable[dict[str, Any]], query: str) -> list[dict[str, Any]]:
    """Documents matching every word of ``query`` in id, summary, categories or description."""
    words = query.lower().split()
    found = []
    for document in documents:
        text = " ".join([document.get("id") or "", document.get("summary") or "",
                         " ".join(document.get("categories") or []),
                         document.get("description") or ""]).lower()
        if all(word in text for word in words):
            found.append(document)
    return found


# -- publishing: numbers of a graph as parameters ---------------------------------------------
def number_literals(graph: dict[str, Any]) -> list[tuple[str, str, float]]:
    """``(node_id, argument, value)`` of each number written literally in a top-level node's
    arguments (the candidates for typed number parameters of a UDP)."""
    found = []
    for node_id, node in graph.items():
        for argument, value in (node.get("arguments") or {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                found.append((node_id, argument, value))
    return found


def parameterize_numbers(graph: dict[str, Any], picks: Iterable[tuple[str, str]]
                         ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Replace the chosen literal numbers ``(node_id, argument)`` by parameters (their values as
    defaults); returns ``(graph, parameters)``. Names are the argument names, made unique."""
    graph = copy.deepcopy(graph)
    parameters: list[dict[str, Any]] = []
    names: set[str] = set()
    for node_id, argument in picks:
        value = graph.get(node_id, {}).get("arguments", {}).get(argument)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ProcessGraphInvalid(f"Node {node_id!r} has no literal number argument {argument!r}.")
        name = argument if _NAME.match(argument) else "value"
        base, n = name, 2
        while name in names:
            name, n = f"{base}_{n}", n + 1
        names.add(name)
        schema = {"type": "integer" if isinstance(value, int) else "number"}
        parameters.append({"name": name, "description": f"{argument} of {graph[node_id]['process_id']} "
                                                        f"(node {node_id})", "schema": schema,
                           "default": value, "optional": True})
        graph[node_id]["arguments"][argument] = {"from_parameter": name}
    return graph, parameters
