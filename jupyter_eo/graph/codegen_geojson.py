"""Code generation for GeoJSON ``spatial_extent`` values: which ones the client passes through,
rendered compactly (a ring's positions packed several to a line)."""
from __future__ import annotations

from typing import Any

from jupyter_eo.graph._pycode import MAX_LINE, _py

#: GeoJSON types ``openeo``'s ``load_collection(spatial_extent=...)`` passes through unchanged.
LOAD_GEOJSON_TYPES = ("Polygon", "MultiPolygon", "Feature", "FeatureCollection")


def _has_refs(value: Any) -> bool:
    if isinstance(value, dict):
        return "from_node" in value or "from_parameter" in value or any(_has_refs(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_refs(v) for v in value)
    return False


def is_load_geojson(value: Any) -> bool:
    """A literal GeoJSON object (no references) that the client's ``load_collection`` accepts."""
    return (isinstance(value, dict) and value.get("type") in LOAD_GEOJSON_TYPES
            and not {"west", "south", "east", "north"} & set(value) and not _has_refs(value))


def _is_positions(value: Any) -> bool:
    return bool(value) and all(isinstance(p, list) and p and all(
        isinstance(c, (int, float)) and not isinstance(c, bool) for c in p) for p in value)


def geojson_literal(value: Any, indent: str = "", column: int = 4) -> str:
    """A Python literal of GeoJSON like ``_pycode._literal`` (nested lines indented by ``indent``
    plus four spaces; ``column``: where ``indent`` starts on the page), but with the positions of
    a ring filled into lines of at most ``MAX_LINE`` characters instead of one per line."""
    flat = _py(value)
    key = 16  # room for what precedes the value on its line ("spatial_extent=", '"coordinates": ')
    if len(flat) + column + len(indent) + key <= MAX_LINE or not isinstance(value, (dict, list)) or not value:
        return flat
    inner = indent + "    "
    width = MAX_LINE - column - len(inner)
    if isinstance(value, dict):
        items = [f"{inner}{_py(str(k))}: {geojson_literal(v, inner, column)}," for k, v in value.items()]
        return "{\n" + "\n".join(items) + f"\n{indent}}}"
    if _is_positions(value):
        lines: list[str] = []
        for position in (_py(p) + "," for p in value):
            if lines and len(lines[-1]) + 1 + len(position) <= width:
                lines[-1] += " " + position
            else:
                lines.append(position)
        return "[\n" + "\n".join(inner + line for line in lines) + f"\n{indent}]"
    items = [f"{inner}{geojson_literal(v, inner, column)}," for v in value]
    return "[\n" + "\n".join(items) + f"\n{indent}]"
