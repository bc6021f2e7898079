"""Preview widget: debounced low-resolution runs of the current graph shown as a map overlay
with colour bar, stretch controls, progress and inline errors (time series as a chart)."""
from __future__ import annotations

import time
from typing import Any, Callable

import ipyleaflet
import ipywidgets as w
import numpy as np

from jupyter_eo.widgets.charts import parse_timeseries, timeseries_png
from jupyter_eo.widgets.inspector import Inspector
from jupyter_eo.widgets.map_layers import LayerList, MapResult
from jupyter_eo.widgets.colormaps import (COLORMAPS, ColourScale, colorbar_html, data_url, render,
                                          rgb_legend_html)
from jupyter_eo.widgets.preview_run import (PreviewResult, PreviewScheduler, is_timeseries,
                                            run_preview)
from jupyter_eo.widgets.style import css_style, error_html, muted_html


def describe_error(exc: BaseException) -> str:
    """A one-line, secret-free description of a failed run (openEO code + message when known)."""
    code = getattr(exc, "code", None)
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return f"{code}: {message}" if code else f"{type(exc).__name__}: {message}"


class Preview(w.VBox):
    """Runs the current graph cheaply and shows it on ``map`` (an ipyleaflet Map).

    ``update(graph, spatial_extent)`` schedules a run after ``delay`` seconds of quiet; newer
    updates supersede older ones (their results are dropped). Raster results become an
    ``ImageOverlay`` (PNG data URL) with a colour bar; the colormap and stretch are applied in
    the kernel without re-running. Aggregated (time-series) graphs are shown as a chart.

    A new area (an extent not previewed before) wider than ``2 * coarse_pixels`` native pixels
    is first previewed at ``coarse_pixels`` across (shown at once, "refining…"), then at
    ``max_pixels``: on an empty chunk cache the coarse pass is several times faster
    (``coarse_pixels=None`` turns this off).
    """

    def __init__(self, connection: Any, map: ipyleaflet.Map | None = None, *, delay: float = 0.4,
                 max_pixels: int = 512, runner: Callable[..., PreviewResult] | None = None,
                 tiles_above: float | None = 2048, coarse_pixels: int | None = 128,
                 **kwargs: Any) -> None:
        self.connection = connection
        self.map = map if map is not None else ipyleaflet.Map(layers=(), zoom=8,
                                                              layout=w.Layout(height="360px"))
        self.max_pixels = max_pixels
        self.coarse_pixels = coarse_pixels
        self._seen_extents: set[tuple[float, ...]] = set()
        self.coarse_shown = 0  # coarse first passes drawn (for tests and diagnostics)
        self._runner = runner or run_preview
        self._callbacks = w.CallbackDispatcher()
        self.result: PreviewResult | None = None
        self.series: list[tuple[str, float]] | None = None
        self.overlay: ipyleaflet.ImageOverlay | None = None
        # AOIs wider than `tiles_above` native pixels are previewed as XYZ tiles (None: never)
        self.tiles_above = tiles_above
        self.tiles: Any = None  # TilePreview of the current tile layer
        self.tile_layer: ipyleaflet.TileLayer | None = None
        self._tile_version = 0
        self.label = ""
        self.style = ColourScale()  # the colour scale of the shown result (limits policy, units)
        self._started_at = 0.0
        self.progress = w.IntProgress(value=0, min=0, max=1, bar_style="info",
                                      layout=w.Layout(width="8em", visibility="hidden"),
                                      description="", tooltip="Preview running")
        self.status = w.HTML(muted_html("No preview yet."))
        self.cmap = w.Dropdown(options=COLORMAPS, value="viridis", description="Colours",
                               layout=w.Layout(width="auto"))
        narrow = {"description_width": "initial"}
        self.vmin = w.FloatText(description="Min", style=narrow, layout=w.Layout(width="9em"))
        self.vmax = w.FloatText(description="Max", style=narrow, layout=w.Layout(width="9em"))
        self.auto = w.Button(description="Auto 2–98 %", tooltip="Stretch to the 2nd–98th percentile",
                             layout=w.Layout(width="auto"))
        self.default_scale = w.Button(description="Default", tooltip="The product's own colour scale "
                                      "(fixed index range, or symmetric around 0 for differences)",
                                      layout=w.Layout(width="auto"))
        self.opacity = w.FloatSlider(value=0.9, min=0.0, max=1.0, step=0.05, description="Opacity",
                                     readout_format=".2f", layout=w.Layout(width="16em"))
        self.colorbar = w.HTML(layout=w.Layout(width="100%", max_width="28em"))
        self.rgb_legend = w.HTML()  # RGB results: which band is which colour, and the stretch
        self.chart = w.Image(format="png", layout=w.Layout(display="none", max_width="100%"))
        self._restyling = False
        for control in (self.cmap, self.vmin, self.vmax):
            control.observe(self._on_style, names="value")
        self.opacity.observe(self._on_opacity, names="value")
        self.auto.on_click(lambda _: self.auto_stretch())
        self.default_scale.on_click(lambda _: self.reset_scale())
        self.scheduler = PreviewScheduler(self._run, self._deliver, self._fail, delay=delay,
                                          on_state=self._on_state)
        controls = w.HBox([self.cmap, self.vmin, self.vmax, self.auto, self.default_scale, self.opacity],
                          layout=w.Layout(flex_flow="row wrap"))
        # results kept as map layers (visibility, opacity, legend, split view) + click inspector
        self.layers = LayerList(self.map)
        self.keep_button = w.Button(description="Keep as layer", icon="clone", disabled=True,
                                    tooltip="Keep this preview on the map as a layer (to compare it later)")
        self.keep_button.on_click(lambda _: self.keep())
        self.inspector = Inspector(self.map, self.layers, extra=self._live_results)
        layers_box = w.VBox([self.keep_button, self.layers, self.inspector])
        layers_box.add_class("jeo-layers-box")
        super().__init__([css_style(), w.HBox([self.progress, self.status]), controls,
                          self.colorbar, self.rgb_legend, self.chart, layers_box], **kwargs)
        self.add_class("jeo-preview")

    # -- public API ----------------------------------------------------------------------
    def update(self, graph: dict[str, Any], spatial_extent: dict[str, float], *, cmap: str | None = None,
               range: tuple[float, float] | None = None, label: str = "", immediate: bool = False,
               resolution_m: float | None = None, style: ColourScale | None = None) -> None:
        """Schedule a preview of ``graph`` for ``spatial_extent`` (debounced, latest wins).

        ``resolution_m``: the collection's native resolution; small AOIs then skip resampling.
        ``style``: the product's colour scale (e.g. ``product_style(recipe)``: fixed index
        range, symmetric difference limits, units); without it the result is stretched to the
        2nd–98th percentile of its valid pixels within ``range``.
        """
        self._resolution_m = resolution_m
        self.scheduler.request((graph, dict(spatial_extent), cmap, range, label, resolution_m, style),
                               immediate=immediate)

    def wait(self, timeout: float = 60.0) -> bool:
        """Block until the newest preview finished (True) or ``timeout`` passed (False)."""
        return self.scheduler.wait(timeout)

    def cancel(self) -> None:
        """Drop scheduled and running previews."""
        self.scheduler.cancel()
        self._on_state("idle")
        self.status.value = muted_html("Preview cancelled.")

    def on_result(self, callback: Callable[[PreviewResult | list], Any], remove: bool = False) -> None:
        """Call ``callback(result)`` after each delivered preview."""
        self._callbacks.register_callback(callback, remove=remove)

    def auto_stretch(self, low: float = 2.0, high: float = 98.0,
                     limits: tuple[float, float] | None = None) -> None:
        """Set min/max to percentiles of the valid pixels of the current preview (masked/NaN
        pixels, and for RGB pixels with any masked channel, are left out; clipped to ``limits``)."""
        if self.result is None:
            return
        from jupyter_eo.widgets.colormaps import clamp_range, percentile_range, valid_values

        lo, hi = percentile_range(valid_values(self._display_array(self.result.data)), low, high)
        if limits is not None:
            lo, hi = clamp_range(lo, hi, limits)
        self._set_range(lo, hi)
        self._redraw()

    def reset_scale(self) -> None:
        """Back to the product's default colour scale (colormap and limits)."""
        if self.result is None:
            return
        self._restyling = True
        try:
            if self.style.cmap in COLORMAPS:
                self.cmap.value = self.style.cmap
        finally:
            self._restyling = False
        self._set_range(*self.style.limits(self._display_array(self.result.data)))
        self._redraw()

    def keep(self, name: str | None = None) -> MapResult | None:
        """Keep the current preview on the map as a layer (with its colours and limits)."""
        if self.result is None:
            return None
        style = type(self.style)(cmap=self.cmap.value, stretch="fixed", range=(self.vmin.value, self.vmax.value),
                                 units=self.style.units, gamma=self.style.gamma)
        kept = self.layers.add(name or self.label or "Preview", self.result.data, self.result.bounds,
                               style=style, vmin=self.vmin.value, vmax=self.vmax.value,
                               band_names=list(self.result.band_names), opacity=self.opacity.value)
        if self.overlay is not None and self.overlay in self.map.layers:
            self.overlay.visible = False  # the kept copy shows the same; the next preview shows again
        return kept

    def _live_results(self) -> list[MapResult]:
        if self.result is None or self.overlay is None or not self.overlay.visible:
            return []
        style = type(self.style)(cmap=self.cmap.value, stretch="fixed", range=(self.vmin.value, self.vmax.value),
                                 units=self.style.units, gamma=self.style.gamma)
        return [MapResult(f"Preview{' — ' + self.label if self.label else ''}", self.result.data,
                          self.result.bounds, self.overlay, list(self.result.band_names), style,
                          self.vmin.value, self.vmax.value)]

    # -- worker side ---------------------------------------------------------------------
    def _run(self, job: tuple, is_cancelled: Callable[[], bool]) -> Any:
        graph, extent, _cmap, _range, _label, resolution_m, style = job
        if is_timeseries(graph):
            from jupyter_eo.widgets.preview_run import Cancelled

            from jupyter_eo.widgets.preview_run import call_cancellable

            timeseries = _with_json_save(graph)
            payload = call_cancellable(self.connection, lambda con: con.execute(timeseries),
                                       is_cancelled)
            if is_cancelled():
                raise Cancelled()
            return job, parse_timeseries(payload)
        if self._use_tiles(extent, resolution_m):
            from jupyter_eo.widgets.preview_tiles import create_tile_preview

            cmap = style.cmap if style is not None else (job[2] or self.cmap.value)
            fixed = style.range if style is not None and style.stretch == "fixed" else None
            value_range = fixed or job[3] or (style.range if style is not None else None) \
                or (self.vmin.value, self.vmax.value)
            if value_range[1] <= value_range[0]:
                value_range = (0.0, 1.0)
            return job, create_tile_preview(self.connection, graph, extent, cmap=cmap,
                                            vmin=value_range[0], vmax=value_range[1])
        if self._wants_coarse(extent, resolution_m):
            coarse = self._runner(self.connection, graph, extent, max_pixels=self.coarse_pixels,
                                  is_cancelled=is_cancelled, resolution_m=resolution_m)
            if not is_cancelled():
                self._show_coarse(job, coarse)
        result = self._runner(self.connection, graph, extent, max_pixels=self.max_pixels,
                              is_cancelled=is_cancelled, resolution_m=resolution_m)
        self._seen_extents.add(_extent_key(extent))
        return job, result

    def _wants_coarse(self, extent: dict[str, float], resolution_m: float | None) -> bool:
        if not self.coarse_pixels or not resolution_m or _extent_key(extent) in self._seen_extents:
            return False
        from jupyter_eo.widgets.preview_run import native_pixels

        return native_pixels(extent, resolution_m) > 2 * self.coarse_pixels

    def _show_coarse(self, job: tuple, result: PreviewResult) -> None:
        """Draw a coarse first pass (not delivered to ``on_result`` callbacks)."""
        _graph, _extent, cmap, value_range, label, _resolution, style = job
        self._adopt_style(label, style, cmap, value_range)
        self._show_image(result)
        self.coarse_shown += 1
        shape = "×".join(str(s) for s in result.data.shape[-2:])
        self.status.value = muted_html(f"Coarse preview {shape} px in {result.seconds:.2f} s; refining…")

    def _adopt_style(self, label: str, style: ColourScale | None, cmap: str | None,
                     value_range: Any) -> None:
        """The job's label and colour scale (its own, or a robust one over its cmap/range)."""
        self.label = label
        self.style = style or ColourScale(cmap=cmap or self.cmap.value, stretch="robust",
                                          range=tuple(value_range) if value_range else None)

    def _show_image(self, result: PreviewResult) -> None:
        """Draw ``result`` as the overlay in the current style (coarse pass or final preview)."""
        self.series, self.result = None, result
        self._restyling = True
        try:
            if self.style.cmap in COLORMAPS:
                self.cmap.value = self.style.cmap
        finally:
            self._restyling = False
        self._set_range(*self.style.limits(self._display_array(result.data)))
        self._redraw()

    def _use_tiles(self, extent: dict[str, float], resolution_m: float | None) -> bool:
        if self.tiles_above is None or not resolution_m or not hasattr(self.connection, "create_service"):
            return False
        from jupyter_eo.widgets.preview_run import native_pixels

        return native_pixels(extent, resolution_m) > self.tiles_above

    def _deliver(self, outcome: tuple) -> None:
        (graph, extent, cmap, value_range, label, _resolution, style), result = outcome
        self._adopt_style(label, style, cmap, value_range)
        if isinstance(result, PreviewResult):
            self._show_image(result)
            shape = "×".join(str(s) for s in result.data.shape[-2:])
            self.status.value = muted_html(f"Preview {shape} px in {result.seconds:.2f} s.")
        elif type(result).__name__ == "TilePreview":
            self._show_tiles(result, cmap, value_range)
            self.status.value = muted_html("Large AOI: previewed as map tiles, computed as you pan and zoom.")
        else:
            self.series = result
            self._show_chart(result, label)
            self.status.value = muted_html(f"{len(result)} dates in "
                                           f"{time.perf_counter() - self._started_at:.2f} s.")
        self._callbacks(result)

    def _fail(self, exc: BaseException) -> None:
        self.status.value = error_html(f"Preview failed — {describe_error(exc)}")

    def _on_state(self, state: str) -> None:
        running = state in ("waiting", "running")
        self.progress.layout.visibility = "visible" if running else "hidden"
        self.progress.bar_style = "info" if state == "waiting" else ("warning" if running else "")
        self.progress.value = 0 if running else 1
        if state == "running":
            self._started_at = time.perf_counter()
            self.status.value = muted_html("Computing preview…")
        elif state == "waiting":
            self.status.value = muted_html("Preview scheduled…")

    # -- drawing -------------------------------------------------------------------------
    @staticmethod
    def _display_array(data: np.ndarray) -> np.ndarray:
        if data.shape[0] >= 3:
            return data[:3]
        return data[0]

    def _set_range(self, low: float, high: float) -> None:
        self._restyling = True
        try:
            self.vmin.value, self.vmax.value = float(round(low, 6)), float(round(high, 6))
        finally:
            self._restyling = False

    def _on_style(self, _change: dict) -> None:
        if self._restyling:
            return
        if self.tiles is not None and self.tile_layer is not None:
            self._restyle_tiles()
        elif self.result is not None:
            self._redraw()

    def _on_opacity(self, change: dict) -> None:
        if self.overlay is not None:
            self.overlay.opacity = change["new"]

    def _redraw(self) -> None:
        result = self.result
        if result is None:
            return
        array = self._display_array(result.data)
        png, _ = render(array, cmap=self.cmap.value, vmin=self.vmin.value, vmax=self.vmax.value,
                        gamma=self.style.gamma)
        url = data_url(png)
        bounds = [list(result.bounds[0]), list(result.bounds[1])]
        self._drop_tiles()
        if self.overlay is None or self.overlay not in self.map.layers:
            self.map.panes = {**self.map.panes, "jeo-preview": {"zIndex": 450}}
            self.overlay = ipyleaflet.ImageOverlay(url=url, bounds=bounds, name="Preview",
                                                   opacity=self.opacity.value, pane="jeo-preview")
            self.map.add(self.overlay)
        else:
            self.overlay.bounds = bounds
            self.overlay.url = url
            self.overlay.visible = True
        self.keep_button.disabled = False
        rgb = array.ndim == 3
        self.cmap.disabled = rgb
        self.colorbar.value = ("" if rgb else
                               colorbar_html(self.cmap.value, self.vmin.value, self.vmax.value, self.label,
                                             self.style.units))
        self.rgb_legend.value = (rgb_legend_html(result.band_names[:3], self.vmin.value, self.vmax.value,
                                                 self.style.units) if rgb else "")
        self.chart.layout.display = "none"

    # -- tiles ---------------------------------------------------------------------------
    def _show_tiles(self, tiles: Any, cmap: str | None, value_range: tuple[float, float] | None) -> None:
        self._drop_tiles()
        if self.overlay is not None and self.overlay in self.map.layers:
            self.map.remove(self.overlay)
        self.result, self.tiles = None, tiles
        self.keep_button.disabled = True
        self._restyling = True
        try:
            self.cmap.value = tiles.configuration["colormap"]
            self._set_range(tiles.configuration["min"], tiles.configuration["max"])
        finally:
            self._restyling = False
        self.tile_layer = ipyleaflet.TileLayer(url=tiles.url, name="Preview", opacity=self.opacity.value,
                                               max_zoom=19, no_wrap=True)
        self.map.add(self.tile_layer)
        self.rgb_legend.value = ""
        self.colorbar.value = colorbar_html(self.cmap.value, self.vmin.value, self.vmax.value, self.label,
                                            self.style.units)
        self.chart.layout.display = "none"

    def _restyle_tiles(self) -> None:
        from jupyter_eo.widgets.preview_tiles import restyle_tile_preview

        try:
            restyle_tile_preview(self.connection, self.tiles, cmap=self.cmap.value, vmin=self.vmin.value,
                                 vmax=self.vmax.value)
        except Exception as exc:
            self.status.value = error_html(f"Restyling the tiles failed — {describe_error(exc)}")
            return
        self._tile_version += 1
        sep = "&" if "?" in self.tiles.url else "?"
        self.tile_layer.url = f"{self.tiles.url}{sep}v={self._tile_version}"  # reload the tiles
        self.colorbar.value = colorbar_html(self.cmap.value, self.vmin.value, self.vmax.value, self.label,
                                            self.style.units)

    def _drop_tiles(self) -> None:
        from jupyter_eo.widgets.preview_tiles import delete_tile_preview

        if self.tile_layer is not None and self.tile_layer in self.map.layers:
            self.map.remove(self.tile_layer)
        self.tile_layer = None
        if self.tiles is not None:
            delete_tile_preview(self.connection, self.tiles)
            self.tiles = None

    def _show_chart(self, series: list[tuple[str, float]], label: str) -> None:
        self.chart.value = timeseries_png(series, title=label or "Mean over the AOI")
        self.chart.layout.display = ""


def _extent_key(extent: dict[str, float]) -> tuple[float, ...]:
    return tuple(round(float(extent[k]), 9) for k in ("west", "south", "east", "north"))


def _with_json_save(graph: dict[str, Any]) -> dict[str, Any]:
    import copy

    graph = copy.deepcopy(graph)
    sinks = [nid for nid, node in graph.items() if node.get("result")] or [list(graph)[-1]]
    sink = sinks[0]
    if graph[sink]["process_id"] == "save_result":
        return graph
    graph[sink].pop("result", None)
    graph["preview_json"] = {"process_id": "save_result", "result": True,
                             "arguments": {"data": {"from_node": sink}, "format": "JSON", "options": {}}}
    return graph


__all__ = ["Preview", "describe_error"]
