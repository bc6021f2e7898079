"""ProcessForm: inputs from the parameters' JSON schemas, validation before sending, runs on the embedded backend."""
from __future__ import annotations

import json
from pathlib import Path

import ipywidgets as w
import numpy as np
import pytest
import xarray as xr

from jupyter_eo.widgets import ProcessForm
from jupyter_eo.widgets.aoi_map import AOIMap
from jupyter_eo.widgets.pickers import BandPicker, CollectionPicker, TemporalExtentPicker
from jupyter_eo.widgets.preview_run import read_geotiff

UDPS = Path(__file__).resolve().parents[1] / "data" / "udps"
AOI = (11.30, 46.49, 11.32, 46.50)


def ndvi_doc() -> dict:
    return json.loads((UDPS / "ndvi_threshold_composite.json").read_text())


def catalogue_doc(process_id: str) -> dict:
    return next(p for p in json.loads((UDPS / "plaza_catalogue.json").read_text())["processes"]
                if p["id"] == process_id)


def run(code: str, connection) -> dict:
    """Execute exported lab code with ``jupyter_eo.connect`` giving the test's embedded backend."""
    import jupyter_eo

    original = jupyter_eo.connect
    jupyter_eo.connect = lambda backend_id="local", **kw: connection
    try:
        namespace: dict = {}
        exec(compile(code, "<exported>", "exec"), namespace)
        return namespace
    finally:
        jupyter_eo.connect = original


def test_inputs_follow_the_schemas(connection) -> None:
    form = ProcessForm(connection, ndvi_doc(), basemap_url=None)
    controls = {i.name: i.control for i in form.inputs}
    assert isinstance(controls["spatial_extent"], AOIMap)
    assert isinstance(controls["temporal_extent"], TemporalExtentPicker)
    assert controls["temporal_extent"].value == ("2023-05-01", "2023-07-01")
    assert isinstance(controls["collection"], CollectionPicker) and controls["collection"].value == "SENTINEL2_L2A"
    for band, default in (("red_band", "B04"), ("nir_band", "B08")):
        assert isinstance(controls[band], w.Dropdown) and controls[band].value == default
        assert {"B02", "B04", "B08", "B12"} <= set(controls[band].options[i][1] for i in range(len(controls[band].options)))
    assert isinstance(controls["period"], w.Dropdown) and controls["period"].value == "month"
    assert [o[1] for o in controls["period"].options] == ["week", "dekad", "month", "season"]
    slider = controls["threshold"]
    assert isinstance(slider, w.FloatSlider) and (slider.min, slider.max, slider.value) == (-1.0, 1.0, 0.2)
    assert isinstance(controls["scale_output"], w.Checkbox) and controls["scale_output"].value is False
    required = [i.name for i in form.inputs if i.required]
    assert required == ["spatial_extent"] and "jeo-required" in form.inputs[0].label.value
    # the Markdown description is rendered, its <script> only shown as text
    assert "<h1>NDVI threshold composite</h1>" in form.header.value
    assert "<script>" not in form.header.value and "&lt;script&gt;" in form.header.value


def test_catalogue_process_inputs(connection) -> None:
    form = ProcessForm(connection, catalogue_doc("band_quantile_composite"), basemap_url=None)
    controls = {i.name: i.control for i in form.inputs}
    assert isinstance(controls["geometry"], AOIMap)
    assert isinstance(controls["bands"], BandPicker) and controls["bands"].value == ("B04", "B03", "B02")
    assert isinstance(controls["probabilities"], w.Textarea)  # an array of numbers: a JSON editor
    radar = ProcessForm(connection, catalogue_doc("radar_cross_ratio"), basemap_url=None)
    slider = {i.name: i.control for i in radar.inputs}["min_ratio"]
    assert isinstance(slider, w.IntSlider) and (slider.min, slider.max, slider.value) == (-30, 0, -25)


def test_invalid_values_are_shown_inline_and_nothing_is_sent(connection, monkeypatch) -> None:
    form = ProcessForm(connection, catalogue_doc("band_quantile_composite"), basemap_url=None)
    sent = []
    monkeypatch.setattr(form.preview, "update", lambda *a, **k: sent.append(a))
    monkeypatch.setattr(form.jobs, "submit", lambda *a, **k: sent.append(a))
    monkeypatch.setattr(connection, "download", lambda *a, **k: sent.append(a))
    editor = {i.name: i for i in form.inputs}["probabilities"]
    assert form.run_preview() is False  # no AOI drawn: geometry is required
    assert "geometry: required" in form.message.value
    form.context.aoi_maps[0].set_aoi(AOI)
    editor.control.value = "[1.5]"
    assert form.run_preview() is False and form.run_batch_job() is None and form.view_cube() is None
    assert "1.5 is greater than the maximum of 1" in editor.error.value
    editor.control.value = "[0.5,"
    assert form.run_preview() is False and "not JSON" in editor.error.value
    assert form.export.code() is None
    assert sent == []
    editor.control.value = "[0.25]"
    assert form.run_preview() is True and editor.error.value == "" and len(sent) == 1
    args, errors = form.arguments()
    assert errors == [] and args["probabilities"] == [0.25] and args["geometry"]["type"] == "Polygon"


