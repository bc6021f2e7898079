"""``POST /result`` leaves nothing in data_dir/tmp, also when the worker outlives a timeout."""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
import xarray as xr
from backend_testlib import PASSWORD, USER, make_config

from jupyter_eo.backend.formats import WrittenFile, write_result
from jupyter_eo.backend.limits import Limits
from jupyter_eo.backend.testing import serve_in_thread

GRAPH = {"l": {"process_id": "load_collection", "arguments": {
    "id": "TEST_S2", "spatial_extent": None, "temporal_extent": ["2024-05-01", "2024-05-02"]}},
    "s": {"process_id": "save_result", "arguments": {"data": {"from_node": "l"},
                                                     "format": "GTiff"}, "result": True}}


def _token(url: str) -> str:
    return requests.get(url + "credentials/basic", auth=(USER, PASSWORD),
                        timeout=10).json()["access_token"]


def _post(url: str, token: str) -> requests.Response:
    return requests.post(url + "result", json={"process": {"process_graph": GRAPH}},
                         headers={"Authorization": f"Bearer basic//{token}"}, timeout=30)


def _leftovers(tmp_root: Path) -> list[Path]:
    """Everything under ``tmp_root``. The server may be deleting it while we look: os.walk
    skips folders that vanish mid-listing (rglob raised FileNotFoundError there once in CI)."""
    found: list[Path] = []
    for folder, subfolders, files in os.walk(tmp_root):
        found += [Path(folder) / name for name in subfolders + files]
    return sorted(found)


def _wait_empty(tmp_root: Path, seconds: float = 5.0) -> list[Path]:
    deadline = time.monotonic() + seconds
    while _leftovers(tmp_root) and time.monotonic() < deadline:
        time.sleep(0.02)
    return _leftovers(tmp_root)


def test_worker_finishing_after_timeout_leaves_no_files(tmp_path: Path) -> None:
    data_dir = tmp_path / "state"
    config = make_config(data_dir, limits=Limits(sync_timeout_s=0.3, max_body_bytes=1 << 20))
    release, finished = threading.Event(), threading.Event()
    out_dirs: list[Path] = []

    def late_writer(pg: dict, user: Any, out_dir: Path, basename: str, **_: Any) -> WrittenFile:
        """Like run_to_file when the evaluation ends after the timeout: writes regardless."""
        out_dirs.append(out_dir)
        try:
            release.wait(20)
            cube = xr.DataArray(np.ones((4, 4), "float32"), dims=("y", "x"))
            return write_result(cube, "JSON", {}, out_dir, basename=basename)
        finally:
            finished.set()

    with serve_in_thread(config) as url:
        serve_in_thread.last_backend.run_to_file = late_writer  # type: ignore[attr-defined]
        response = _post(url, _token(url))
        assert response.status_code == 408, response.text
        assert response.json()["code"] == "RequestTimeout"
        release.set()  # the worker now writes into the (already answered) request's folder
        assert finished.wait(20)
        leftovers = _wait_empty(data_dir / "tmp")
    assert out_dirs and not out_dirs[0].exists()
    assert leftovers == []


def test_successful_result_leaves_no_files(tmp_path: Path) -> None:
    data_dir = tmp_path / "state"
    with serve_in_thread(make_config(data_dir)) as url:
        response = _post(url, _token(url))
        assert response.status_code == 200, response.text
        assert int(response.headers["Content-Length"]) == len(response.content) > 0
        leftovers = _wait_empty(data_dir / "tmp")
    assert leftovers == []


def test_result_file_removed_before_streaming_is_an_openeo_error(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data_dir = tmp_path / "state"

    def vanished(pg: dict, user: Any, out_dir: Path, basename: str, **_: Any) -> WrittenFile:
        written = write_result(xr.DataArray(np.ones((2, 2)), dims=("y", "x")), "JSON", {},
                               out_dir, basename=basename)
        written.path.unlink()  # e.g. removed by a cleanup between writing and streaming
        return written

    with serve_in_thread(make_config(data_dir)) as url, \
            caplog.at_level(logging.INFO, "jupyter_eo.backend"):
        serve_in_thread.last_backend.run_to_file = vanished  # type: ignore[attr-defined]
        response = _post(url, _token(url))
        leftovers = _wait_empty(data_dir / "tmp")
    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "Internal"
    assert "was removed before it could be sent" in body["message"]
    # no traceback logged: only tornado's access line for the 500 (logged at ERROR level)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR
                and r.name != "tornado.access"], caplog.text
    assert leftovers == []
