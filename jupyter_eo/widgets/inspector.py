"""Click inspector: the values of every kept map layer (and the live preview) at a clicked point,
given in longitude/latitude."""
from __future__ import annotations

import html
from typing import Any, Callable

import ipyleaflet
import ipywidgets as w

from jupyter_eo.widgets.map_layers import LayerList, MapResult
from jupyter_eo.widgets.style import muted_html

Extra = Callable[[], list[MapResult]]


def format_lonlat(lon: float, lat: float) -> str:
    """``11.2345° E, 46.1234° N`` (4 decimals, about 10 m)."""
    return (f"{abs(lon):.4f}° {'E' if lon >= 0 else 'W'}, "
            f"{abs(lat):.4f}° {'N' if lat >= 0 else 'S'}")


class Inspector(w.VBox):
    """With ``active`` checked, a click on ``map`` lists each layer's band values at that point.

    ``extra()`` may return more results to inspect (e.g. the live preview), listed first.
    """

    def __init__(self, map: ipyleaflet.Map, layers: LayerList, *, extra: Extra | None = None,
                 **kwargs: Any) -> None:
        self.map = map
        self.layers = layers
        self.extra = extra or (lambda: [])
        self.point: tuple[float, float] | None = None
        self.active = w.Checkbox(value=True, description="Inspect values on click", indent=False,
                                 layout=w.Layout(width="auto"))
        self.table = w.HTML(muted_html("Click the map to see the values of all layers there."))
        self.table.add_class("jeo-inspector-table")
        self.marker: ipyleaflet.CircleMarker | None = None
        map.on_interaction(self._on_event)
        super().__init__([self.active, self.table], **kwargs)
        self.add_class("jeo-inspector")

    def inspect(self, lon: float, lat: float) -> list[tuple[str, dict[str, float] | None]]:
        """Values of every layer at (lon, lat), shown as a table; returns (name, values) pairs."""
        self.point = (lon, lat)
        results = list(self.extra()) + list(self.layers.results)
        rows = [(r, r.value_at(lon, lat)) for r in results]
        self._mark(lon, lat)
        body = "".join(self._row(r, values) for r, values in rows) or \
            "<tr><td colspan='3' class='jeo-muted'>No layers on the map.</td></tr>"
        self.table.value = (f"<div class='jeo-card'><b>{html.escape(format_lonlat(lon, lat))}</b>"
                            f"<table><tr><th>Layer</th><th>Value</th><th>Units</th></tr>{body}</table></div>")
        return [(r.name, values) for r, values in rows]

    @staticmethod
    def _row(result: MapResult, values: dict[str, float] | None) -> str:
        if values is None:
            text = "— (outside)"
        else:
            text = ", ".join(f"{html.escape(k)} {v:.4g}" if len(values) > 1 else f"{v:.4g}"
                             for k, v in values.items())
        return (f"<tr><td>{html.escape(result.name)}</td><td>{text}</td>"
                f"<td>{html.escape(result.style.units)}</td></tr>")

    def _mark(self, lon: float, lat: float) -> None:
        if self.marker is None:
            self.marker = ipyleaflet.CircleMarker(location=(lat, lon), radius=6, color="#ff1744",
                                                  fill_opacity=0.0, weight=2, name="Inspected point")
            self.map.add(self.marker)
        else:
            self.marker.location = (lat, lon)

    def _on_event(self, **event: Any) -> None:
        if event.get("type") != "click" or not self.active.value:
            return
        if not self.layers.results and not self.extra():
            return  # nothing to inspect (e.g. clicks that draw the AOI): no marker, no table
        lat, lon = event.get("coordinates") or (None, None)
        if lat is None:
            return
        lon = (float(lon) + 180.0) % 360.0 - 180.0  # leaflet reports beyond ±180 after panning
        self.inspect(lon, float(lat))


__all__ = ["Inspector", "format_lonlat"]