def test_preview_and_view_cube_run_on_the_backend(connection) -> None:
    form = ProcessForm(connection, ndvi_doc(), basemap_url=None)
    form.context.aoi_maps[0].set_aoi(AOI)
    {i.name: i for i in form.inputs}["threshold"].control.value = 0.3
    assert form.run_preview()
    assert form.preview.wait(120)
    assert form.preview.result is not None, form.preview.status.value
    assert form.preview.overlay is not None and form.preview.overlay in form.context.aoi_maps[0].map.layers
    viewer = form.view_cube()
    assert viewer is not None, form.message.value
    data = viewer.cube.values
    finite = data[np.isfinite(data)]
    assert finite.size and finite.min() >= 0.3 - 1e-6  # the threshold reached the backend
    assert viewer.cube.sizes["t"] == 2  # two monthly composites of May–June


def test_inserted_code_calls_the_users_udp_and_reproduces_the_run(connection, tmp_path) -> None:
    from jupyter_eo.graph.udp import save_udp

    doc = ndvi_doc()
    save_udp(connection, doc)
    form = ProcessForm(connection, "ndvi_threshold_composite", basemap_url=None, code_ending="none")
    assert form.entry.namespace == "user"
    form.context.aoi_maps[0].set_aoi(AOI)
    {i.name: i for i in form.inputs}["period"].control.value = "season"
    code = form.export.code()
    assert 'connection.datacube_from_process(\n    "ndvi_threshold_composite",' in code
    assert 'namespace="user"' in code and 'period="season"' in code
    cube = run(code, connection)["cube"]
    assert cube.flat_graph() == {"ndvithresholdcomposite1": {
        "process_id": "ndvi_threshold_composite", "namespace": "user", "result": True,
        "arguments": form.arguments()[0]}}
    by_code = read_geotiff(cube.download(format="GTiff"))
    by_form = read_geotiff(connection.download(form.run_graph("GTiff")))
    assert by_code.data.dtype == by_form.data.dtype
    np.testing.assert_array_equal(by_code.data, by_form.data)


def test_a_file_process_has_no_namespace_so_its_code_is_the_inlined_graph(connection, tmp_path) -> None:
    path = tmp_path / "radar.json"
    path.write_text(json.dumps(catalogue_doc("radar_cross_ratio")))
    from jupyter_eo.widgets.process_sources import load_source

    form = ProcessForm(connection, load_source(str(path), connection)[0], basemap_url=None, code_ending="none")
    form.context.aoi_maps[0].set_aoi(AOI)
    code = form.export.code()
    assert "datacube_from_process" not in code and "load_collection" in code
    cube = run(code, connection)["cube"]
    by_code = read_geotiff(cube.download(format="GTiff"))
    by_form = read_geotiff(connection.download(form.run_graph("GTiff")))
    assert by_code.data.dtype == by_form.data.dtype
    np.testing.assert_array_equal(by_code.data, by_form.data)


def test_batch_job_runs_the_process_and_its_result_equals_the_synchronous_run(connection, tmp_path) -> None:
    import time

    form = ProcessForm(connection, catalogue_doc("radar_cross_ratio"), basemap_url=None)
    form.context.aoi_maps[0].set_aoi(AOI)
    job = form.run_batch_job()
    assert job is not None, form.message.value
    assert "submitted" in form.message.value and form.jobs.selected == job.job_id
    deadline = time.monotonic() + 120
    while (status := job.status()) not in ("finished", "error", "canceled") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert status == "finished", job.logs()
    [path] = [p for p in job.get_results().download_files(tmp_path) if Path(p).suffix == ".tif"]
    from_job = read_geotiff(Path(path).read_bytes()).data
    from_sync = read_geotiff(connection.download(form.run_graph("GTiff"))).data
    assert from_job.dtype == from_sync.dtype
    np.testing.assert_array_equal(from_job, from_sync)
