"""Tile previews for large AOIs: the graph as the backend's XYZ service, shown as a TileLayer
(the backend computes only visible tiles, at the tile's resolution)."""
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
                        cmap: str, vmin: float, vmax: float, title: str = "jupyter_eo preview") -> TilePreview:
    """Register ``graph`` as an XYZ service with a fixed colour stretch (same on every tile)."""
    configuration = {"colormap": cmap, "min": float(vmin), "max": float(vmax)}
    service = connection.create_service(_without_save(graph), type="XYZ", title=title,
                                        configuration=configuration)
    url = service.describe_service()["url"]
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
