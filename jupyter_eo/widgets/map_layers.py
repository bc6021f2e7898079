"""Results kept as map layers: a list with visibility, opacity, legend and removal per layer, and a
split (swipe) view of two of them (ipyleaflet's SplitMapControl)."""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import ipyleaflet
import ipywidgets as w
import numpy as np

from jupyter_eo.widgets.colormaps import (ColourScale, colorbar_html, data_url, render,
                                          rgb_legend_html)
from jupyter_eo.widgets.style import css_style, muted_html

HALF_WORLD = 20037508.342789244  # Web Mercator half circumference (m)
Bounds = tuple[tuple[float, float], tuple[float, float]]  # ((south, west), (north, east))


def mercator(lon: float, lat: float) -> tuple[float, float]:
    """Web Mercator (x, y) in metres of a lon/lat point (latitude clipped to ±85.06°)."""
    lat = max(-85.0511, min(85.0511, lat))
    x = lon / 180.0 * HALF_WORLD
    y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) / math.pi * HALF_WORLD
    return x, y


@dataclass
class MapResult:
    """One result on the map: its values (bands, y, x), where it is drawn (lat/lon ``bounds``,
    stretched like leaflet's ImageOverlay: linear in Web Mercator), how (colour scale, limits)."""

    name: str
    data: np.ndarray
    bounds: Bounds
    layer: ipyleaflet.ImageOverlay
    band_names: list[str] = field(default_factory=list)
    style: ColourScale = field(default_factory=ColourScale)
    vmin: float = 0.0
    vmax: float = 1.0

    def value_at(self, lon: float, lat: float) -> dict[str, float] | None:
        """The band values of the pixel drawn at (lon, lat); None outside the result."""
        (south, west), (north, east) = self.bounds
        if east < west:
            east += 360.0
            if lon < west:
                lon += 360.0
        if not (south <= lat <= north and west <= lon <= east):
            return None
        x0, y0 = mercator(west, south)
        x1, y1 = mercator(east, north)
        x, y = mercator(lon, lat)
        ny, nx = self.data.shape[-2:]
        col = min(nx - 1, max(0, int((x - x0) / ((x1 - x0) or 1.0) * nx)))
        row = min(ny - 1, max(0, int((y1 - y) / ((y1 - y0) or 1.0) * ny)))
        names = self.band_names or [f"band {i + 1}" for i in range(self.data.shape[0])]
        return {str(n): float(v) for n, v in zip(names, self.data[:, row, col])}

    def legend_html(self) -> str:
        """Colour bar (one band) or band/stretch line (RGB), with units."""
        if self.data.shape[0] >= 3:
            return rgb_legend_html(self.band_names[:3], self.vmin, self.vmax, self.style.units)
        return colorbar_html(self.style.cmap, self.vmin, self.vmax, "", self.style.units)


def overlay_png(data: np.ndarray, style: ColourScale, vmin: float, vmax: float) -> str:
    """The data URL of a result drawn with a colour scale (first band, or the first three as RGB)."""
    array = data[:3] if data.shape[0] >= 3 else data[0]
    png, _ = render(array, cmap=style.cmap, vmin=vmin, vmax=vmax, gamma=style.gamma)
    return data_url(png)


