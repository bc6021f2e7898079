"""Browser tests of the CubeViewer: the time slider (keyboard) changes the image; clicking a
pixel shows its time-series chart."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

# Screenshots go to test-artifacts/; set JUPYTER_EO_DOCS_SCREENSHOTS=1 to refresh the README's
# pictures in docs/images/ (so an ordinary test run never changes committed files).
DOCS_IMAGES = Path(__file__).resolve().parents[2] / (
    "docs/images" if os.environ.get("JUPYTER_EO_DOCS_SCREENSHOTS") else "test-artifacts/screenshots")

SETUP = """\
import numpy as np, pandas as pd, xarray as xr
from jupyter_eo.widgets import CubeViewer
t = pd.date_range("2023-03-01", periods=6, freq="MS")
yy, xx = np.mgrid[0:40, 0:60]
frames = [np.exp(-((xx - 10 - 8 * i) ** 2 + (yy - 20) ** 2) / 60.0) + 0.05 * i for i in range(6)]
cube = xr.DataArray(np.stack(frames)[:, None], dims=("t", "bands", "y", "x"),
                    coords={"t": t, "bands": ["ndvi"]})
viewer = CubeViewer(cube, cmap="viridis")
viewer"""


def test_time_slider_and_pixel_chart(lab) -> None:
    page = lab.page
    page.set_viewport_size({"width": 1400, "height": 1300})
    path = lab.write_notebook("viewer.ipynb", [SETUP])
    lab.open_notebook(path)
    lab.run_cell(path, 0)
    cell = lab.cell_locator(path, 0)
    image = cell.locator(".jeo-cube-viewer img.leaflet-image-layer").first
    image.wait_for(timeout=90_000)
    page.wait_for_function("(el) => el.complete && el.naturalWidth === 60", arg=image.element_handle())
    before = image.get_attribute("src")

    # keyboard: focus the time slider's handle and step forward twice
    handle = cell.locator(".jeo-cube-viewer .widget-slider .noUi-handle").first
    handle.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    cell.locator(".jeo-cube-viewer", has_text="(3/6)").first.wait_for(timeout=30_000)
    page.wait_for_function("([el, old]) => el.getAttribute('src') !== old", arg=[image.element_handle(), before],
                           timeout=30_000)
    assert lab.kernel_eval(path, "viewer.time.value") == "2"
    assert "2023-05-01" in cell.locator(".jeo-cube-viewer").first.inner_text()

    # click a pixel -> chart image of its time series
    box = image.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    chart = cell.locator(".jeo-pixel-chart").first
    page.wait_for_function("(el) => el.offsetParent !== null && el.complete && el.naturalWidth > 100",
                           arg=chart.element_handle(), timeout=30_000)
    row, col = eval(lab.kernel_eval(path, "viewer.pixel"))
    assert 17 <= row <= 22 and 27 <= col <= 32
    DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
    cell.locator(".jeo-cube-viewer").first.screenshot(path=str(DOCS_IMAGES / "cube_viewer.png"))

    # dark theme: our text follows JupyterLab's theme variables (light text on dark background)
    lab.js("await app.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'});")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
    page.wait_for_timeout(500)
    colours = cell.locator(".jeo-cube-viewer .jeo-card").first.evaluate("""(el) => {
        const lum = (c) => { const [r, g, b] = c.match(/\\d+/g).map(Number); return (r + g + b) / 765; };
        const s = getComputedStyle(el);
        return {text: lum(s.color), background: lum(s.backgroundColor)};
    }""")
    assert colours["text"] > 0.6 and colours["background"] < 0.4, colours
    cell.locator(".jeo-cube-viewer").first.screenshot(path=str(DOCS_IMAGES / "cube_viewer_dark.png"))
    lab.js("await app.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'});")
