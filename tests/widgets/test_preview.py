"""Preview scheduling (debounce, outdated runs dropped) and the overlay it draws."""
from __future__ import annotations

import io
import threading
import time

import numpy as np
import pytest

from jupyter_eo.widgets.preview import Preview
from jupyter_eo.widgets.preview_run import PreviewScheduler, preview_graph, read_geotiff
from jupyter_eo.widgets.recipes import RECIPES, RecipeInputs

from .conftest import s2_metadata

EXTENT = {"west": 11.0, "south": 46.0, "east": 11.1, "north": 46.1}


def test_requests_are_debounced():
    runs, delivered = [], []
    scheduler = PreviewScheduler(lambda job, cancelled: runs.append(job) or job, delivered.append,
                                 lambda exc: None, delay=0.15)
    for i in range(5):
        scheduler.request(i)
        time.sleep(0.02)
    assert scheduler.wait(5)
    assert runs == [4] and delivered == [4]


def test_outdated_running_preview_is_cancelled_and_dropped():
    started = threading.Event()
    release = threading.Event()
    seen_cancel = []
    delivered = []

    def run(job, is_cancelled):
        if job == "slow":
            started.set()
            release.wait(5)
            seen_cancel.append(is_cancelled())
        return job

    scheduler = PreviewScheduler(run, delivered.append, lambda exc: None, delay=0.0)
    scheduler.request("slow")
    assert started.wait(5)
    scheduler.request("fast")  # supersedes the running one
    release.set()
    assert scheduler.wait(5)
    assert seen_cancel == [True]
    assert delivered == ["fast"]
    assert scheduler.superseded == 1 and scheduler.started == 2


def test_errors_reach_fail_and_cancel_drops_pending():
    errors = []

    def run(job, _):
        raise ValueError("boom")

    scheduler = PreviewScheduler(run, lambda r: None, errors.append, delay=0.05)
    scheduler.request(1)
    assert scheduler.wait(5)
    assert [str(e) for e in errors] == ["boom"]
    scheduler.request(2)
    scheduler.cancel()
    assert scheduler.wait(5)
    assert len(errors) == 1


def test_preview_graph_pushes_resample_and_saves():
    graph = RECIPES["NDVI"].graph(RecipeInputs("SENTINEL2_L2A", EXTENT, ("2023-06-01", "2023-07-01"),
                                               s2_metadata()))
    cheap = preview_graph(graph, EXTENT, max_pixels=256)
    resample = [n for n in cheap.values() if n["process_id"] == "resample_spatial"]
    assert len(resample) == 1 and resample[0]["arguments"]["projection"] == 3857
    load_id = next(k for k, n in cheap.items() if n["process_id"] == "load_collection")
    assert resample[0]["arguments"]["data"] == {"from_node": load_id}
    # the longer side in Web Mercator: 0.1 degree of latitude at 46 N ≈ 11.1 km / cos(46°) ≈ 16.0 km
    assert 16026 / 256 * 0.99 < resample[0]["arguments"]["resolution"] < 16026 / 256 * 1.01
    users = [n for n in cheap.values() if {"from_node": load_id} in n["arguments"].values()]
    assert [n["process_id"] for n in users] == ["resample_spatial"]
    sink = [n for n in cheap.values() if n.get("result")]
    assert len(sink) == 1 and sink[0]["process_id"] == "save_result"


def geotiff_bytes(array: np.ndarray) -> bytes:
    import rasterio
    from rasterio.transform import from_bounds

    west, south, east, north = 1224514.0, 5780349.0, 1235646.0, 5791481.0  # EPSG:3857
    profile = {"driver": "GTiff", "width": array.shape[-1], "height": array.shape[-2], "count": 1,
               "dtype": "float32", "crs": "EPSG:3857", "nodata": np.nan,
               "transform": from_bounds(west, south, east, north, array.shape[-1], array.shape[-2])}
    with rasterio.MemoryFile() as memfile:
        with memfile.open(**profile) as dst:
            dst.write(array.astype("float32"), 1)
        return memfile.read()


class RecordingConnection:
    """Answers ``download`` with a real GeoTIFF and records the graphs it was sent."""

    def __init__(self, delay: float = 0.0) -> None:
        self.graphs, self.delay = [], delay

    def download(self, graph, outputfile=None, timeout=None):
        self.graphs.append(graph)
        time.sleep(self.delay)
        ramp = np.linspace(-0.2, 0.8, 64 * 64).reshape(64, 64)
        ramp[0, 0] = np.nan
        return geotiff_bytes(ramp)


