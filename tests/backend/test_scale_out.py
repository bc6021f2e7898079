"""`jupyter-eo serve --dask-address` on a real cluster of worker processes equals the local run.

A ``dask scheduler`` and two ``dask worker`` processes are started with the dask CLI; two
``jupyter-eo serve`` backends (one local, one on the cluster) answer the official openeo client.
"""
from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from backend_testlib import PASSWORD, USER
from serve_testlib import clean_env, start_serve, stop_serve, write_users_file

DASK = str(Path(sys.executable).with_name("dask"))
AOI = {"west": 5.00, "south": 51.20, "east": 5.04, "north": 51.23}
MONTH = ["2024-05-01", "2024-06-01"]


def _wait(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def _write_tif(path: Path) -> None:
    data = np.random.default_rng(7).integers(1, 3000, (2, 60, 80), dtype=np.uint16)
    data[:, 10:14, 20:30] = 0  # no-data
    with rasterio.open(path, "w", driver="GTiff", width=80, height=60, count=2, dtype="uint16",
                       crs="EPSG:32631", transform=from_origin(600_000, 5_680_000, 10, 10),
                       nodata=0) as dst:
        dst.write(data)
        dst.set_band_description(1, "red")
        dst.set_band_description(2, "nir")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """(scheduler address, a distributed.Client) of a scheduler and 2 single-thread workers."""
    from distributed import Client

    tmp = tmp_path_factory.mktemp("cluster")
    env = clean_env(tmp)  # workers get no JUPYTER_EO_ setting from the test's environment
    sched_file = tmp / "scheduler.json"
    procs = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(sched_file)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        _wait(sched_file.exists, 60, "the scheduler file")
        for _ in range(2):
            procs.append(subprocess.Popen(
                [DASK, "worker", "--scheduler-file", str(sched_file), "--nworkers", "1",
                 "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1",
                 "--local-directory", str(tmp / "workers")],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        client = Client(scheduler_file=str(sched_file), set_as_default=False, timeout=60)
        client.wait_for_workers(2, timeout=120)
        yield client.scheduler.address, client
        client.close()
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def backends(cluster: tuple[str, Any], tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[dict[str, str]]:
    """URLs of a local backend and of one computing on the cluster (same user files)."""
    tmp = tmp_path_factory.mktemp("serve")
    collections = tmp / "collections"
    (collections / "parcels").mkdir(parents=True)  # a folder of dated GeoTIFFs: "parcels"
    _write_tif(collections / "parcels" / "parcels_2024-05-10.tif")
    users = write_users_file(tmp / "users", f"{USER}:{PASSWORD}\n")
    procs, urls = [], {}
    try:
        for name, extra in (("local", []), ("cluster", ["--dask-address", cluster[0]])):
            env = clean_env(tmp / name)
            proc, url = start_serve(["--data-dir", str(tmp / name / "state"), "--users-file",
                                     str(users), "--collections-dir", str(collections),
                                     "--sync-timeout", "120", *extra], env)
            procs.append(proc)
            urls[name] = url
        yield urls
    finally:
        for proc in procs:
            stop_serve(proc)


@pytest.fixture(autouse=True)
def _openeo_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENEO_CONFIG_HOME", str(tmp_path / "openeo"))
    monkeypatch.setenv("OPENEO_AUTH_CONFIG_HOME", str(tmp_path / "openeo"))


def _connect(url: str) -> Any:
    import openeo

    con = openeo.connect(url)
    con.authenticate_basic(USER, PASSWORD)
    return con


def _executed(client: Any) -> dict[str, int]:
    """Tasks each worker process has executed so far (from the workers themselves)."""
    return client.run(lambda dask_worker: dask_worker.state.executed_count)


def _ndvi_max(con: Any) -> Any:
    cube = con.load_collection("SENTINEL2_L2A", spatial_extent=AOI, temporal_extent=MONTH,
                               bands=["B04", "B08"])
    return cube.ndvi().max_time()


def _masked_median(con: Any) -> Any:
    cube = con.load_collection("SENTINEL2_L2A", spatial_extent=AOI, temporal_extent=MONTH,
                               bands=["B02", "B03", "B04", "SCL"])
    scl = cube.band("SCL")
    clouds = (scl == 3) | (scl == 8) | (scl == 9) | (scl == 10)
    return cube.filter_bands(["B02", "B03", "B04"]).mask(clouds).median_time()


def _s1_db(con: Any) -> Any:
    cube = con.load_collection("SENTINEL1_GRD", spatial_extent=AOI, temporal_extent=MONTH,
                               bands=["VV", "VH"])
    return cube.apply(lambda x: x.log(base=10) * 10)


def _user_tif(con: Any) -> Any:
    cube = con.load_collection("parcels", bands=["red", "nir"])
    return cube.ndvi(red="red", nir="nir")


REQUESTS = {"ndvi_max_s2": _ndvi_max, "masked_median_s2": _masked_median,
            "s1_backscatter_db": _s1_db, "user_geotiff": _user_tif}


def _read_gtiff(data: bytes) -> tuple[np.ndarray, dict]:
    with rasterio.MemoryFile(io.BytesIO(data)) as mem, mem.open() as src:
        return src.read(), {"crs": src.crs, "transform": src.transform, "dtypes": src.dtypes}


def _assert_same(remote: bytes, local: bytes) -> None:
    (r, rmeta), (l, lmeta) = _read_gtiff(remote), _read_gtiff(local)
    assert rmeta == lmeta
    assert r.dtype == l.dtype
    np.testing.assert_array_equal(r, l)


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_result_on_cluster_equals_local(backends: dict[str, str], cluster: tuple[str, Any],
                                        name: str) -> None:
    client = cluster[1]
    local = REQUESTS[name](_connect(backends["local"])).download(format="GTiff")
    before = _executed(client)
    remote = REQUESTS[name](_connect(backends["cluster"])).download(format="GTiff")
    after = _executed(client)
    _assert_same(remote, local)
    assert set(after) == set(before) and len(after) == 2
    ran = {w: after[w] - before[w] for w in after}
    assert sum(ran.values()) > 0, ran  # the cluster's workers computed the result


def test_batch_job_on_cluster_equals_local(backends: dict[str, str], cluster: tuple[str, Any],
                                           tmp_path: Path) -> None:
    client = cluster[1]
    outputs = {}
    for name in ("local", "cluster"):
        before = _executed(client)
        job = _ndvi_max(_connect(backends[name])).create_job(out_format="GTiff")
        job.start_and_wait(max_poll_interval=0.5, print=lambda *a, **k: None)
        paths = job.get_results().download_files(tmp_path / name)
        tif = [p for p in paths if p.suffix == ".tif"]
        assert len(tif) == 1, paths
        outputs[name] = tif[0].read_bytes()
        ran = sum(_executed(client).values()) - sum(before.values())
        assert (ran > 0) == (name == "cluster"), (name, ran)
    _assert_same(outputs["cluster"], outputs["local"])


def _scheduler_tasks(client: Any) -> int:
    return client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))


def _post_result_then_disconnect(url: str, body: bytes, token: str) -> socket.socket:
    host, port = url.split("//")[1].rstrip("/").split(":")
    sock = socket.create_connection((host, int(port)))
    head = (f"POST /result HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    sock.sendall(head.encode() + body)
    return sock


def test_client_disconnect_cancels_cluster_tasks(backends: dict[str, str],
                                                 cluster: tuple[str, Any]) -> None:
    import json

    import requests

    client = cluster[1]
    url = backends["cluster"]
    token = requests.get(url + "credentials/basic", auth=(USER, PASSWORD)).json()["access_token"]
    con = _connect(url)
    big = {"west": 5.0, "south": 51.1, "east": 5.1, "north": 51.2}
    cube = con.load_collection("SENTINEL2_L2A", spatial_extent=big,
                               temporal_extent=["2023-03-01", "2023-09-01"], bands=["B04", "B08"])
    graph = cube.ndvi().median_time().save_result("GTiff").flat_graph()
    body = json.dumps({"process": {"process_graph": graph}}).encode()
    _wait(lambda: _scheduler_tasks(client) == 0, 30, "an idle scheduler before the request")
    before = sum(_executed(client).values())
    sock = _post_result_then_disconnect(url, body, f"basic//{token}")
    try:
        # positive control: the request really reached the cluster (its whole graph)
        submitted = _wait(lambda: _scheduler_tasks(client), 60, "the request's tasks")
    finally:
        sock.close()
    _wait(lambda: _scheduler_tasks(client) == 0, 30, "the cancelled tasks to leave the cluster")
    # a block already running when the scheduler forgot it finishes (threads cannot be
    # interrupted), and nothing after it starts
    _wait(lambda: set(client.run(lambda dask_worker: len(dask_worker.state.executing))
                      .values()) == {0}, 30, "the workers to stop executing")
    ran = sum(_executed(client).values()) - before
    assert ran < submitted, (ran, submitted)  # stopped part-way, not run to the end
