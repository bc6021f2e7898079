"""Browser test: a batch job's "Download" (clicked with the mouse) puts the result next to the
notebook, where the JupyterLab file browser shows it, and its link downloads it in the browser."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

PANEL = """\
import jupyter_eo
from jupyter_eo.widgets import JobsPanel
from jupyter_eo.widgets.recipes import RECIPES, RecipeInputs
connection = jupyter_eo.connect("local")
inputs = RecipeInputs("SENTINEL2_L2A", {"west": 11.0, "south": 46.0, "east": 11.005, "north": 46.004},
                      ("2023-06-01", "2023-06-11"), connection.describe_collection("SENTINEL2_L2A"))
panel = JobsPanel(connection, interval=0.5)
job = panel.submit(RECIPES["NDVI"].graph(inputs, save_format="GTiff"), title="NDVI download test")
panel"""


def test_download_appears_in_the_file_browser(lab) -> None:
    page = lab.page
    page.set_viewport_size({"width": 1400, "height": 1200})
    path = lab.write_notebook("work/jobs.ipynb", [PANEL])  # a notebook in a sub-folder
    lab.open_notebook(path)
    lab.run_cell(path, 0)
    cell = lab.cell_locator(path, 0)
    button = cell.locator(".jeo-jobs-panel button", has_text="Download").first
    button.wait_for(timeout=90_000)
    page.wait_for_function("(el) => !el.disabled", arg=button.element_handle(), timeout=120_000)
    button.click()
    link = cell.locator(".jeo-job-files a[download]").first
    link.wait_for(timeout=60_000)
    job_id = lab.kernel_eval(path, "job.job_id").strip("'")
    name = link.get_attribute("download")
    assert name.endswith(".tif")

    # the file browser: open the notebook's folder, then the results folders, by double-click
    listing = page.locator(".jp-FileBrowser .jp-DirListing-content")
    if not listing.first.is_visible():  # the file browser panel is open by default; open it if not
        page.locator(".jp-SideBar [data-id='filebrowser']").first.click()
    for folder in ("work", "jupyter-eo-results", job_id):
        item = listing.locator(".jp-DirListing-item", has_text=folder).first
        item.wait_for(timeout=30_000)
        item.dblclick()
        page.locator(".jp-FileBrowser .jp-BreadCrumbs", has_text=folder).first.wait_for(timeout=30_000)
    listing.locator(".jp-DirListing-item", has_text=name).first.wait_for(timeout=30_000)
    assert (lab.server.root_dir / "work" / "jupyter-eo-results" / job_id / name).stat().st_size > 0

    # the same file as a browser download
    with page.expect_download(timeout=60_000) as download:
        link.click()
    assert download.value.suggested_filename == name
    saved = download.value.path()
    assert saved is not None and open(saved, "rb").read(4) in (b"II*\x00", b"MM\x00*")