class LayerList(w.VBox):
    """Results kept on ``map``: each row toggles visibility, sets opacity, shows the legend and
    removes the layer. "Split view" puts one layer left and another right of a draggable divider.

    Each layer gets its own map pane, so that the split view can clip image overlays (which
    otherwise share leaflet's overlay pane).
    """

    def __init__(self, map: ipyleaflet.Map, **kwargs: Any) -> None:
        self.map = map
        self.results: list[MapResult] = []
        self.split_control: ipyleaflet.SplitMapControl | None = None
        self._callbacks = w.CallbackDispatcher()
        self._pane_counter = 0
        self.rows = w.VBox()
        self.left = w.Dropdown(description="Left", layout=w.Layout(width="auto"))
        self.right = w.Dropdown(description="Right", layout=w.Layout(width="auto"))
        self.split_button = w.ToggleButton(value=False, description="Split view", icon="columns",
                                           tooltip="Compare two layers side by side with a draggable divider")
        self.split_button.observe(self._on_split_toggle, names="value")
        for dropdown in (self.left, self.right):
            dropdown.observe(lambda _: self._update_split(), names="value")
        self.empty = w.HTML(muted_html("No layers kept yet: \"Keep as layer\" adds the preview here."))
        self.split_box = w.HBox([self.split_button, self.left, self.right],
                                layout=w.Layout(flex_flow="row wrap", display="none"))
        super().__init__([css_style(), self.empty, self.rows, self.split_box], **kwargs)
        self.add_class("jeo-layer-list")

    # -- public API ----------------------------------------------------------------------
    def on_change(self, callback: Callable[[list[MapResult]], Any], remove: bool = False) -> None:
        """Call ``callback(results)`` whenever a layer is added or removed."""
        self._callbacks.register_callback(callback, remove=remove)

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.results]

    def get(self, name: str) -> MapResult:
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(name)

    def add(self, name: str, data: np.ndarray, bounds: Bounds, *, style: ColourScale | None = None,
            vmin: float | None = None, vmax: float | None = None,
            band_names: list[str] | None = None, opacity: float = 0.9) -> MapResult:
        """Add a result (bands, y, x) drawn over lat/lon ``bounds``; a taken name gets a suffix."""
        data = np.asarray(data, dtype="float64")
        if data.ndim == 2:
            data = data[None]
        style = style or ColourScale()
        if vmin is None or vmax is None:
            vmin, vmax = style.limits(data[:3] if data.shape[0] >= 3 else data[0])
        name = self._unique(name)
        self._pane_counter += 1
        pane = f"jeo-layer-{self._pane_counter}"
        self.map.panes = {**self.map.panes, pane: {"zIndex": 400 + self._pane_counter}}
        layer = ipyleaflet.ImageOverlay(url=overlay_png(data, style, vmin, vmax),
                                        bounds=[list(bounds[0]), list(bounds[1])], name=name,
                                        opacity=opacity, pane=pane)
        result = MapResult(name, data, bounds, layer, list(band_names or []), style, float(vmin), float(vmax))
        self.map.add(layer)
        self.results.append(result)
        self._refresh()
        return result

    def remove(self, name: str) -> None:
        """Remove a layer from the map and the list."""
        result = self.get(name)
        if self.split_button.value and name in (self.left.value, self.right.value):
            self.split_button.value = False
        if result.layer in self.map.layers:
            self.map.remove(result.layer)
        self.results.remove(result)
        self._refresh()

    def set_visible(self, name: str, visible: bool) -> None:
        self.get(name).layer.visible = bool(visible)
        self._sync_rows()

    def set_opacity(self, name: str, opacity: float) -> None:
        self.get(name).layer.opacity = float(opacity)
        self._sync_rows()

    def split(self, left: str, right: str) -> None:
        """Show ``left`` left and ``right`` right of a draggable divider."""
        self.left.value, self.right.value = left, right
        self.split_button.value = True
        self._update_split()

    def unsplit(self) -> None:
        self.split_button.value = False

    def values_at(self, lon: float, lat: float) -> list[tuple[MapResult, dict[str, float] | None]]:
        """Each layer with its band values at (lon, lat) (None where it does not cover the point)."""
        return [(r, r.value_at(lon, lat)) for r in self.results]

    # -- internals -----------------------------------------------------------------------
    def _unique(self, name: str) -> str:
        name = name or "Layer"
        taken = set(self.names)
        if name not in taken:
            return name
        i = 2
        while f"{name} ({i})" in taken:
            i += 1
        return f"{name} ({i})"

    def _refresh(self) -> None:
        names = self.names
        self.empty.layout.display = "none" if names else ""
        self.split_box.layout.display = "" if len(names) >= 2 else "none"
        left, right = self.left.value, self.right.value
        self.left.options = self.right.options = names
        if names:
            left = left if left in names else names[0]
            others = [n for n in names if n != left]
            right = right if right in others else (others[-1] if others else left)
            self.left.value, self.right.value = left, right
        if len(names) < 2 and self.split_button.value:
            self.split_button.value = False
        self.rows.children = [self._row(r) for r in self.results]
        self._callbacks(list(self.results))

    def _sync_rows(self) -> None:
        for row, result in zip(self.rows.children, self.results):
            visible, _name, opacity = row.children[:3]
            visible.value, opacity.value = result.layer.visible, result.layer.opacity

    def _row(self, result: MapResult) -> w.Widget:
        visible = w.Checkbox(value=result.layer.visible, indent=False, description="",
                             tooltip=f"Show {result.name}", layout=w.Layout(width="2em"))
        visible.add_class("jeo-layer-visible")
        label = w.HTML(f"<b>{html.escape(result.name)}</b>", layout=w.Layout(width="12em"))
        opacity = w.FloatSlider(value=result.layer.opacity, min=0.0, max=1.0, step=0.05, readout=False,
                                description="Opacity", layout=w.Layout(width="14em"))
        opacity.add_class("jeo-layer-opacity")
        remove = w.Button(icon="trash", tooltip=f"Remove {result.name}", layout=w.Layout(width="3em"))
        remove.add_class("jeo-layer-remove")
        legend = w.HTML(result.legend_html(), layout=w.Layout(width="16em"))
        visible.observe(lambda c: setattr(result.layer, "visible", c["new"]), names="value")
        opacity.observe(lambda c: setattr(result.layer, "opacity", c["new"]), names="value")
        remove.on_click(lambda _: self.remove(result.name))
        row = w.HBox([visible, label, opacity, remove, legend],
                     layout=w.Layout(flex_flow="row wrap", align_items="center"))
        row.add_class("jeo-layer-row")
        return row

    def _on_split_toggle(self, change: dict) -> None:
        self._update_split()

    def _update_split(self) -> None:
        if self.split_control is not None and self.split_control in self.map.controls:
            self.map.remove(self.split_control)
        self.split_control = None
        if not self.split_button.value:
            return
        names = self.names
        if self.left.value not in names or self.right.value not in names or self.left.value == self.right.value:
            return
        left, right = self.get(self.left.value), self.get(self.right.value)
        left.layer.visible = right.layer.visible = True
        self._sync_rows()
        self.split_control = ipyleaflet.SplitMapControl(left_layer=left.layer, right_layer=right.layer)
        self.map.add(self.split_control)


__all__ = ["LayerList", "MapResult", "mercator", "overlay_png"]