def test_read_geotiff_gives_latlon_bounds():
    result = read_geotiff(geotiff_bytes(np.ones((8, 8))))
    (south, west), (north, east) = result.bounds
    assert 10.9 < west < 11.1 and 45.9 < south < 46.1 and east > west and north > south
    assert result.data.shape == (1, 8, 8)


def test_preview_widget_draws_overlay_and_colorbar():
    connection = RecordingConnection()
    preview = Preview(connection, delay=0.05)
    graph = RECIPES["NDVI"].graph(RecipeInputs("SENTINEL2_L2A", EXTENT, ("2023-06-01", "2023-07-01"),
                                               s2_metadata()))
    preview.update(graph, EXTENT, cmap="RdYlGn", range=(-1, 1), label="NDVI")
    preview.update(graph, EXTENT, cmap="RdYlGn", range=(-1, 1), label="NDVI")
    assert preview.wait(10)
    assert len(connection.graphs) == 1  # debounced
    assert preview.overlay is not None and preview.overlay in preview.map.layers
    assert preview.overlay.url.startswith("data:image/png;base64,")
    assert "RdYlGn" in preview.colorbar.value and "NDVI" in preview.colorbar.value
    # 2–98 % stretch of the ramp -0.2..0.8, inside the recipe's valid range (-1, 1)
    assert -0.2 < preview.vmin.value < -0.15 and 0.75 < preview.vmax.value < 0.8
    first = preview.overlay.url
    preview.cmap.value = "viridis"  # restyle without re-running
    assert preview.overlay.url != first and len(connection.graphs) == 1
    preview.auto_stretch(limits=(0.0, 0.5))
    assert (preview.vmin.value, preview.vmax.value) == (0.0, 0.5)
    preview.auto_stretch(limits=(-100.0, 100.0))  # tiny spread: at least 10 % of the valid range
    assert preview.vmax.value - preview.vmin.value == pytest.approx(20.0)
    assert preview.vmin.value < 0.3 < preview.vmax.value


def test_preview_widget_shows_errors_inline():
    class Failing:
        def download(self, graph, outputfile=None, timeout=None):
            from jupyter_eo.errors import OpenEOError
            raise OpenEOError("Collection 'X' does not exist.", code="CollectionNotFound")

    preview = Preview(Failing(), delay=0.0)
    preview.update({"a": {"process_id": "load_collection", "arguments": {}, "result": True}}, EXTENT)
    assert preview.wait(10)
    assert "CollectionNotFound" in preview.status.value and "jeo-error" in preview.status.value


def test_small_aois_are_previewed_at_native_resolution():
    from jupyter_eo.widgets.preview_run import native_pixels, native_resolution, run_preview

    assert native_resolution(s2_metadata() | {"summaries": {"eo:bands": [{"name": "B04", "gsd": 10},
                                                                         {"name": "B01", "gsd": 60}]}}) == 10.0
    assert native_resolution({"cube:dimensions": {"x": {"step": 0.0001}}}) == pytest.approx(11.132)
    assert native_resolution({}) is None
    # 0.0662 degrees of longitude at 46 N ≈ 5.12 km ≈ 512 px at 10 m
    big = {"west": 11.0, "south": 46.0, "east": 11.0662, "north": 46.046}
    assert 505 < native_pixels(big, 10.0) < 520
    graph = RECIPES["NDVI"].graph(RecipeInputs("SENTINEL2_L2A", big, ("2023-06-01", "2023-07-01"),
                                               s2_metadata()))
    connection = RecordingConnection()
    run_preview(connection, graph, big, max_pixels=512, resolution_m=10.0)
    run_preview(connection, graph, big, max_pixels=256, resolution_m=10.0)
    kinds = [[n["process_id"] for n in g.values()] for g in connection.graphs]
    assert "resample_spatial" not in kinds[0] and "resample_spatial" in kinds[1]


class ArrayConnection(RecordingConnection):
    """Answers ``download`` with a GeoTIFF of a given array."""

    def __init__(self, array: np.ndarray) -> None:
        super().__init__()
        self.array = array

    def download(self, graph, outputfile=None, timeout=None):
        self.graphs.append(graph)
        return geotiff_bytes(self.array)


def ticks(colorbar_html: str) -> list[float]:
    import re

    return [float(v) for v in re.findall(r"<span class='jeo-tick'>([^<]+)</span>", colorbar_html)]


