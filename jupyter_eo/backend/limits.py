"""Request limits: body size, graph size/depth, pixel count before loading, wall clock."""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Iterator

from jupyter_eo.errors import (CollectionNotFound, OpenEOError, PayloadTooLarge,
                               ProcessGraphComplexity, ProcessGraphInvalid, ProcessGraphMissing,
                               ProcessParameterInvalid)


@dataclass
class Limits:
    """Configurable limits (defaults suit a laptop; all documented in ``jupyter-eo serve -h``).

    ``max_pixels`` counts values of all loaded cubes of one synchronous request or tile
    (x * y * time steps * bands), estimated from the graph and collection metadata before any
    data is read. ``max_request_bytes`` is the memory one request (synchronous result or
    batch job) may use: estimated before any work (:mod:`jupyter_eo.backend.memory_model`)
    and watched while it runs (:mod:`jupyter_eo.backend.memory_guard`).
    """

    max_body_bytes: int = 16 * 1024 * 1024
    max_upload_bytes: int = 1024 * 1024 * 1024
    max_nodes: int = 10_000
    max_depth: int = 1_000
    max_pixels: int = 200_000_000
    max_job_pixels: int = 2_000_000_000
    max_request_bytes: int = 2 * 1024 ** 3
    sync_timeout_s: float = 300.0
    tile_timeout_s: float = 60.0
    json_nesting: int = 200


# Processes that create values from small arguments (array_create's repeat, array_concat or
# text_concat chains that double their input per node) are checked before they build
# anything: plain arrays and texts are Python objects (~40 bytes per element), values of
# per-pixel arrays of a cube count against the request's ``max_pixels``.
MAX_ARRAY_ELEMENTS = 1_000_000
MAX_TEXT_CHARS = 10_000_000


def check_created(count: int, process_id: str, limit: int | None, unit: str = "values") -> None:
    """Raise PayloadTooLarge (413) when ``process_id`` would create more than ``limit``."""
    if limit and count > limit:
        raise PayloadTooLarge(
            f"{process_id} would create {count:,} {unit}, more than the limit of {limit:,}. "
            "Create fewer elements (e.g. a smaller 'repeat').")


def cube_value_limit(ctx: Any) -> int:
    """The values a process may create inside a cube: the request's ``max_pixels``."""
    limit = getattr(getattr(ctx, "eval", None), "max_pixels", None)
    return int(limit) if limit else Limits().max_pixels


def parse_json_body(body: bytes, limits: Limits) -> Any:
    """Parse a request body as JSON with clear openEO errors (never a crash)."""
    if len(body) > limits.max_body_bytes:
        raise PayloadTooLarge(f"Request body of {len(body)} bytes exceeds the limit of "
                              f"{limits.max_body_bytes} bytes.")
    if not body.strip():
        raise OpenEOError("Request body is empty; expected JSON.", code="BadRequest", status=400)
    # Every node has a "process_id" key: count them in the raw bytes (fast, C speed) so a
    # huge graph is refused before the (much slower) JSON parse.
    if body.count(b'"process_id"') > limits.max_nodes:
        raise ProcessGraphComplexity(
            f"Process graph has more than {limits.max_nodes} nodes (limit).")
    try:
        return json.loads(body)
    except RecursionError:
        raise ProcessGraphComplexity("Request JSON is nested too deeply.") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise OpenEOError(f"Request body is not valid JSON: {exc}", code="BadRequest",
                          status=400) from None


def _walk_values(value: Any, limit: int) -> Iterator[tuple[dict, int]]:
    """Yield every nested flat graph ``(graph, nesting level)`` inside ``value`` without recursion."""
    stack: list[tuple[Any, int, int]] = [(value, 0, 0)]
    while stack:
        item, level, json_depth = stack.pop()
        if json_depth > limit:
            raise ProcessGraphComplexity(f"Process graph arguments are nested deeper than {limit}.")
        if isinstance(item, dict):
            pg = item.get("process_graph")
            if isinstance(pg, dict) and len(item) <= 2 and all(
                    isinstance(n, dict) and "process_id" in n for n in pg.values()):
                yield pg, level + 1
                continue
            stack.extend((v, level, json_depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level, json_depth + 1) for v in item)


