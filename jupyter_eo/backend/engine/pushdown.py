"""Push a later spatial filter's extent down into ``load_collection(spatial_extent=null)``."""
from __future__ import annotations

import copy
from typing import Any

from jupyter_eo.graph.walk import is_from_node, is_from_parameter, node_dependencies

#: processes whose ``data`` output only covers the extent given by one of their arguments
SPATIAL_FILTERS = {"filter_bbox": "extent", "filter_spatial": "geometries",
                   "aggregate_spatial": "geometries"}
LOADERS = ("load_collection",)
BBOX_KEYS = ("west", "south", "east", "north")


def push_down_spatial_extents(graph: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """``graph`` with the extent of later spatial filters given to loads without one.

    A ``load_collection`` whose ``spatial_extent`` is null gets the bounding box of the
    ``filter_bbox``/``filter_spatial``/``aggregate_spatial`` that follow it, but only when every
    path from the load to a result passes through such a filter (else all of the data may be
    needed) and every filter's extent is known now (a literal or a parameter's value). Returns
    ``graph`` itself when nothing changes, else a changed copy.
    """
    if not isinstance(graph, dict):
        return graph
    loads = [nid for nid, node in graph.items() if isinstance(node, dict)
             and node.get("process_id") in LOADERS and node.get("namespace") in (None, "")
             and isinstance(node.get("arguments"), dict)
             and node["arguments"].get("spatial_extent", None) is None]
    if not loads:
        return graph
    consumers = _consumers(graph)
    changed: dict[str, dict[str, Any]] = {}
    for nid in loads:
        extent = _pushable_extent(graph, consumers, nid, params)
        if extent is not None:
            changed[nid] = extent
    if not changed:
        return graph
    out = dict(graph)
    for nid, extent in changed.items():
        node = copy.copy(graph[nid])
        node["arguments"] = {**node["arguments"], "spatial_extent": extent}
        out[nid] = node
    return out


def _consumers(graph: dict[str, Any]) -> dict[str, list[str]]:
    users: dict[str, list[str]] = {nid: [] for nid in graph}
    for nid, node in graph.items():
        for dep in set(node_dependencies(node)):
            if dep in users:
                users[dep].append(nid)
    return users


def _pushable_extent(graph: dict[str, Any], consumers: dict[str, list[str]], load: str,
                     params: dict[str, Any]) -> dict[str, Any] | None:
    boxes: list[dict[str, Any]] = []
    stack, seen = [load], {load}
    while stack:
        nid = stack.pop()
        users = consumers.get(nid, [])
        if not users:  # reaches a result (or an unused end) without a spatial filter
            return None
        for user in users:
            node = graph[user]
            arg = SPATIAL_FILTERS.get(node.get("process_id"))
            data = (node.get("arguments") or {}).get("data")
            if arg is not None and is_from_node(data) and data["from_node"] == nid:
                box = _extent_of(node["arguments"].get(arg), params)
                if box is None:
                    return None
                boxes.append(box)
            elif user not in seen:
                seen.add(user)
                stack.append(user)
    return _union(boxes)


def _value(value: Any, params: dict[str, Any]) -> Any:
    if is_from_parameter(value):
        return params.get(value["from_parameter"])
    return value


def _extent_of(value: Any, params: dict[str, Any]) -> dict[str, Any] | None:
    """A bbox object for a filter's extent/geometries, or None if it is not known now."""
    from jupyter_eo.backend.catalog.grid import geojson_extent_bbox

    value = _value(value, params)
    if isinstance(value, dict) and all(isinstance(value.get(k), (int, float))
                                       and not isinstance(value.get(k), bool)
                                       for k in BBOX_KEYS):
        box = {k: float(value[k]) for k in BBOX_KEYS}
        box["crs"] = value.get("crs") if value.get("crs") is not None else 4326
        return box
    try:
        return geojson_extent_bbox(value)
    except Exception:  # noqa: BLE001 - broken GeoJSON is reported by the filter itself
        return None


def _union(boxes: list[dict[str, Any]]) -> dict[str, Any] | None:
    """One bbox covering all ``boxes`` (in the first box's CRS); None when there are none."""
    if not boxes:
        return None
    crs = boxes[0]["crs"]
    if any(b["crs"] != crs for b in boxes):
        boxes = [_to_lonlat(b) for b in boxes]
        crs = 4326
    return {"west": min(b["west"] for b in boxes), "south": min(b["south"] for b in boxes),
            "east": max(b["east"] for b in boxes), "north": max(b["north"] for b in boxes),
            "crs": crs}


def _to_lonlat(box: dict[str, Any]) -> dict[str, Any]:
    from jupyter_eo.backend.catalog.grid import bbox_to_lonlat, to_crs

    west, south, east, north = bbox_to_lonlat(tuple(box[k] for k in BBOX_KEYS),
                                              to_crs(box["crs"]))
    return {"west": west, "south": south, "east": east, "north": north, "crs": 4326}
