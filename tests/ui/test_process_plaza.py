"""Browser test of the process plaza in real Chromium: find a shared process, fill its form with the
mouse (AOI drawn, slider dragged, checkbox clicked), preview it on the map, insert the code below
and check the inserted call computes the same result as the form."""
from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

UDPS = Path(__file__).resolve().parents[1] / "data" / "udps"

SETUP = f"""\
import json
import jupyter_eo
from jupyter_eo.graph.udp import save_udp
from jupyter_eo.widgets import ProcessPlaza
connection = jupyter_eo.connect("local")
# the user's own copy of a published UDP (so the form calls it by namespace "user")
save_udp(connection, json.load(open({str(UDPS / 'ndvi_threshold_composite.json')!r})))
plaza = ProcessPlaza(connection, sources=["user", {str(UDPS / 'plaza_catalogue.json')!r}],
                     form_options={{"center": (46.05, 11.05), "zoom": 13}})
plaza"""

CHECK = """\
import numpy as np
from jupyter_eo.widgets.preview_run import read_geotiff
from_code = read_geotiff(cube.download(format="GTiff")).data
from_form = read_geotiff(connection.download(plaza.form.run_graph("GTiff"))).data
same = (from_code.dtype == from_form.dtype and from_code.shape == from_form.shape
        and bool(np.array_equal(from_code, from_form, equal_nan=True)))"""


def test_find_fill_preview_insert_and_run(lab) -> None:
    page = lab.page
    page.set_viewport_size({"width": 1400, "height": 1400})
    path = lab.write_notebook("plaza.ipynb", [SETUP])
    lab.open_notebook(path)
    lab.run_all(path)
    cell = lab.cell_locator(path, 0)
    plaza = cell.locator(".jeo-process-plaza")
    try:
        plaza.wait_for(timeout=90_000)
    except Exception:
        print("\n".join(lab.console))
        raise

    # search, pick the process in the list with the mouse, read its description, open the form
    plaza.locator("input[placeholder^='Search']").fill("ndvi")
    results = plaza.locator(".jeo-plaza-results select")
    results.locator("option", has_text="ndvi_threshold_composite").click()
    details = plaza.locator(".jeo-plaza-details")
    details.locator("h1", has_text="NDVI threshold composite").wait_for(timeout=30_000)
    assert details.locator("script").count() == 0  # the description's <script> is shown as text
    assert "alert('a description must never run code')" in details.inner_text()
    assert details.locator("a[href='https://processes.openeo.org/#ndvi']").count() == 1
    plaza.locator("button", has_text="Open form").click()
    form = plaza.locator(".jeo-process-form")
    form.locator(".jeo-aoi-map .leaflet-container").wait_for(timeout=60_000)
    assert "*" in form.locator(".jeo-parameter-spatial_extent").first.inner_text()  # required marked

    # nothing is sent while the required AOI is missing: an inline error says why
    form.locator("button", has_text="Preview").click()
    form.locator(".jeo-parameter-spatial_extent .jeo-error").wait_for(timeout=30_000)

    # draw the AOI with Geoman's rectangle tool
    form.locator(".leaflet-pm-icon-rectangle").first.click()
    box = form.locator(".jeo-aoi-map .leaflet-container").first.bounding_box()
    x0, y0 = box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.4
    x1, y1 = box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.6
    page.mouse.click(x0, y0)
    page.mouse.move(x1, y1, steps=12)
    page.mouse.click(x1, y1)
    page.wait_for_function("() => true")  # let the draw event reach the kernel before the next gesture
    # drag the threshold slider's handle to about three quarters of its track (-1..1 -> ~0.5)
    track = form.locator(".jeo-parameter-threshold .noUi-target").first
    handle = form.locator(".jeo-parameter-threshold .noUi-handle").first
    track.scroll_into_view_if_needed()  # mouse gestures need the element inside the viewport
    hbox, tbox = handle.bounding_box(), track.bounding_box()
    page.mouse.move(hbox["x"] + hbox["width"] / 2, hbox["y"] + hbox["height"] / 2)
    page.mouse.down()
    page.mouse.move(tbox["x"] + tbox["width"] * 0.75, hbox["y"] + hbox["height"] / 2, steps=10)
    page.mouse.up()
    form.locator(".jeo-parameter-scale_output input[type=checkbox]").click()
    form.locator(".jeo-parameter-period select").select_option("season")

    lab.wait_kernel_idle(path)
    args = eval(lab.kernel_eval(path, "plaza.form.arguments()"))
    values, errors = args
    assert errors == [], errors
    west, south, east, north = (values["spatial_extent"][k] for k in ("west", "south", "east", "north"))
    assert 11.0 < west < east < 11.1 and 46.0 < south < north < 46.1
    assert 0.35 < values["threshold"] < 0.65 and values["scale_output"] is True and values["period"] == "season"
    assert values["collection"] == "SENTINEL2_L2A" and values["red_band"] == "B04"

    # Preview: the overlay loads on the form's map and is not blank
    form.locator("button", has_text="Preview").click()
    overlay = form.locator("img.leaflet-image-layer")
    overlay.first.wait_for(timeout=120_000)
    page.wait_for_function("(el) => el.complete && el.naturalWidth > 0", arg=overlay.first.element_handle(),
                           timeout=120_000)
    assert form.locator(".jeo-parameter-spatial_extent .jeo-error").count() == 0

    # Insert code: the cell below calls the UDP with the official client's datacube_from_process
    form.locator("button", has_text="Insert code").click()
    page.wait_for_function(
        "([path, n]) => [...window.jupyterapp.shell.widgets('main')].find(w => w.context && "
        "w.context.path === path).content.model.cells.length === n", arg=[path, 2], timeout=30_000)
    inserted = lab.cell_sources(path)[1]
    assert 'connection.datacube_from_process(\n    "ndvi_threshold_composite",' in inserted
    assert 'namespace="user"' in inserted and 'period="season"' in inserted and "scale_output=True" in inserted
    lab.run_cell(path, 1)
    lab.cell_locator(path, 1).locator(".jeo-pixel-chart").first.wait_for(state="attached", timeout=120_000)
    lab.execute_in_kernel(path, CHECK)
    assert lab.kernel_eval(path, "same") == "True", lab.kernel_eval(path, "(from_code.shape, from_form.shape)")


