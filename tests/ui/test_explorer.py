"""Browser tests of the Explorer in real Chromium: draw an AOI with the mouse, pick time and
recipe, see the preview overlay, insert the code below and check it computes the same result."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

# Screenshots go to test-artifacts/; set JUPYTER_EO_DOCS_SCREENSHOTS=1 to refresh the README's
# pictures in docs/images/ (so an ordinary test run never changes committed files).
DOCS_IMAGES = Path(__file__).resolve().parents[2] / (
    "docs/images" if os.environ.get("JUPYTER_EO_DOCS_SCREENSHOTS") else "test-artifacts/screenshots")

QUICKSTART = Path(__file__).resolve().parents[2] / "notebooks" / "quickstart.ipynb"


def quickstart_cells() -> tuple[list[str], int]:
    """The quickstart's code cells and the index of the Explorer cell among them."""
    import nbformat

    nb = nbformat.read(QUICKSTART, as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == "code"]
    return cells, next(i for i, c in enumerate(cells) if "Explorer(" in c)


CHECK = """\
import numpy as np
from jupyter_eo.widgets.preview_run import read_geotiff
from_code = read_geotiff(cube.download()).data
from_widget = read_geotiff(connection.download(explorer.graph())).data
np.testing.assert_allclose(from_code, from_widget, equal_nan=True)
print("SAME", from_code.shape, int(np.isfinite(from_code).sum()))"""

PIXELS_JS = """(img) => {
  const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const g = c.getContext('2d'); g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  let opaque = 0; const colours = new Set();
  for (let i = 0; i < d.length; i += 4) {
    if (d[i + 3] > 0) { opaque++; colours.add(d[i] + ',' + d[i + 1] + ',' + d[i + 2]); }
  }
  return {w: c.width, h: c.height, opaque, colours: colours.size};
}"""


def type_date(page, field, text: str) -> None:
    """Type ``text`` into a date field with the keyboard and commit it with Enter."""
    field.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(text, delay=40)
    page.keyboard.press("Enter")


def wait_kernel_value(lab, path: str, expression: str, expected: str, tries: int = 300) -> None:
    """Poll the kernel until ``expression`` evaluates to ``expected`` (asserted after ~30 s)."""
    for _ in range(tries):
        if lab.kernel_eval(path, expression) == expected:
            return
        lab.page.wait_for_timeout(100)
    assert lab.kernel_eval(path, expression) == expected


def save_doc_image(lab, locator, name: str) -> None:
    DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
    locator.screenshot(path=str(DOCS_IMAGES / name))


