"""A superseded preview aborts its HTTP request: the embedded backend sees the client go away
and stops computing, and only the newest preview is shown."""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from jupyter_eo.backend.config import BackendConfig
from jupyter_eo.backend.cube import set_crs
from jupyter_eo.backend.testing import serve_in_thread
from jupyter_eo.widgets.preview import Preview

USER, PASSWORD = "pat", "abort-test-pw"
STEP, N = 0.0001, 96
WEST, NORTH = 11.0, 46.01
EXTENT = {"west": WEST + 0.001, "east": WEST + 0.008, "south": NORTH - 0.008, "north": NORTH - 0.001}


class TwoBandCollection:
    """Band A is 1.0 and gated: each 8x8 chunk load waits until the test opens ``gate``;
    band B is 2.0 and fast."""

    id = "TWO_BANDS"
    gate_timeout = 30.0  # a gate never opened fails the load instead of hanging the test

    def __init__(self) -> None:
        xs = WEST + STEP / 2 + STEP * np.arange(N)
        ys = NORTH - STEP / 2 - STEP * np.arange(N)
        data = np.stack([np.full((N, N), 1.0, "float32"), np.full((N, N), 2.0, "float32")])[None]
        self.cube = set_crs(xr.DataArray(data, dims=("t", "bands", "y", "x"), coords={
            "t": pd.to_datetime(["2024-05-01"]).values, "bands": ["A", "B"], "y": ys, "x": xs}),
            "EPSG:4326")
        self.slow_loads = 0  # chunk loads of band A that passed the gate
        self.lock = threading.Lock()
        self.loading = threading.Event()  # a chunk load of band A has started
        self.gate = threading.Event()
        self.results_root = Path()
        self.chunks = 0  # chunks of band A in the last load

    def result_folders(self) -> list[Path]:
        """The backend's folders of running ``POST /result`` requests."""
        return sorted(self.results_root.glob("result-*"))

    def metadata(self) -> dict[str, Any]:
        return {"stac_version": "1.0.0", "type": "Collection", "id": self.id, "license": "CC0-1.0",
                "title": "Two constant bands", "description": "For abort tests.", "links": [],
                "extent": {"spatial": {"bbox": [[WEST, NORTH - N * STEP, WEST + N * STEP, NORTH]]},
                           "temporal": {"interval": [["2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z"]]}},
                "cube:dimensions": {
                    "x": {"type": "spatial", "axis": "x", "extent": [WEST, WEST + N * STEP],
                          "step": STEP, "reference_system": 4326},
                    "y": {"type": "spatial", "axis": "y", "extent": [NORTH - N * STEP, NORTH],
                          "step": STEP, "reference_system": 4326},
                    "t": {"type": "temporal", "extent": ["2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z"]},
                    "bands": {"type": "bands", "values": ["A", "B"]}},
                "summaries": {"eo:bands": [{"name": "A"}, {"name": "B"}]}}

    def queryables(self) -> dict[str, Any]:
        return {"type": "object", "properties": {}}

    def load(self, spatial_extent=None, temporal_extent=None, bands=None, property_filter=None,
             *, resolution=None, crs=None) -> xr.DataArray:
        cube = self.cube.sel(bands=list(bands or ["A", "B"]))
        if spatial_extent:
            cube = cube.sel(x=slice(spatial_extent["west"], spatial_extent["east"]),
                            y=slice(spatial_extent["north"], spatial_extent["south"]))
        cube = cube.chunk({"t": 1, "bands": -1, "y": 8, "x": 8})
        if "A" not in list(cube.bands.values):
            return cube

        def slow(block: np.ndarray) -> np.ndarray:
            self.loading.set()
            if not self.gate.wait(self.gate_timeout):
                raise RuntimeError("the test never opened the gate")
            with self.lock:
                self.slow_loads += 1
            return block

        self.chunks = cube.data.npartitions
        return cube.copy(data=cube.data.map_blocks(slow, dtype=cube.dtype))


