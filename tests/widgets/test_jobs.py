"""JobsPanel results reach the user: downloads land in the notebook's folder (the kernel's working
directory) with relative links, and results open in the viewer as the recipe's product."""
from __future__ import annotations

import time

import pytest

from jupyter_eo.widgets.jobs import JobsPanel
from jupyter_eo.widgets.recipes import RECIPES, RecipeInputs

EXTENT = {"west": 11.0, "south": 46.0, "east": 11.005, "north": 46.004}


def finished_ndvi_job(connection, panel: JobsPanel):
    inputs = RecipeInputs("SENTINEL2_L2A", EXTENT, ("2023-06-01", "2023-06-11"),
                          connection.describe_collection("SENTINEL2_L2A"))
    job = panel.submit(RECIPES["NDVI"].graph(inputs, save_format="GTiff"), title="NDVI SENTINEL2_L2A test")
    deadline = time.monotonic() + 120
    while job.status() not in ("finished", "error") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job.status() == "finished"
    panel.refresh(select=job.job_id)
    return job


def test_download_goes_into_the_notebook_folder_with_relative_links(connection, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a kernel's working directory is its notebook's folder
    panel = JobsPanel(connection, interval=0)
    job = finished_ndvi_job(connection, panel)
    paths = panel.download()
    folder = tmp_path / "jupyter-eo-results" / job.job_id
    assert paths and all(p.parent == folder and p.exists() for p in paths)
    html = panel.files.outputs[0]["data"]["text/html"]
    rel = f"jupyter-eo-results/{job.job_id}/{paths[0].name}"
    assert f"href='{rel}'" in html and f"download='{paths[0].name}'" in html
    assert str(tmp_path) not in html  # no server paths, only links relative to the notebook

    viewer = panel.open_viewer()
    assert viewer.bands == ["NDVI"] and viewer.cmap.value == "RdYlGn"  # not band "data" in viridis
    assert viewer.value_ranges() == [(-0.2, 0.9)]


def test_download_outside_the_notebook_folder_shows_the_path(connection, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    panel = JobsPanel(connection, interval=0, download_dir=tmp_path.parent / f"{tmp_path.name}-elsewhere")
    finished_ndvi_job(connection, panel)
    paths = panel.download()
    html = panel.files.outputs[0]["data"]["text/html"]
    assert paths and "href=" not in html and str(paths[0]) in html
