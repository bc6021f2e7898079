"""A client that hangs up on a synchronous ``POST /result`` stops its computation."""
from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import requests
import xarray as xr
from backend_testlib import PASSWORD, USER, ArrayCatalog, ArrayCollection, make_config

from jupyter_eo.backend.limits import Limits
from jupyter_eo.backend.testing import serve_in_thread


class CountingSlowCollection(ArrayCollection):
    """Every chunk load sleeps ``delay`` s; loads are counted with their end time."""

    delay = 0.1

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[float] = []
        self.lock = threading.Lock()

    def load(self, *args: Any, **kwargs: Any) -> xr.DataArray:
        delay = self.delay  # loads of later (fast) requests are not counted

        def slow(block: np.ndarray) -> np.ndarray:
            if delay:
                time.sleep(delay)
                with self.lock:
                    self.loads.append(time.monotonic())
            return block

        cube = super().load(*args, **kwargs)
        cube = cube.chunk({"y": 8, "x": 8})  # 8*10*4 = 320 chunks: ~16 s of loads on 2 threads
        return cube.copy(data=cube.data.map_blocks(slow, dtype=cube.dtype))


def graph(reduce: bool) -> dict:
    nodes: dict = {"l": {"process_id": "load_collection", "arguments": {
        "id": "TEST_S2", "spatial_extent": None, "temporal_extent": None}}}
    last = "l"
    if reduce:
        nodes["r"] = {"process_id": "reduce_dimension", "arguments": {
            "data": {"from_node": "l"}, "dimension": "t", "reducer": {"process_graph": {
                "m": {"process_id": "median", "arguments": {"data": {"from_parameter": "data"}},
                      "result": True}}}}}
        last = "r"
    nodes["s"] = {"process_id": "save_result", "arguments": {"data": {"from_node": last},
                                                             "format": "GTiff"}, "result": True}
    return nodes


def post_and_hang_up(url: str, token: str, body: dict, after: float) -> None:
    """Send ``POST /result`` on a raw socket and close it ``after`` seconds later."""
    host, port = url.split("//", 1)[1].rstrip("/").split(":")
    payload = json.dumps(body).encode()
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall((f"POST /result HTTP/1.1\r\nHost: {host}:{port}\r\n"
                      f"Authorization: Bearer basic//{token}\r\nContent-Type: application/json\r\n"
                      f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload)
        time.sleep(after)


def test_client_disconnect_cancels_sync_result(tmp_path: Path, caplog) -> None:
    import logging

    catalog = ArrayCatalog()
    catalog.collection = CountingSlowCollection()
    events: list[threading.Event] = []
    config = make_config(tmp_path, catalog=catalog,
                         limits=Limits(sync_timeout_s=60, max_body_bytes=1 << 20))
    with serve_in_thread(config) as url, caplog.at_level(logging.INFO, "jupyter_eo.backend"):
        from jupyter_eo.backend.handlers import results

        original = results.ResultHandler.post

        async def spy(self: Any) -> None:
            task = original(self)
            events.append(self)  # the handler: its _cancel is the evaluation's event
            await task

        results.ResultHandler.post = spy  # type: ignore[method-assign]
        try:
            token = requests.get(url + "credentials/basic", auth=(USER, PASSWORD),
                                 timeout=10).json()["access_token"]
            started = time.monotonic()
            post_and_hang_up(url, token, {"process": {"process_graph": graph(True)}}, 0.3)
            hung_up = time.monotonic()
            deadline = hung_up + 10
            while time.monotonic() < deadline:  # the handler sees the close, sets the event
                cancel = getattr(events[0], "_cancel", None) if events else None
                if cancel is not None and cancel.is_set():
                    break
                time.sleep(0.02)
            assert cancel is not None and cancel.is_set()
            # measured from here, not from the hang-up: how soon the server thread notices a
            # closed socket depends on the machine's load, the loads stopping must not
            canceled = time.monotonic()
            # the sync pool is free again: a small request answers quickly
            catalog.collection.delay = 0.0
            small = dict(graph(False))
            small["l"]["arguments"]["temporal_extent"] = ["2024-05-01", "2024-05-02"]
            t0 = time.monotonic()
            response = requests.post(url + "result", json={"process": {"process_graph": small}},
                                     headers={"Authorization": f"Bearer basic//{token}"},
                                     timeout=30)
            assert response.status_code == 200, response.text
            assert time.monotonic() - t0 < 3.0
            # wait until the canceled evaluation has really returned (its worker releases the
            # result folder): without the cancellation it would first load all ~320 chunks
            tmp_root = config.data_dir / "tmp"
            deadline = time.monotonic() + 60
            while list(tmp_root.glob("result-*")):
                assert time.monotonic() < deadline, "the canceled evaluation never returned"
                time.sleep(0.02)
        finally:
            results.ResultHandler.post = original  # type: ignore[method-assign]
        loaded_before = sum(1 for t in catalog.collection.loads if t <= canceled)
        after = [t for t in catalog.collection.loads if t > canceled]
        # at most the loads already running or queued on the pool finish after the cancel,
        # never the remaining ~300 (16 s) of the full graph: counted once the evaluation has
        # returned, so a slow machine cannot hide them (no clock-based bound needed)
        print("chunk loads before, after the cancel:", loaded_before, len(after),
              "last one %.2f s after;" % (max(after, default=canceled) - canceled),
              "cancel seen %.2f s after the hang-up" % (canceled - hung_up))
        assert len(after) < 30, (loaded_before, len(after))
        assert hung_up - started < 1.0
        assert any("cancelled" in r.getMessage() and r.levelno == logging.INFO
                   for r in caplog.records)