def test_draw_preview_insert_and_run(lab) -> None:
    page = lab.page
    page.set_viewport_size({"width": 1400, "height": 1200})
    cells, index = quickstart_cells()  # the quickstart notebook's code cells
    path = lab.write_notebook("quickstart.ipynb", cells)
    lab.open_notebook(path)
    lab.run_all(path)
    cell = lab.cell_locator(path, index)
    cell.locator(".jeo-explorer .leaflet-container").wait_for(timeout=90_000)
    page.wait_for_timeout(500)

    # choose time range and recipe through the controls: dates typed with the keyboard, each
    # committed with Enter, and the next typed only once the kernel has taken the previous one
    # (From 2023-06-01 is not before the notebook's To 2023-06-01: the picker says so and leaves To alone)
    type_date(page, cell.locator(".jeo-temporal-picker input").nth(0), "2023-06-01")
    cell.locator(".jeo-temporal-picker .jeo-error", has_text="must be before").first.wait_for(timeout=30_000)
    type_date(page, cell.locator(".jeo-temporal-picker input").nth(1), "2023-07-01")
    wait_kernel_value(lab, path, "explorer.temporal.value", "('2023-06-01', '2023-07-01')")
    recipe_select = cell.locator(".jeo-recipe-picker select").first
    recipe_select.select_option(label="NDVI composite — Normalized Difference Vegetation Index")

    # draw a rectangle with the mouse: rectangle tool, press, drag, release
    cell.locator(".leaflet-pm-icon-rectangle").first.click()
    box = cell.locator(".jeo-explorer .leaflet-container").first.bounding_box()
    x0, y0 = box["x"] + box["width"] * 0.35, box["y"] + box["height"] * 0.3
    x1, y1 = box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.65
    # Geoman's rectangle: click the first corner, move the mouse across, click the second
    page.mouse.click(x0, y0)
    page.mouse.move(x1, y1, steps=12)
    page.mouse.click(x1, y1)
    page.wait_for_timeout(500)
    assert lab.kernel_eval(path, "explorer.map.bbox is not None") == "True"
    west, south, east, north = eval(lab.kernel_eval(path, "explorer.map.bbox"))
    assert 10.99 < west < east < 11.03 and 45.99 < south < north < 46.02
    assert lab.kernel_eval(path, "explorer.recipe.value") == "'NDVI'"
    assert lab.kernel_eval(path, "explorer.temporal.value") == "('2023-06-01', '2023-07-01')"

    # the preview overlay loads and is not blank
    overlay = cell.locator("img.leaflet-image-layer")
    overlay.first.wait_for(timeout=120_000)
    page.wait_for_function("(el) => el.complete && el.naturalWidth > 0", arg=overlay.first.element_handle(),
                           timeout=120_000)
    # NDVI is drawn on its fixed range (-0.2..0.9): a uniform field is one colour, not noise
    # stretched into false contrast, so "not blank" means opaque (colours vary only with the data)
    ndvi_shown = ("explorer.preview.label.startswith('NDVI') and not explorer.preview.scheduler.busy "
                  "and (explorer.preview.vmin.value, explorer.preview.vmax.value) == (-0.2, 0.9)")
    for _ in range(600):  # the quickstart's first (true colour) preview may still be on the map
        if lab.kernel_eval(path, ndvi_shown) == "True":
            break
        page.wait_for_timeout(100)
    assert lab.kernel_eval(path, ndvi_shown) == "True"
    page.wait_for_function("(el) => el.complete && el.naturalWidth > 0", arg=overlay.first.element_handle(),
                           timeout=30_000)
    stats = overlay.first.evaluate(PIXELS_JS)
    assert stats["opaque"] > 0.5 * stats["w"] * stats["h"] and stats["colours"] >= 1, stats
    assert cell.locator(".jeo-colorbar").count() >= 1
    save_doc_image(lab, cell.locator(".jeo-explorer").first, "explorer.png")

    # Insert code -> a new cell directly below holds openeo client code; run it -> same numbers
    cell.locator(".jeo-explorer button", has_text="Insert code").click()
    page.wait_for_function(
        "([path, n]) => [...window.jupyterapp.shell.widgets('main')].find(w => w.context && "
        "w.context.path === path).content.model.cells.length === n", arg=[path, len(cells) + 1],
        timeout=30_000)
    sources = lab.cell_sources(path)
    assert sources[:index + 1] == cells[:index + 1] and sources[index + 2:] == cells[index + 1:]
    inserted = sources[index + 1]
    assert "connection.load_collection(" in inserted and "jupyter_eo.connect(\"local\")" in inserted
    assert '"2023-06-01"' in inserted
    assert inserted.rstrip().endswith("CubeViewer('ndvi_sentinel2_l2a.tif')")
    lab.run_cell(path, index + 1)
    # running it shows the result: the downloaded file in a CubeViewer below the inserted cell
    viewer = lab.cell_locator(path, index + 1).locator(".jeo-pixel-chart")
    viewer.first.wait_for(state="attached", timeout=60_000)
    assert (lab.server.root_dir / "ndvi_sentinel2_l2a.tif").exists()
    lab.execute_in_kernel(path, CHECK)
    out = lab.kernel_eval(path, "str((from_code.shape, bool(np.allclose(from_code, from_widget, equal_nan=True))))")
    assert out.endswith("True)'"), out


LARGE = """\
import jupyter_eo
from jupyter_eo.widgets import Explorer
connection = jupyter_eo.connect("local")
explorer = Explorer(connection, aoi=(10.9, 45.9, 11.4, 46.2), temporal_extent=("2023-06-01", "2023-07-01"),
                    center=(46.05, 11.15), zoom=10)
explorer"""


def test_large_aoi_preview_loads_xyz_tiles_through_the_proxy(lab) -> None:
    page = lab.page
    path = lab.write_notebook("large.ipynb", [LARGE])
    lab.open_notebook(path)
    lab.run_cell(path, 0)
    cell = lab.cell_locator(path, 0)
    tile = cell.locator("img.leaflet-tile-loaded[src*='/xyz/']").first
    tile.wait_for(timeout=120_000)
    src = tile.get_attribute("src")
    assert src.startswith(lab.server.base_url) and "/jupyter-eo/" in src  # origin-relative, via the proxy
    # tiles outside the AOI are transparent; inside they are painted (cloud-masked pixels stay clear)
    import time
    deadline, stats = time.monotonic() + 120, []
    while time.monotonic() < deadline:
        stats = cell.locator("img.leaflet-tile-loaded[src*='/xyz/']").evaluate_all(
            f"(tiles) => tiles.map({PIXELS_JS})")
        if any(s["opaque"] > 0.3 * s["w"] * s["h"] and s["colours"] >= 2 for s in stats):
            break
        page.wait_for_timeout(1000)
    assert any(s["opaque"] > 0.3 * s["w"] * s["h"] and s["colours"] >= 2 for s in stats), stats
    save_doc_image(lab, cell.locator(".jeo-aoi-map .leaflet-container").first, "explorer_tiles.png")
    assert lab.kernel_eval(path, "explorer.preview.tiles is not None") == "True"
