"""Tile previews for large AOIs: the graph as the backend's XYZ service, shown as a TileLayer
(the backend computes only visible tiles, at the tile's resolution); where the backend has no
XYZ service, or creating one fails, a low-resolution synchronous preview instead."""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any


@dataclass
class TilePreview:
    """An XYZ service of a preview graph: ``url`` is the template the browser loads."""

    service_id: str
    url: str
    bounds: tuple[tuple[float, float], tuple[float, float]]
    configuration: dict[str, Any]


_XYZ: dict[int, bool] = {}  # per connection id: does the backend offer XYZ services?


def supports_xyz(connection: Any) -> bool:
    """True when the backend advertises ``POST /services`` and an ``XYZ`` service type (cached)."""
    key = id(connection)
    if key not in _XYZ:
        try:
            ok = bool(connection.capabilities().supports_endpoint("/services", method="POST")) and any(
                str(name).upper() == "XYZ" for name in (connection.list_service_types() or {}))
        except Exception:  # noqa: BLE001 - no capabilities, no service types: no tiles
            ok = False
        _XYZ[key] = ok
    return _XYZ[key]


def _without_save(graph: dict[str, Any]) -> dict[str, Any]:
    graph = copy.deepcopy(graph)
    for node_id, node in list(graph.items()):
        if node["process_id"] == "save_result" and node.get("result"):
            source = node["arguments"]["data"]["from_node"]
            del graph[node_id]
            graph[source]["result"] = True
    return graph


def browser_tile_url(url: str) -> str:
    """Origin-relative in Jupyter (the lab cookie authenticates it), unchanged elsewhere."""
    from jupyter_eo.connection import browser_url, server_url

    return browser_url(url) if server_url() else url


def create_tile_preview(connection: Any, graph: dict[str, Any], spatial_extent: dict[str, float], *,
                        cmap: str, vmin: float, vmax: float, title: str = "jupyter_eo preview",
                        max_pixels: int = 512) -> Any:
    """Register ``graph`` as an XYZ service with a fixed colour stretch (same on every tile).

    Where the backend offers no XYZ service (:func:`supports_xyz`) or refuses to create one,
    the result is a low-resolution synchronous preview (a ``PreviewResult`` of ``max_pixels``
    on the longer side, with ``fallback`` saying why) instead of a :class:`TilePreview`."""
    if not supports_xyz(connection):
        return _sync_fallback(connection, graph, spatial_extent, max_pixels,
                              "this backend offers no XYZ map tiles")
    configuration = {"colormap": cmap, "min": float(vmin), "max": float(vmax)}
    try:
        service = connection.create_service(_without_save(graph), type="XYZ", title=title,
                                            configuration=configuration)
        url = service.describe_service()["url"]
    except Exception as exc:  # noqa: BLE001 - e.g. the backend rejects the service: preview anyway
        _XYZ[id(connection)] = False
        code = getattr(exc, "code", None) or type(exc).__name__
        return _sync_fallback(connection, graph, spatial_extent, max_pixels,
                              f"creating an XYZ service failed ({code})")
    bounds = ((spatial_extent["south"], spatial_extent["west"]), (spatial_extent["north"], spatial_extent["east"]))
    return TilePreview(service.service_id, browser_tile_url(url), bounds, configuration)


def restyle_tile_preview(connection: Any, preview: TilePreview, *, cmap: str, vmin: float,
                         vmax: float) -> TilePreview:
    """Change the service's colour stretch (tiles must then be reloaded)."""
    configuration = {"colormap": cmap, "min": float(vmin), "max": float(vmax)}
    connection.patch(f"/services/{preview.service_id}", json={"configuration": configuration},
                     expected_status=204)
    preview.configuration = configuration
    return preview


def delete_tile_preview(connection: Any, preview: TilePreview | None) -> None:
    """Remove a superseded preview service (errors are ignored: it may already be gone)."""
    if preview is None:
        return
    try:
        connection.delete(f"/services/{preview.service_id}", expected_status=204)
    except Exception:
        pass


def _sync_fallback(connection: Any, graph: dict[str, Any], spatial_extent: dict[str, float],
                   max_pixels: int, why: str) -> Any:
    from jupyter_eo.widgets.preview_run import run_preview

    result = run_preview(connection, graph, spatial_extent, max_pixels=max_pixels)
    result.fallback = f"Large AOI previewed at low resolution: {why}."
    return result