KERNEL_SIDE = """\
import http.server, threading, json
from pathlib import Path
agents = []
class Origin(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        agents.append(self.headers.get("User-Agent", ""))
        body = Path({catalogue!r}).read_bytes()
        self.send_response(200); self.send_header("Content-Type", "application/json"); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
origin = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Origin)
threading.Thread(target=origin.serve_forever, daemon=True).start()
loaded = plaza.add_source(f"http://127.0.0.1:{{origin.server_address[1]}}/catalogue.json")
origin.shutdown(); origin.server_close()
graph = {{"load": {{"process_id": "load_collection", "arguments": {{"id": "SENTINEL2_L2A",
          "spatial_extent": {{"west": 11.05, "south": 46.05, "east": 11.06, "north": 46.055}},
          "temporal_extent": ["2023-06-01", "2023-07-01"], "bands": ["B04", "B08"]}}}},
         "ndvi": {{"process_id": "ndvi", "arguments": {{"data": {{"from_node": "load"}}}}, "result": True}}}}
"""


def test_kernel_loads_urls_through_the_server_and_shares_through_the_proxy(lab) -> None:
    path = lab.write_notebook("plaza_urls.ipynb", [SETUP])
    lab.open_notebook(path)
    lab.run_all(path)
    lab.cell_locator(path, 0).locator(".jeo-process-plaza").wait_for(timeout=90_000)
    lab.execute_in_kernel(path, KERNEL_SIDE.format(catalogue=str(UDPS / "plaza_catalogue.json")))
    assert lab.kernel_eval(path, "[e.id for e in loaded]") == "['band_quantile_composite', 'radar_cross_ratio']"
    # the Jupyter server fetched it (tornado's client), not the kernel (python-requests)
    agents = lab.kernel_eval(path, "agents")
    assert "Tornado" in agents and "python-requests" not in agents, agents
    # publishing in the lab gives the proxy's public link; loading and calling it runs on the backend
    lab.execute_in_kernel(path, "plaza.publish_graph.value = json.dumps(graph)\n"
                                "shared = plaza.publish('plaza_shared_ndvi', summary='NDVI', public=True)")
    shared = lab.kernel_eval(path, "shared")
    assert "/jupyter-eo/openeo/local/public/process_graphs/" in shared and shared.endswith("/plaza_shared_ndvi'"), \
        lab.kernel_eval(path, "plaza.publish_message.value")
    lab.execute_in_kernel(path, "from jupyter_eo.widgets import ProcessForm\n"
                                "form = ProcessForm(connection, shared)\n"
                                "cube = connection.datacube_from_process('plaza_shared_ndvi', namespace=shared)\n"
                                "from jupyter_eo.widgets.preview_run import read_geotiff\n"
                                "import numpy as np\n"
                                "a = read_geotiff(cube.download(format='GTiff')).data\n"
                                "b = read_geotiff(connection.download(form.run_graph('GTiff'))).data\n"
                                "same = a.dtype == b.dtype and bool(np.array_equal(a, b, equal_nan=True))")
    assert lab.kernel_eval(path, "form.entry.namespace == shared") == "True"
    assert lab.kernel_eval(path, "same") == "True"


def test_sidebar_button_opens_the_plaza_in_a_new_notebook(lab) -> None:
    assert lab.js("return app.isPluginActivated('jupyter-eo:process-plaza');") is True
    tab = lab.page.locator(".jp-SideBar .lm-TabBar-tab[title='openEO backends']")
    tab.wait_for()
    tab.click()
    button = lab.page.locator("#jupyter-eo-backends button.jp-eo-open-plaza")
    button.click()
    plaza = lab.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jeo-process-plaza")
    plaza.wait_for(timeout=120_000)
    path = lab.js("return app.shell.currentWidget.context.path;")
    sources = lab.cell_sources(path)
    assert len(sources) == 1 and "ProcessPlaza(connection)" in sources[0]
    assert 'jupyter_eo.connect("local")' in sources[0]
    # the default sources: the user's UDPs and the backend's processes (load_collection among them)
    plaza.locator("input[placeholder^='Search']").fill("load_collection")
    plaza.locator(".jeo-plaza-results option", has_text="load_collection").first.wait_for(timeout=30_000)
