"""CubeViewer: inspect a result cube — time slider with play, band/RGB, colormap + percentile
stretch, colour bar, pixel time series on click, statistics, histogram, compare and GIF export."""
from __future__ import annotations

import html
import io
from pathlib import Path
from typing import Any

import ipyleaflet
import ipywidgets as w
import numpy as np
import xarray as xr
from ipyleaflet import projections

from jupyter_eo.widgets.charts import histogram_svg, timeseries_png
from jupyter_eo.widgets.colormaps import (COLORMAPS, ColourScale, colorbar_html, data_url,
                                          percentile_range, render, symmetric_limit)
from jupyter_eo.widgets.cube_data import as_cube, pixel_lonlat, time_labels
from jupyter_eo.widgets.style import css_style, error_html, muted_html

_SAMPLE = 500_000  # values used to compute stretch percentiles


class CubeViewer(w.VBox):
    """Show a cube (DataArray, Dataset, file path or batch job) frame by frame.

    The image sits on a leaflet map in pixel coordinates (``CRS.Simple``), so it pans/zooms and
    a click maps to an exact pixel: the pixel's values over time appear as a chart, titled with
    the pixel's longitude/latitude when the cube has coordinates and a CRS.

    ``style``: the product's colour scale (e.g. ``product_style(recipe)``: NDVI on a fixed
    range, differences symmetric around 0) used until the stretch slider is moved; without it,
    each band is stretched to percentiles of its valid (finite) pixels. ``band_name`` renames a
    single unnamed band (e.g. a job result's ``"data"`` becomes ``"NDVI"``).
    """

    def __init__(self, cube: Any, *, other: Any = None, height: str = "380px", cmap: str = "viridis",
                 style: ColourScale | None = None, band_name: str | None = None, **kwargs: Any) -> None:
        self.cube = _renamed(as_cube(cube), band_name)
        self.style = style
        if style is not None and style.cmap in COLORMAPS:
            cmap = style.cmap
        # a second result to compare with (same bands, y/x size); None: compare two dates of `cube`
        self.other = _renamed(as_cube(other), band_name) if other is not None else None
        if self.other is not None and (self.other.sizes["y"], self.other.sizes["x"]) != (
                self.cube.sizes["y"], self.cube.sizes["x"]):
            from jupyter_eo.errors import OpenEOError

            raise OpenEOError("The result to compare with must have the same y/x size.",
                              code="FormatUnsuitable", status=400)
        self.ny, self.nx = self.cube.sizes["y"], self.cube.sizes["x"]
        self.bands = [str(b) for b in self.cube["bands"].values]
        self.dates = time_labels(self.cube)
        self._ranges: dict[Any, tuple] = {}
        self.pixel: tuple[int, int] | None = None
        self._chart_key: tuple | None = None

        nt = self.cube.sizes["t"]
        self.time = w.IntSlider(value=0, min=0, max=max(nt - 1, 0), description="Time",
                                readout=False, continuous_update=True, layout=w.Layout(width="20em"),
                                disabled=nt < 2)
        self.play = w.Play(value=0, min=0, max=max(nt - 1, 0), interval=700, description="Play",
                           disabled=nt < 2)
        w.jslink((self.play, "value"), (self.time, "value"))
        self.date = w.HTML()
        rgb_ok = len(self.bands) >= 3
        self.mode = w.ToggleButtons(options=["Band", "RGB"] if rgb_ok else ["Band"], value="Band",
                                    description="Show", style={"button_width": "5em"})
        self.band = w.Dropdown(options=self.bands, value=self.bands[0], description="Band",
                               layout=w.Layout(width="auto"))
        defaults = self.bands[:3] if rgb_ok else self.bands[:1] * 3
        self.red, self.green, self.blue = (w.Dropdown(options=self.bands, value=v, description=d,
                                                      layout=w.Layout(width="auto"))
                                           for v, d in zip(defaults, ("R", "G", "B")))
        self.rgb_box = w.HBox([self.red, self.green, self.blue], layout=w.Layout(display="none"))
        self.cmap = w.Dropdown(options=COLORMAPS, value=cmap if cmap in COLORMAPS else "viridis",
                               description="Colours", layout=w.Layout(width="auto"))
        self.stretch = w.FloatRangeSlider(value=(2.0, 98.0), min=0.0, max=100.0, step=0.5,
                                          description="Stretch %", readout_format=".1f",
                                          continuous_update=False, layout=w.Layout(width="22em"))
        self.colorbar = w.HTML(layout=w.Layout(width="100%", max_width="28em"))
        self.stats = w.HTML()
        self.histogram = w.HTML(layout=w.Layout(max_width="100%"))
        self.chart = w.Image(format="png", layout=w.Layout(display="none", width="100%"))
        self.chart.add_class("jeo-pixel-chart")
        self.chart_title = w.HTML(muted_html("Click a pixel to see its time series."))
        self.compare = w.Checkbox(value=self.other is not None, indent=False,
                                  description="Compare with other result" if self.other is not None
                                  else "Compare with",
                                  layout=w.Layout(width="auto"))
        ot = self.other.sizes["t"] if self.other is not None else nt
        self.compare_time = w.IntSlider(value=max(ot - 1, 0), min=0, max=max(ot - 1, 0),
                                        description="", readout=False, layout=w.Layout(width="14em"))
        self.compare_date = w.HTML()
        # the compared frame: a second full-size map (same view), next to the main one
        self.compare_image = w.Image(format="png", layout=w.Layout(display="none", width="100%"))
        self.compare_image.add_class("jeo-compare-image")
        self.gif_button = w.Button(description="Export GIF", icon="film",
                                   tooltip="Timelapse of the current view as an animated GIF")
        self.gif_link = w.HTML()
        self.message = w.HTML()

        self.map = self._pixel_map(height)
        self.image = ipyleaflet.ImageOverlay(url=data_url(b""), bounds=[[0, 0], [self.ny, self.nx]],
                                             name="frame")
        self.map.add(self.image)
        self.marker: ipyleaflet.CircleMarker | None = None  # added at the first click, not before
        self.compare_map = self._pixel_map(height)
        self.compare_overlay = ipyleaflet.ImageOverlay(url=data_url(b""), bounds=[[0, 0], [self.ny, self.nx]],
                                                       name="compare")
        self.compare_map.add(self.compare_overlay)
        w.jslink((self.map, "center"), (self.compare_map, "center"))
        w.jslink((self.map, "zoom"), (self.compare_map, "zoom"))
        self.compare_box = w.Box([self.compare_map], layout=w.Layout(flex="2 1 20em", min_width="16em",
                                                                      display="none"))
        self.compare_box.add_class("jeo-compare-view")
        self.map.on_interaction(self._on_map_event)

        for control in (self.time, self.band, self.red, self.green, self.blue, self.cmap, self.stretch):
            control.observe(self._on_change, names="value")
        self.mode.observe(self._on_mode, names="value")
        self._style_active = style is not None
        self.stretch.observe(self._on_stretch, names="value")
        self.compare.observe(self._on_change, names="value")
        self.compare_time.observe(self._on_change, names="value")
        self.gif_button.on_click(lambda _: self._export_gif_clicked())

        wrap = w.Layout(flex_flow="row wrap", align_items="center")
        controls = w.VBox([
            w.HBox([self.play, self.time, self.date], layout=wrap),
            w.HBox([self.mode, self.band, self.cmap], layout=wrap), self.rgb_box,
            w.HBox([self.stretch], layout=wrap), self.colorbar,
            w.HBox([self.compare, self.compare_time, self.compare_date, self.gif_button, self.gif_link],
                   layout=wrap)])
        side = w.VBox([self.stats, self.histogram, self.chart_title, self.chart],
                      layout=w.Layout(min_width="16em", max_width="30em", flex="1 1 16em"))
        views = w.HBox([w.Box([self.map], layout=w.Layout(flex="2 1 20em", min_width="16em")),
                        self.compare_box, side],
                       layout=w.Layout(width="100%", flex_flow="row wrap", align_items="flex-start"))
        super().__init__([css_style(), controls, views, self.message], **kwargs)
        self.add_class("jeo-cube-viewer")
        self.map.fit_bounds([[0, 0], [self.ny, self.nx]])
        self.redraw()

    def _pixel_map(self, height: str) -> ipyleaflet.Map:
        """A map in pixel coordinates (rows x columns) framing the cube, no basemap."""
        return ipyleaflet.Map(crs=projections.Simple, layers=(), center=(self.ny / 2, self.nx / 2),
                              zoom=0, min_zoom=-5, max_zoom=6, zoom_snap=0.25,
                              attribution_control=False, scroll_wheel_zoom=True,
                              layout=w.Layout(height=height, width="100%"))

    # -- data ----------------------------------------------------------------------------
    def selection(self) -> list[str]:
        """Bands shown: one (colormap) or three (RGB)."""
        if self.mode.value == "RGB":
            return [self.red.value, self.green.value, self.blue.value]
        return [self.band.value]

    def frame(self, t_index: int | None = None, cube: xr.DataArray | None = None) -> np.ndarray:
        """The (y, x) or (3, y, x) array of a time step for the current band selection."""
        t_index = self.time.value if t_index is None else t_index
        cube = self.cube if cube is None else cube
        data = cube.isel(t=t_index).sel(bands=self.selection()).values.astype("float64")
        return data[0] if data.shape[0] == 1 else data

    def value_ranges(self) -> list[tuple[float, float]]:
        """Per-band (vmin, vmax) over the whole cube (fixed over time): the product's colour
        scale while it applies, else the stretch percentiles of the valid pixels (for RGB, of
        the pixels whose three bands are all finite, so masked pixels never flatten a band)."""
        style = self.style if self._style_active and self.mode.value == "Band" else None
        key = (tuple(self.selection()), tuple(self.stretch.value), style)
        if key not in self._ranges:
            values = np.asarray(self.cube.sel(bands=self.selection()).values, dtype="float64")
            values = np.moveaxis(values, 1, 0).reshape(len(self.selection()), -1)  # (bands, t*y*x)
            values = values[:, np.all(np.isfinite(values), axis=0)]
            if values.shape[1] > _SAMPLE:
                values = values[:, :: values.shape[1] // _SAMPLE + 1]
            if style is not None and style.stretch == "fixed" and style.range is not None:
                out = [tuple(map(float, style.range))]
            elif style is not None and style.stretch == "symmetric":
                cap = abs(style.range[1]) if style.range else None
                limit = symmetric_limit(values[0], cap)
                out = [(-limit, limit)]
            else:
                out = [percentile_range(band, *self.stretch.value) for band in values]
            self._ranges[key] = out
        return self._ranges[key]

    def render_frame(self, t_index: int | None = None, cube: xr.DataArray | None = None) -> bytes:
        """PNG of a time step with the current bands, colormap and stretch (of the main cube)."""
        ranges = self.value_ranges()
        array = self.frame(t_index, cube)
        if array.ndim == 3:
            from jupyter_eo.widgets.colormaps import png_bytes, rgb_composite

            return png_bytes(rgb_composite(array[0], array[1], array[2], ranges))
        png, _ = render(array, cmap=self.cmap.value, vmin=ranges[0][0], vmax=ranges[0][1])
        return png

    def statistics(self, t_index: int | None = None) -> dict[str, float]:
        """Statistics of the current band over the frame (the AOI of the result)."""
        values = np.asarray(self.cube.isel(t=self.time.value if t_index is None else t_index)
                            .sel(bands=self.selection()[0]).values, dtype="float64")
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return {"valid": 0.0}
        return {"mean": float(finite.mean()), "std": float(finite.std()), "min": float(finite.min()),
                "median": float(np.median(finite)), "max": float(finite.max()),
                "valid": float(finite.size / values.size)}

    def pixel_series(self, row: int, col: int) -> list[tuple[str, float]]:
        """(date, value) of the current band at a pixel."""
        values = np.asarray(self.cube.isel(y=row, x=col).sel(bands=self.selection()[0]).values,
                            dtype="float64")
        return list(zip(self.dates, values.tolist()))

    # -- interaction ---------------------------------------------------------------------
    def select_pixel(self, row: int, col: int) -> None:
        """Show the time series of pixel (row, col) and mark it on the image."""
        if not (0 <= row < self.ny and 0 <= col < self.nx):
            self.message.value = error_html(f"Pixel ({row}, {col}) is outside the image.")
            return
        self.pixel = (row, col)
        self._chart_key = (self.pixel, tuple(self.selection()[:1]))
        location = (self.ny - row - 0.5, col + 0.5)
        if self.marker is None:
            self.marker = ipyleaflet.CircleMarker(location=location, radius=5, color="#ff1744",
                                                  fill_opacity=0.0, weight=2, name="pixel")
            self.map.add(self.marker)
        else:
            self.marker.location = location
        series = self.pixel_series(row, col)
        band = self.selection()[0]
        where = self.pixel_place(row, col)
        self.chart.value = timeseries_png(series, title=f"{band} at {where}",
                                          ylabel=self.style.units if self.style is not None else "")
        self.chart.layout.display = ""
        values = ", ".join(f"{v:.4g}" for _, v in series[:6])
        self.chart_title.value = muted_html(f"{where}: {values}{' …' if len(series) > 6 else ''}")

    def pixel_place(self, row: int, col: int) -> str:
        """``11.2345° E, 46.1234° N`` of a pixel's centre (row/column when the cube has no CRS)."""
        from jupyter_eo.widgets.inspector import format_lonlat

        lonlat = pixel_lonlat(self.cube, row, col)
        return format_lonlat(*lonlat) if lonlat is not None else f"row {row}, column {col}"

    def _on_map_event(self, **event: Any) -> None:
        if event.get("type") != "click":
            return
        lat, lng = event.get("coordinates", (None, None))
        if lat is None:
            return
        self.select_pixel(int(np.floor(self.ny - lat)), int(np.floor(lng)))

    def _on_stretch(self, _change: dict) -> None:
        self._style_active = False  # the user's stretch replaces the product's default scale

    def _on_mode(self, change: dict) -> None:
        rgb = change["new"] == "RGB"
        self.rgb_box.layout.display = "" if rgb else "none"
        self.band.layout.display = "none" if rgb else ""
        self.cmap.disabled = rgb
        self.redraw()

    def _on_change(self, _change: dict) -> None:
        self.redraw()

    def redraw(self) -> None:
        """Re-render the frame, colour bar, statistics, histogram (and compare view)."""
        try:
            self.image.url = data_url(self.render_frame())
        except Exception as exc:  # show, never raise from an observer
            self.message.value = error_html(f"Cannot render: {exc}")
            return
        self.message.value = ""
        self.date.value = muted_html(f"{self.dates[self.time.value]} ({self.time.value + 1}/{len(self.dates)})")
        ranges = self.value_ranges()
        self.colorbar.value = ("" if self.mode.value == "RGB" else
                               colorbar_html(self.cmap.value, ranges[0][0], ranges[0][1], self.band.value,
                                             self.style.units if self.style is not None else ""))
        stats = self.statistics()
        cells = " ".join(f"<span><b>{k}</b> {v:.4g}</span>" for k, v in stats.items())
        self.stats.value = (f"<div class='jeo-card'><b>{html.escape(self.selection()[0])}</b> — frame "
                            f"statistics<div style='display:flex;flex-wrap:wrap;gap:0 1em'>{cells}</div></div>")
        frame = self.frame()
        self.histogram.value = histogram_svg(frame if frame.ndim == 2 else frame[0], value_range=ranges[0])
        if self.compare.value:
            other = self.other if self.other is not None else self.cube
            png = self.render_frame(self.compare_time.value, other)
            self.compare_image.value = png
            self.compare_overlay.url = data_url(png)
            self.compare_box.layout.display = ""
            self.compare_date.value = muted_html(time_labels(other)[self.compare_time.value])
        else:
            self.compare_box.layout.display = "none"
            self.compare_date.value = ""
        if self.pixel is not None and self._chart_key != (self.pixel, tuple(self.selection()[:1])):
            self.select_pixel(*self.pixel)

    # -- export --------------------------------------------------------------------------
    def timelapse_gif(self, *, duration_ms: int = 500) -> bytes:
        """An animated GIF of all time steps with the current view settings."""
        from PIL import Image

        frames = [Image.open(io.BytesIO(self.render_frame(i))).convert("RGBA")
                  for i in range(self.cube.sizes["t"])]
        out = io.BytesIO()
        frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=duration_ms,
                       loop=0, disposal=2)
        return out.getvalue()

    def export_gif(self, path: str | Path, *, duration_ms: int = 500) -> Path:
        """Write the timelapse GIF to ``path``."""
        path = Path(path)
        path.write_bytes(self.timelapse_gif(duration_ms=duration_ms))
        return path

    def _export_gif_clicked(self) -> None:
        import base64

        payload = self.timelapse_gif()
        href = "data:image/gif;base64," + base64.b64encode(payload).decode("ascii")
        self.gif_link.value = (f"<a download='timelapse.gif' href='{href}'>timelapse.gif "
                               f"({len(payload) // 1024} KiB)</a>")


def _renamed(cube: xr.DataArray, band_name: str | None) -> xr.DataArray:
    """A single band with a generic name ("data", "band 1", "1", ...) renamed to ``band_name``."""
    if not band_name or cube.sizes["bands"] != 1:
        return cube
    current = str(cube["bands"].values[0])
    generic = current.lower() in ("data", "value", "values", "band", "1", "band 1", "band_1", "b1", "none")
    return cube.assign_coords(bands=[band_name]) if generic else cube
