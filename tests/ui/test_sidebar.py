"""Browser test: the backends sidebar shows `local` ready; a notebook uses it with no credentials."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

PANEL = "#jupyter-eo-backends"
CELLS = [
    "import jupyter_eo\n"
    "con = jupyter_eo.connect('local')\n"
    "ids = con.list_collection_ids()\n"
    "print(ids)",
    # an XYZ service of the embedded backend; its tiles are for the browser (cookie auth)
    "from jupyter_eo.connection import browser_url\n"
    "cube = con.load_collection('SENTINEL2_L2A', bands=['B04', 'B08'],\n"
    "                           temporal_extent=['2024-05-01', '2024-06-01']).ndvi()\n"
    "service = cube.reduce_dimension('t', reducer='max').tiled_viewing_service(type='XYZ')\n"
    "tile_url = browser_url(service.describe_service()['url'])",
]


def test_sidebar_shows_local_ready_and_notebook_connects(lab) -> None:
    assert lab.js("return app.isPluginActivated('jupyter-eo:sidebar');") is True
    tab = lab.page.locator(".jp-SideBar .lm-TabBar-tab[title='openEO backends']")
    tab.wait_for()
    tab.click()
    local = lab.page.locator(f"{PANEL} .jp-eo-Backend[data-backend-id='local']")
    local.wait_for()
    assert local.get_attribute("data-state") == "ready"
    assert local.locator(".jp-eo-Backend-state").inner_text() == "ready"
    assert local.locator("button.jp-eo-login").count() == 0  # nothing to type for local

    path = lab.write_notebook("sidebar.ipynb", CELLS)
    lab.open_notebook(path)
    lab.run_all(path)
    assert lab.kernel_eval(path, "'SENTINEL2_L2A' in ids") == "True"
    assert "SENTINEL2_L2A" in lab.cell_outputs_text(path, 0)
    # nothing secret in the kernel's view of the connection: it holds no backend token
    assert lab.kernel_eval(path, "type(con.auth).__name__") == "'NullAuth'"
    # a tile of the backend's XYZ service loads in the page with the lab's own cookie
    tile = eval(lab.kernel_eval(path, "tile_url.format(z=14, x=8419, y=5448)"))  # noqa: S307
    assert tile.startswith(lab.server.base_url + "jupyter-eo/openeo/local/")
    size = lab.js("""
        const img = new Image();
        img.src = arg;
        await img.decode();
        return [img.naturalWidth, img.naturalHeight];""", tile)
    assert size == [256, 256]