def test_change_map_is_symmetric_around_zero_not_a_percentile_stretch():
    from jupyter_eo.widgets.product_styles import product_style

    # mostly growth (+0.05..+0.3) and a little loss: a 2-98 % stretch would put 0 near the low end
    rng = np.random.default_rng(1)
    diff = rng.uniform(0.05, 0.3, (64, 64))
    diff[:4] = -0.12
    diff[10, 10] = np.nan
    preview = Preview(ArrayConnection(diff), delay=0.0)
    recipe = RECIPES["ndvi_change"]
    preview.update({"a": {"process_id": "load_collection", "arguments": {}, "result": True}}, EXTENT,
                   cmap=recipe.cmap, range=recipe.range, label="NDVI change", style=product_style(recipe))
    assert preview.wait(10)
    assert (preview.vmin.value, preview.vmax.value) == (-0.5, 0.5)  # round limit above the 98th pct of |x|
    assert ticks(preview.colorbar.value) == [-0.5, 0.0, 0.5]
    assert "Δ NDVI" in preview.colorbar.value  # legend with units
    preview.auto_stretch()
    assert preview.vmin.value != -preview.vmax.value  # the user's percentile stretch is still there
    preview.reset_scale()
    assert (preview.vmin.value, preview.vmax.value) == (-0.5, 0.5)


def test_ndvi_is_drawn_on_a_fixed_range_whatever_the_values():
    from jupyter_eo.widgets.product_styles import product_style

    summer_field = np.random.default_rng(2).uniform(0.74, 0.94, (32, 32))
    preview = Preview(ArrayConnection(summer_field), delay=0.0)
    recipe = RECIPES["NDVI"]
    preview.update({"a": {"process_id": "load_collection", "arguments": {}, "result": True}}, EXTENT,
                   cmap=recipe.cmap, range=recipe.range, label="NDVI", style=product_style(recipe))
    assert preview.wait(10)
    assert (preview.vmin.value, preview.vmax.value) == (-0.2, 0.9)
    assert preview.cmap.value == "RdYlGn" and "NDVI (unitless)" in preview.colorbar.value


def test_rgb_stretch_leaves_masked_pixels_out():
    from jupyter_eo.widgets.colormaps import ColourScale, render, valid_values

    rgb = np.full((3, 20, 20), 800.0)
    rgb[:, :, 10:] = 1500.0
    rgb[0, :5] = np.nan  # a cloud masked in the red channel only: all three channels are excluded
    rgb[1:, :5] = 9000.0  # (its unmasked green/blue would blow up the stretch)
    values = valid_values(rgb)
    assert values.size == 3 * 15 * 20 and values.max() == 1500.0
    assert ColourScale(stretch="robust").limits(rgb) == (800.0, 1500.0)
    # inside (0, 10000) the span is widened to at least 10 % of it, around the valid values
    assert ColourScale(stretch="robust", range=(0, 10000)).limits(rgb) == (650.0, 1650.0)
    _, ranges = render(rgb)
    assert all(hi <= 1500.0 for _, hi in ranges)


def test_a_new_area_is_shown_coarse_first_then_refined():
    """A 500 px wide AOI seen for the first time: a 128 px pass is drawn before the full one;
    the same AOI again (chunk cache warm) goes straight to the full preview."""
    from jupyter_eo.widgets.preview_run import PreviewResult

    calls, drawn_before_full = [], []

    def runner(connection, graph, extent, *, max_pixels, is_cancelled, resolution_m):
        if max_pixels == 512:
            drawn_before_full.append(preview.overlay is not None and preview.coarse_shown)
        calls.append(max_pixels)
        data = np.linspace(0, 1, max_pixels * max_pixels).reshape(1, max_pixels, max_pixels)
        return PreviewResult(data, ((46.0, 11.0), (46.045, 11.0647)), ["NDVI"])

    preview = Preview(object(), delay=0.0, runner=runner, tiles_above=None)
    delivered = []
    preview.on_result(delivered.append)
    area = {"west": 11.0, "south": 46.0, "east": 11.0647, "north": 46.045}  # ≈ 500 px at 10 m
    graph = {"a": {"process_id": "load_collection", "arguments": {}, "result": True}}
    preview.update(graph, area, resolution_m=10.0)
    assert preview.wait(10)
    assert calls == [128, 512] and drawn_before_full == [1]
    assert [r.data.shape for r in delivered] == [(1, 512, 512)]  # callbacks get the full one only
    assert preview.result.data.shape == (1, 512, 512)
    preview.update(graph, area, resolution_m=10.0)
    assert preview.wait(10)
    assert calls == [128, 512, 512]
    small = {"west": 11.0, "south": 46.0, "east": 11.01, "north": 46.008}  # ≈ 80 px: no coarse pass
    preview.update(graph, small, resolution_m=10.0)
    assert preview.wait(10)
    assert calls == [128, 512, 512, 512]