class Catalog:
    def __init__(self) -> None:
        self.collection = TwoBandCollection()

    def ids(self) -> list[str]:
        return [self.collection.id]

    def get(self, collection_id: str) -> TwoBandCollection:
        from jupyter_eo.errors import CollectionNotFound

        if collection_id != self.collection.id:
            raise CollectionNotFound(f"Collection {collection_id!r} does not exist.")
        return self.collection


def band_graph(band: str) -> dict:
    return {"l": {"process_id": "load_collection", "arguments": {
        "id": "TWO_BANDS", "spatial_extent": EXTENT, "temporal_extent": None, "bands": [band]}},
        "s": {"process_id": "save_result", "arguments": {"data": {"from_node": "l"},
                                                         "format": "GTiff"}, "result": True}}


@pytest.fixture
def served(tmp_path, monkeypatch) -> Iterator[tuple[Any, Catalog]]:
    import openeo

    monkeypatch.setenv("OPENEO_CONFIG_HOME", str(tmp_path / "openeo-config"))
    catalog = Catalog()
    catalog.collection.results_root = tmp_path / "state" / "tmp"  # POST /result's folders
    config = BackendConfig(data_dir=tmp_path / "state", users={USER: PASSWORD}, catalog=catalog)
    with serve_in_thread(config) as url:
        yield openeo.connect(url).authenticate_basic(USER, PASSWORD), catalog


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll ``predicate`` until it holds (True) or ``timeout`` s pass (False)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_superseded_preview_aborts_its_request(served, caplog) -> None:
    connection, catalog = served
    slow = catalog.collection
    preview = Preview(connection, delay=0.0, tiles_above=None)
    shown: list[Any] = []
    preview.on_result(shown.append)
    with caplog.at_level(logging.INFO, "jupyter_eo.backend"):
        preview.update(band_graph("A"), EXTENT, label="A", resolution_m=10.0)
        assert slow.loading.wait(30), "the first preview never started loading chunks"
        # the first request's worker is now held at the gate; its result folder exists
        (first_folder,) = slow.result_folders()
        preview.update(band_graph("B"), EXTENT, label="B", resolution_m=10.0)
        # the newest preview is shown while the first one is still held: it was not waited for
        assert preview.wait(30)
        assert not slow.gate.is_set() and slow.slow_loads == 0
        # the backend saw the first client go away
        assert wait_until(lambda: any("POST /result cancelled" in r.getMessage()
                                      and r.levelno == logging.INFO for r in caplog.records))
        slow.gate.set()
        # the first request's worker ended: its result folder is removed only once both the
        # request and the worker thread computing it have finished
        assert wait_until(lambda: not first_folder.exists()), "the first worker never ended"
    # ... and it ended by the abort, not by finishing: of its chunks (81) only those already
    # waiting at the gate were loaded (at most one per dask thread; without the abort all are)
    assert slow.chunks == 81 and 0 < slow.slow_loads < slow.chunks // 2, slow.slow_loads
    # only the newest preview is shown: band B is 2.0 everywhere
    assert preview.scheduler.superseded == 1 and preview.scheduler.delivered == 1
    assert len(shown) == 1 and preview.label == "B"
    assert preview.result is not None and np.allclose(preview.result.data[np.isfinite(preview.result.data)], 2.0)
    print(f"first preview: {slow.slow_loads} of {slow.chunks} chunk loads before its worker stopped")


def test_scheduler_fires_on_cancel_of_the_running_run_only() -> None:
    from jupyter_eo.widgets.preview_run import PreviewScheduler

    aborted: list[str] = []
    started = threading.Event()
    release = threading.Event()

    def run(job: str, is_cancelled: Any) -> str:
        is_cancelled.on_cancel(lambda: aborted.append(job))
        if job == "first":
            started.set()
            release.wait(5)
        return job

    delivered: list[str] = []
    scheduler = PreviewScheduler(run, delivered.append, lambda exc: None, delay=0.0)
    scheduler.request("first")
    assert started.wait(5)
    scheduler.request("second")  # supersedes the running run: its abort hook fires at once
    assert aborted == ["first"]
    release.set()
    assert scheduler.wait(5)
    assert delivered == ["second"] and aborted == ["first"]  # nothing aborts a finished run
    scheduler.request("third")
    assert scheduler.wait(5) and aborted == ["first"]