def _references(arguments: Any, limit: int) -> set[str]:
    """``from_node`` references of one node's arguments (not those of nested callbacks)."""
    refs: set[str] = set()
    stack: list[tuple[Any, int]] = [(arguments, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise ProcessGraphComplexity(f"Process graph arguments are nested deeper than {limit}.")
        if isinstance(item, dict):
            if "from_node" in item and len(item) == 1:
                refs.add(str(item["from_node"]))
                continue
            if "process_graph" in item and isinstance(item["process_graph"], dict):
                continue
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return refs


def check_graph(pg: Any, limits: Limits) -> list[dict]:
    """Check structure, size, depth and cycles of a flat graph; return all (nested) graphs.

    Raises ProcessGraphMissing/Invalid/Complexity. Iterative, so 100,000 nodes or a
    5,000-node chain are rejected quickly without recursion errors.
    """
    if not isinstance(pg, dict) or not pg:
        raise ProcessGraphMissing("No process graph given (expected a non-empty JSON object).")
    graphs: list[dict] = []
    total = 0
    pending: list[tuple[dict, int]] = [(pg, 0)]
    while pending:
        graph, level = pending.pop()
        if level > limits.max_depth:
            raise ProcessGraphComplexity(f"Callbacks nested deeper than {limits.max_depth}.")
        total += len(graph)
        if total > limits.max_nodes:
            raise ProcessGraphComplexity(
                f"Process graph has more than {limits.max_nodes} nodes (limit).")
        graphs.append(graph)
        for node_id, node in graph.items():
            if not isinstance(node, dict) or not isinstance(node.get("process_id"), str):
                raise ProcessGraphInvalid(f"Node {str(node_id)[:80]!r} has no 'process_id'.")
            args = node.get("arguments", {})
            if not isinstance(args, dict):
                raise ProcessGraphInvalid(f"Node {str(node_id)[:80]!r}: 'arguments' must be an object.")
            pending.extend(_walk_values(args, limits.json_nesting))
    for graph in graphs:
        _check_acyclic(graph, limits)
    return graphs


def _check_acyclic(graph: dict, limits: Limits) -> None:
    """Detect cycles, dangling references and chains longer than ``max_depth`` (Kahn's order)."""
    deps = {nid: _references(node.get("arguments", {}), limits.json_nesting)
            for nid, node in graph.items()}
    users: dict[str, list[str]] = {nid: [] for nid in graph}
    remaining = {}
    for nid, refs in deps.items():
        for ref in refs:
            if ref not in graph:
                raise ProcessGraphInvalid(
                    f"Node {nid[:80]!r} refers to unknown node {ref[:80]!r}.")
            users[ref].append(nid)
        remaining[nid] = len(refs)
    depth = {nid: 1 for nid in graph}
    ready = [nid for nid, n in remaining.items() if n == 0]
    seen = 0
    while ready:
        nid = ready.pop()
        seen += 1
        if depth[nid] > limits.max_depth:
            raise ProcessGraphComplexity(
                f"Process graph chain is longer than {limits.max_depth} nodes (limit).")
        for user in users[nid]:
            depth[user] = max(depth[user], depth[nid] + 1)
            remaining[user] -= 1
            if remaining[user] == 0:
                ready.append(user)
    if seen != len(graph):
        raise ProcessGraphInvalid("Process graph contains a cycle.")


def estimate_pixels(graphs: list[dict], catalog: Any) -> int:
    """Upper estimate of values loaded by all literal ``load_collection`` nodes.

    Unknown collection ids raise CollectionNotFound. Arguments given by parameter are
    skipped here (the engine enforces ``max_pixels`` again when loading).
    """
    total = 0
    for graph in graphs:
        for node in graph.values():
            if node.get("process_id") != "load_collection" or node.get("namespace"):
                continue
            args = node.get("arguments", {})
            cid = args.get("id")
            if not isinstance(cid, str):
                continue
            if catalog is None:
                continue
            try:
                collection = catalog.get(cid)
            except Exception:
                collection = None
            if collection is None:
                raise CollectionNotFound(f"Collection {cid[:100]!r} does not exist.")
            check_extent_finite(args.get("spatial_extent"))
            total += _collection_pixels(collection.metadata(), args)
    return total


def check_extent_finite(extent: Any) -> None:
    """Raise ProcessParameterInvalid (400) for NaN/±Infinity anywhere in a ``spatial_extent``
    (bounding box or GeoJSON coordinates); Python's JSON parser accepts those literals."""
    stack: list[Any] = [extent]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise ProcessParameterInvalid(
                "load_collection: spatial_extent must contain finite numbers only (got "
                f"{item!r}).")
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _collection_pixels(meta: dict, args: dict) -> int:
    nt, nb, ny, nx = load_shape(meta, args)
    return nx * ny * nt * nb


def load_shape(meta: dict, args: dict) -> tuple[int, int, int, int]:
    """Estimated (time steps, bands, rows, columns) of a ``load_collection`` with ``args``."""
    dims = meta.get("cube:dimensions", {})
    nx = _axis_count(dims, "x", args.get("spatial_extent"), meta)
    ny = _axis_count(dims, "y", args.get("spatial_extent"), meta)
    nt = _time_count(dims, args.get("temporal_extent"))
    bands = args.get("bands")
    if isinstance(bands, list):
        nb = max(1, len(bands))
    else:
        band_dim = next((d for d in dims.values() if d.get("type") == "bands"), {})
        nb = max(1, len(band_dim.get("values", []) or [1]))
    return nt, nb, ny, nx


def _axis_count(dims: dict, axis: str, extent: Any, meta: dict) -> int:
    dim = next((d for d in dims.values() if d.get("type") == "spatial" and d.get("axis") == axis),
               None)
    if not dim or not dim.get("extent") or not dim.get("step"):
        return 1
    lo, hi = (float(v) for v in dim["extent"][:2])
    step = abs(float(dim["step"]))
    crs = dim.get("reference_system", 4326)
    other = (-90.0, 90.0)
    extent = _geojson_bbox(extent) or extent
    if isinstance(extent, dict) and all(k in extent for k in ("west", "east", "south", "north")):
        try:
            bounds = _extent_in_crs(extent, crs)
        except Exception:
            bounds = None
        if bounds is not None:
            a, b = (bounds[0], bounds[2]) if axis == "x" else (bounds[1], bounds[3])
            lo, hi = max(lo, a), min(hi, b)
            other = (bounds[1], bounds[3])
    if hi <= lo:
        return 0
    span = hi - lo
    if _is_geographic(crs) and step >= 0.5:
        # extent in degrees, resolution in metres (data in local UTM zones): convert the span
        metres = 111_320.0
        if axis == "x":
            lat = max(abs(other[0]), abs(other[1])) if other[0] * other[1] > 0 else 0.0
            metres *= max(0.05, math.cos(math.radians(min(lat, 89.0))))
        span *= metres
    return int(math.ceil(span / step)) + 1


def _geojson_bbox(extent: Any) -> dict | None:
    """The lon/lat bbox of a GeoJSON ``spatial_extent`` (None for anything else or bad GeoJSON)."""
    from jupyter_eo.backend.catalog.grid import geojson_extent_bbox

    try:
        return geojson_extent_bbox(extent)
    except Exception:  # noqa: BLE001 - invalid GeoJSON is reported by the engine when loading
        return None


def _is_geographic(crs: Any) -> bool:
    from pyproj import CRS

    try:
        return CRS.from_user_input(crs).is_geographic
    except Exception:
        return False


def _extent_in_crs(extent: dict, target: Any) -> tuple[float, float, float, float]:
    from pyproj import CRS, Transformer

    values = [float(extent[k]) for k in ("west", "south", "east", "north")]
    if not all(math.isfinite(v) for v in values):
        raise ValueError("non-finite extent")
    src = CRS.from_user_input(extent.get("crs") or 4326)
    dst = CRS.from_user_input(target)
    if src == dst:
        return tuple(values)  # type: ignore[return-value]
    tr = Transformer.from_crs(src, dst, always_xy=True)
    return tr.transform_bounds(*values, densify_pts=21)


def _time_count(dims: dict, extent: Any) -> int:
    dim = next((d for d in dims.values() if d.get("type") == "temporal"), None)
    if not dim:
        return 1
    values = dim.get("values")
    lo = hi = None
    if isinstance(extent, list) and len(extent) == 2:
        lo, hi = (v if isinstance(v, str) else None for v in extent)
    if values:
        values = [v for v in values if (lo is None or str(v) >= lo) and (hi is None or str(v) < hi)]
        return max(1, len(values))
    step = dim.get("step")
    bounds = dim.get("extent") or [None, None]
    match = re.fullmatch(r"P(\d+)D", str(step or ""))
    if not match:
        return 1
    import pandas as pd

    def naive(value: Any) -> Any:
        ts = pd.Timestamp(value)
        return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo else ts

    try:
        start = max(naive(t) for t in (bounds[0], lo) if t)
        end = min(naive(t) for t in (bounds[1], hi) if t)
    except (ValueError, TypeError):
        return 1
    days = (end - start).total_seconds() / 86400
    return max(1, int(days // int(match.group(1))) + 1)


def check_pixels(graphs: list[dict], catalog: Any, max_pixels: int | None) -> int:
    """Raise PayloadTooLarge when the estimated pixel count exceeds ``max_pixels``."""
    count = estimate_pixels(graphs, catalog)
    if max_pixels and count > max_pixels:
        raise PayloadTooLarge(
            f"The request would load about {count:,} values (x*y*t*bands), more than the limit "
            f"of {max_pixels:,} for this kind of request. Reduce the spatial/temporal extent or "
            "bands, or use a batch job.")
    return count
