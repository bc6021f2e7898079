"""Preview widget: debounced low-resolution runs of the current graph shown as a map overlay
with colour bar, stretch controls, progress and inline errors (time series as a chart)."""
from __future__ import annotations

import time
from typing import Any, Callable

import ipyleaflet
import ipywidgets as w
import numpy as np

from jupyter_eo.widgets.charts import parse_timeseries, timeseries_png
from jupyter_eo.widgets.colormaps import COLORMAPS, colorbar_html, data_url, render
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
    """

    def __init__(self, connection: Any, map: ipyleaflet.Map | None = None, *, delay: float = 0.4,
                 max_pixels: int = 512, runner: Callable[..., PreviewResult] | None = None,
                 tiles_above: float | None = 2048, **kwargs: Any) -> None:
        self.connection = connection
        self.map = map if map is not None else ipyleaflet.Map(layers=(), zoom=8,
                                                              layout=w.Layout(height="360px"))
        self.max_pixels = max_pixels
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
        self.opacity = w.FloatSlider(value=0.9, min=0.0, max=1.0, step=0.05, description="Opacity",
                                     readout_format=".2f", layout=w.Layout(width="16em"))
        self.colorbar = w.HTML(layout=w.Layout(width="100%", max_width="28em"))
        self.chart = w.Image(format="png", layout=w.Layout(display="none", max_width="100%"))
        self._restyling = False
        for control in (self.cmap, self.vmin, self.vmax):
            control.observe(self._on_style, names="value")
        self.opacity.observe(self._on_opacity, names="value")
        self.auto.on_click(lambda _: self.auto_stretch())
        self.scheduler = PreviewScheduler(self._run, self._deliver, self._fail, delay=delay,
                                          on_state=self._on_state)
        controls = w.HBox([self.cmap, self.vmin, self.vmax, self.auto, self.opacity],
                          layout=w.Layout(flex_flow="row wrap"))
        super().__init__([css_style(), w.HBox([self.progress, self.status]), controls,
                          self.colorbar, self.chart], **kwargs)
        self.add_class("jeo-preview")

    # -- public API ----------------------------------------------------------------------
    def update(self, graph: dict[str, Any], spatial_extent: dict[str, float], *, cmap: str | None = None,
               range: tuple[float, float] | None = None, label: str = "", immediate: bool = False,
               resolution_m: float | None = None) -> None:
        """Schedule a preview of ``graph`` for ``spatial_extent`` (debounced, latest wins).

        ``resolution_m``: the collection's native resolution; small AOIs then skip resampling.
        """
        self._resolution_m = resolution_m
        self.scheduler.request((graph, dict(spatial_extent), cmap, range, label, resolution_m),
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
        """Set min/max to percentiles of the current preview (clipped to ``limits``)."""
        if self.result is None:
            return
        from jupyter_eo.widgets.colormaps import percentile_range

        lo, hi = percentile_range(self._display_array(self.result.data), low, high)
        if limits is not None:
            lo, hi = max(lo, limits[0]), min(hi, limits[1])
            if hi <= lo:
                lo, hi = limits
            min_span = 0.1 * (limits[1] - limits[0])  # don't blow noise up into false contrast
            if hi - lo < min_span:
                centre = (lo + hi) / 2
                lo = max(limits[0], centre - min_span / 2)
                hi = min(limits[1], lo + min_span)
                lo = hi - min_span
        self._set_range(lo, hi)
        self._redraw()

    # -- worker side ---------------------------------------------------------------------
    def _run(self, job: tuple, is_cancelled: Callable[[], bool]) -> Any:
        graph, extent, *_, resolution_m = job
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

            cmap, value_range = job[2] or self.cmap.value, job[3] or (self.vmin.value, self.vmax.value)
            if value_range[1] <= value_range[0]:
                value_range = (0.0, 1.0)
            return job, create_tile_preview(self.connection, graph, extent, cmap=cmap,
                                            vmin=value_range[0], vmax=value_range[1])
        return job, self._runner(self.connection, graph, extent, max_pixels=self.max_pixels,
                                 is_cancelled=is_cancelled, resolution_m=resolution_m)

    def _use_tiles(self, extent: dict[str, float], resolution_m: float | None) -> bool:
        if self.tiles_above is None or not resolution_m or not hasattr(self.connection, "create_service"):
            return False
        from jupyter_eo.widgets.preview_run import native_pixels

        return native_pixels(extent, resolution_m) > self.tiles_above

    def _deliver(self, outcome: tuple) -> None:
        (graph, extent, cmap, value_range, label, _resolution), result = outcome
        self.label = label
        if isinstance(result, PreviewResult):
            self.series = None
            self.result = result
            self._restyling = True
            try:
                if cmap:
                    self.cmap.value = cmap
            finally:
                self._restyling = False
            self.auto_stretch(limits=value_range)  # 2–98 % stretch, within the recipe's valid range
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
        png, _ = render(array, cmap=self.cmap.value, vmin=self.vmin.value, vmax=self.vmax.value)
        url = data_url(png)
        bounds = [list(result.bounds[0]), list(result.bounds[1])]
        self._drop_tiles()
        if self.overlay is None or self.overlay not in self.map.layers:
            self.overlay = ipyleaflet.ImageOverlay(url=url, bounds=bounds, name="Preview",
                                                   opacity=self.opacity.value)
            self.map.add(self.overlay)
        else:
            self.overlay.bounds = bounds
            self.overlay.url = url
        rgb = array.ndim == 3
        self.cmap.disabled = rgb
        self.colorbar.value = ("" if rgb else
                               colorbar_html(self.cmap.value, self.vmin.value, self.vmax.value, self.label))
        self.chart.layout.display = "none"

    # -- tiles ---------------------------------------------------------------------------
    def _show_tiles(self, tiles: Any, cmap: str | None, value_range: tuple[float, float] | None) -> None:
        self._drop_tiles()
        if self.overlay is not None and self.overlay in self.map.layers:
            self.map.remove(self.overlay)
        self.result, self.tiles = None, tiles
        self._restyling = True
        try:
            self.cmap.value = tiles.configuration["colormap"]
            self._set_range(tiles.configuration["min"], tiles.configuration["max"])
        finally:
            self._restyling = False
        self.tile_layer = ipyleaflet.TileLayer(url=tiles.url, name="Preview", opacity=self.opacity.value,
                                               max_zoom=19, no_wrap=True)
        self.map.add(self.tile_layer)
        self.colorbar.value = colorbar_html(self.cmap.value, self.vmin.value, self.vmax.value, self.label)
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
        self.colorbar.value = colorbar_html(self.cmap.value, self.vmin.value, self.vmax.value, self.label)

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
