"""Batch jobs with the official client: create/start/poll/logs/download, and survival of a restart."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import openeo
import pytest
import requests
import rioxarray

from backend_testlib import PASSWORD, USER, ArrayCatalog, ArrayCollection, make_config
from jupyter_eo.backend.jobs import JobStore
from jupyter_eo.backend.testing import serve_in_thread


def _expected() -> np.ndarray:
    cube = ArrayCollection().load(bands=["B04", "B08"]).astype("float64")
    red, nir = cube.sel(bands="B04"), cube.sel(bands="B08")
    return ((nir - red) / (nir + red)).max("t", skipna=True).compute().values


def _connect(url: str) -> openeo.Connection:
    con = openeo.connect(url)
    con.authenticate_basic(USER, PASSWORD)
    return con


def test_batch_job_survives_restart(data_dir: Path, tmp_path: Path) -> None:
    with serve_in_thread(make_config(data_dir)) as url:
        con = _connect(url)
        cube = con.load_collection("TEST_S2", bands=["B04", "B08"]).ndvi() \
            .reduce_dimension("t", reducer="max").save_result("GTiff")
        job = cube.create_job(title="ndvi max")
        assert job.status() == "created"
        job.start()
        seen = set()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            info = job.describe()
            seen.add(info["status"])
            assert 0 <= info.get("progress", 0) <= 100
            if info["status"] in ("finished", "error"):
                break
            time.sleep(0.1)
        assert info["status"] == "finished", job.logs()
        assert info["progress"] == 100
        messages = [entry["message"] for entry in job.logs()]
        assert any("started" in m for m in messages) and any("finished" in m for m in messages)
        results = job.get_results()
        (asset,) = results.get_assets()
        assert asset.metadata["type"].startswith("image/tiff")
        first = asset.download(tmp_path / "first.tif")
        job_id = job.job_id
        metadata = results.get_metadata()
        assert metadata["type"] == "Feature" and metadata["bbox"][0] == pytest.approx(3.0, abs=0.1)
    # a new app instance on the same data directory: still listed and downloadable
    with serve_in_thread(make_config(data_dir)) as url:
        con = _connect(url)
        assert job_id in [j["id"] for j in con.list_jobs()]
        job = con.job(job_id)
        assert job.status() == "finished"
        second = job.get_results().download_file(tmp_path / "second.tif")
        assert second.read_bytes() == first.read_bytes()
        head = requests.head(job.get_results().get_assets()[0].href,
                             headers={"Authorization": f"Bearer basic//{con.auth.bearer.split('//')[1]}"})
        assert head.status_code == 200 and head.headers["Accept-Ranges"] == "bytes"
        size = int(head.headers["Content-Length"])
        part = requests.get(job.get_results().get_assets()[0].href,
                            headers={"Authorization": head.request.headers["Authorization"],
                                     "Range": "bytes=10-19"})
        assert part.status_code == 206 and part.content == first.read_bytes()[10:20]
        assert part.headers["Content-Range"] == f"bytes 10-19/{size}"
    with rioxarray.open_rasterio(second, masked=True) as tif:
        np.testing.assert_allclose(tif.isel(band=0).values, _expected(), rtol=1e-6,
                                   equal_nan=True)


def test_running_job_at_shutdown_is_reported_interrupted(data_dir: Path) -> None:
    config = make_config(data_dir)
    with serve_in_thread(config) as url:
        con = _connect(url)
        job = con.create_job(con.load_collection("TEST_S2").save_result("GTiff"))
        job_id = job.job_id
    # simulate a crash while running: mark it running behind the app's back
    store = JobStore(config.data_dir / "backend.sqlite", lambda u, j: data_dir / "x")
    store.set_state(job_id, status="running")
    with serve_in_thread(make_config(data_dir)) as url:
        con = _connect(url)
        job = con.job(job_id)
        assert job.status() == "error"
        assert any("interrupted" in e["message"] for e in job.logs(level="error"))


def test_job_crud_cancel_and_errors(connection) -> None:
    from openeo.rest import OpenEoApiError

    job = connection.create_job(connection.load_collection("TEST_S2").save_result("netCDF"),
                                title="t1", description="d1")
    info = job.describe()
    assert info["title"] == "t1" and info["process"]["process_graph"]
    with pytest.raises(OpenEoApiError) as err:
        job.get_results().get_metadata()
    assert err.value.code == "JobNotFinished"
    estimate = connection.get(f"/jobs/{job.job_id}/estimate", expected_status=200).json()
    assert estimate["size"] > 0
    job.start_and_wait(max_poll_interval=0.2, print=lambda *a, **k: None)
    assert job.get_results().get_assets()[0].metadata["type"] == "application/x-netcdf"
    job.delete()
    with pytest.raises(OpenEoApiError) as err:
        job.describe()
    assert err.value.code == "JobNotFound" and err.value.http_status_code == 404
    failing = connection.create_job({"x": {"process_id": "load_collection", "arguments": {
        "id": "TEST_S2", "bands": ["NOPE"]}, "result": True}})
    failing.start()
    for _ in range(100):
        if failing.status() in ("error", "finished"):
            break
        time.sleep(0.1)
    assert failing.status() == "error"
    assert any(e["level"] == "error" for e in failing.logs())


def test_shutdown_during_a_run_reports_interrupted(data_dir: Path) -> None:
    with serve_in_thread(make_config(data_dir, catalog=ArrayCatalog(slow=True))) as url:
        con = _connect(url)
        job = con.create_job(con.load_collection("TEST_S2").save_result("GTiff"))
        job.start()
        for _ in range(100):
            if job.status() == "running":
                break
            time.sleep(0.05)
        assert job.status() == "running"
        job_id = job.job_id
    with serve_in_thread(make_config(data_dir)) as url:
        job = _connect(url).job(job_id)
        assert job.status() == "error"
        assert any("interrupted" in e["message"] for e in job.logs(level="error"))
        job.start_and_wait(max_poll_interval=0.2, print=lambda *a, **k: None)
        assert job.status() == "finished"


def test_progress_is_reported_while_running(data_dir: Path) -> None:
    with serve_in_thread(make_config(data_dir, catalog=ArrayCatalog(slow=True))) as url:
        con = _connect(url)
        cube = con.load_collection("TEST_S2", bands=["B04", "B08"]).ndvi() \
            .reduce_dimension("t", reducer="max")
        job = con.create_job(cube.save_result("GTiff"))
        job.start()
        progress = []
        for _ in range(300):
            info = job.describe()
            if info["status"] == "running":
                progress.append(info["progress"])
            if info["status"] in ("finished", "error"):
                break
            time.sleep(0.05)
        assert info["status"] == "finished"
        assert any(0 < p < 100 for p in progress), progress
        assert progress == sorted(progress)
