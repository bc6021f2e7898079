"""The supervised embedded backend as ``local``: the real openeo client through the proxy vs direct."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path

import numpy as np
import openeo
import pytest
import rioxarray
import xarray as xr
from openeo.api.process import Parameter

import jupyter_eo

AOI = {"west": 5.0, "south": 51.0, "east": 5.015, "north": 51.012}
DATES = ["2024-05-01", "2024-06-01"]


@pytest.fixture(scope="module")
def local_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One backend data dir for the module: its caches are built once (cold start ~15 s)."""
    return tmp_path_factory.mktemp("local-backend")


@pytest.fixture
def jp_server_config(tmp_path: Path, local_dir: Path, eo_cache_dir: str,
                     monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("JUPYTER_EO_CACHE_DIR", eo_cache_dir)  # inherited by the child
    return {"ServerApp": {"jpserver_extensions": {"jupyter_eo": True}},
            "JupyterEOApp": {"local_backend_dir": str(local_dir),
                             "credentials_dir": str(tmp_path / "creds"),
                             "local_backend_job_workers": 3}}


@pytest.fixture
def supervisor(jp_serverapp, http_server):  # type: ignore[no-untyped-def]
    sup = jp_serverapp.web_app.settings["jupyter_eo_supervisor"]
    yield sup
    asyncio.get_event_loop().run_until_complete(sup.stop())


def _recorded(con: openeo.Connection) -> list[str]:
    urls: list[str] = []
    con.session.hooks["response"].append(lambda r, *a, **k: urls.append(r.url))
    return urls


def _direct(sup) -> openeo.Connection:  # type: ignore[no-untyped-def]
    info = sup.info
    con = openeo.connect(info.url)
    con.authenticate_basic(info.username, info.password)
    return con


def _ndvi_max(con: openeo.Connection):  # type: ignore[no-untyped-def]
    return con.load_collection("SENTINEL2_L2A", spatial_extent=AOI, temporal_extent=DATES,
                               bands=["B04", "B08"]).ndvi().reduce_dimension("t", reducer="max")


def _same_tif(a: Path, b: Path) -> None:
    with rioxarray.open_rasterio(a, masked=True) as x, rioxarray.open_rasterio(b, masked=True) as y:
        assert x.rio.crs == y.rio.crs and x.rio.transform() == y.rio.transform()
        assert x.shape == y.shape and x.shape[1] > 1
        np.testing.assert_array_equal(x.values, y.values)


def _sync_and_describe(sup, tmp: Path) -> list[str]:  # type: ignore[no-untyped-def]
    proxied = jupyter_eo.connect("local")
    urls = _recorded(proxied)
    prefix = os.environ["JUPYTER_EO_SERVER_URL"] + "jupyter-eo/openeo/local/"
    assert proxied.root_url == prefix
    direct = _direct(sup)
    ids = proxied.list_collection_ids()
    assert ids == direct.list_collection_ids() and "SENTINEL2_L2A" in ids
    described = json.dumps(proxied.describe_collection("SENTINEL2_L2A"))
    assert sup.info.url not in described
    assert json.loads(described.replace(prefix, sup.info.url)) == \
        direct.describe_collection("SENTINEL2_L2A")
    assert proxied.describe_account()["user_id"] == direct.describe_account()["user_id"]
    for fmt, suffix in (("GTiff", "tif"), ("netCDF", "nc")):
        _ndvi_max(proxied).download(tmp / f"proxy.{suffix}", format=fmt)
        _ndvi_max(direct).download(tmp / f"direct.{suffix}", format=fmt)
    _same_tif(tmp / "proxy.tif", tmp / "direct.tif")
    with xr.open_dataset(tmp / "proxy.nc") as p, xr.open_dataset(tmp / "direct.nc") as d:
        xr.testing.assert_identical(p, d)
    return [u for u in urls if not u.startswith(prefix)]


async def test_client_sync_through_proxy_matches_direct(supervisor, tmp_path) -> None:
    bypass = await asyncio.to_thread(_sync_and_describe, supervisor, tmp_path)
    assert bypass == []


def _batch_job(sup, tmp: Path) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    proxied = jupyter_eo.connect("local")
    urls = _recorded(proxied)
    job = _ndvi_max(proxied).save_result("GTiff").create_job(title="through the proxy")
    job.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        info = job.describe()
        assert 0 <= info.get("progress", 0) <= 100
        if info["status"] in ("finished", "error"):
            break
        time.sleep(0.1)
    assert info["status"] == "finished", job.logs()
    assert any("finished" in entry["message"] for entry in job.logs())
    (asset,) = job.get_results().get_assets()
    assert asset.href.startswith(proxied.root_url)
    asset.download(tmp / "job.tif")
    _ndvi_max(_direct(sup)).download(tmp / "direct.tif", format="GTiff")
    _same_tif(tmp / "job.tif", tmp / "direct.tif")
    return job.job_id, urls


def _after_restart(job_id: str, tmp: Path) -> list[str]:
    proxied = jupyter_eo.connect("local")
    urls = _recorded(proxied)
    assert job_id in [j["id"] for j in proxied.list_jobs()]
    (asset,) = proxied.job(job_id).get_results().get_assets()
    asset.download(tmp / "again.tif")
    _same_tif(tmp / "again.tif", tmp / "job.tif")
    return urls


async def test_batch_job_through_proxy_survives_child_restart(supervisor, tmp_path) -> None:
    job_id, urls = await asyncio.to_thread(_batch_job, supervisor, tmp_path)
    old_pid = supervisor.pid
    os.kill(old_pid, signal.SIGKILL)
    for _ in range(100):
        if not supervisor.running:
            break
        await asyncio.sleep(0.05)
    urls += await asyncio.to_thread(_after_restart, job_id, tmp_path)
    assert supervisor.starts == 2 and supervisor.pid != old_pid
    prefix = os.environ["JUPYTER_EO_SERVER_URL"] + "jupyter-eo/openeo/local/"
    assert urls and all(u.startswith(prefix) for u in urls)


def _udp_round_trip(sup, tmp: Path) -> list[str]:  # type: ignore[no-untyped-def]
    proxied = jupyter_eo.connect("local")
    urls = _recorded(proxied)
    bbox = Parameter(name="bbox", description="Area",
                     schema={"type": "object", "subtype": "bounding-box"})
    dates = Parameter(name="dates", description="Interval",
                      schema={"type": "array", "subtype": "temporal-interval"})
    cube = proxied.load_collection("SENTINEL2_L2A", spatial_extent=bbox, temporal_extent=dates,
                                   bands=["B04", "B08"]).ndvi().reduce_dimension("t",
                                                                                 reducer="max")
    udp = proxied.save_user_defined_process("ndvi_max", cube, parameters=[bbox, dates],
                                            summary="NDVI maximum")
    assert [p["id"] for p in proxied.list_user_defined_processes()] == ["ndvi_max"]
    assert [p["name"] for p in udp.describe()["parameters"]] == ["bbox", "dates"]
    proxied.datacube_from_process("ndvi_max", bbox=AOI, dates=DATES).download(
        tmp / "udp.tif", format="GTiff")
    _ndvi_max(_direct(sup)).download(tmp / "direct.tif", format="GTiff")
    _same_tif(tmp / "udp.tif", tmp / "direct.tif")
    udp.delete()
    assert proxied.list_user_defined_processes() == []
    return urls


async def test_udp_round_trip_through_proxy(supervisor, tmp_path) -> None:
    urls = await asyncio.to_thread(_udp_round_trip, supervisor, tmp_path)
    prefix = os.environ["JUPYTER_EO_SERVER_URL"] + "jupyter-eo/openeo/local/"
    assert urls and all(u.startswith(prefix) for u in urls)


async def test_child_is_started_lazily_and_stopped(jp_serverapp, http_server, supervisor,
                                                   jp_fetch) -> None:
    assert not supervisor.running  # nothing started by the server itself
    status = json.loads((await jp_fetch("jupyter-eo", "api", "backends")).body)
    local = status["backends"][0]
    assert local["id"] == "local" and local["state"] == "ready" and "url" not in local
    assert not supervisor.running
    response = await jp_fetch("jupyter-eo", "openeo", "local", "collections")
    assert response.code == 200 and supervisor.running
    pid = supervisor.pid
    secret_env = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
    assert not any(e.startswith(b"JUPYTER_EO_KERNEL_SECRET=") for e in secret_env)
    cmdline = open(f"/proc/{pid}/cmdline", "rb").read()
    assert supervisor.info.password.encode() not in cmdline
    args = cmdline.split(b"\0")
    assert args[args.index(b"--job-workers") + 1] == b"3"  # JupyterEOApp.local_backend_job_workers
    await jp_serverapp.cleanup_extensions()  # what the server does when it stops
    assert not supervisor.running
    with pytest.raises(ProcessLookupError):
        for _ in range(100):
            os.kill(pid, 0)
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("value", [0, 33])
def test_local_backend_job_workers_is_validated(value: int) -> None:
    from traitlets import TraitError

    from jupyter_eo.server.app import JupyterEOApp

    with pytest.raises(TraitError, match="local_backend_job_workers must be from 1 to 32"):
        JupyterEOApp(local_backend_job_workers=value)
    assert JupyterEOApp().local_backend_job_workers == 1


def _preview_graph(i: int) -> dict:
    west = 5.0 + 0.002 * (i % 10)
    return {"process": {"process_graph": {
        "load": {"process_id": "load_collection", "arguments": {
            "id": "SENTINEL2_L2A", "bands": ["B04", "B08"], "temporal_extent": DATES,
            "spatial_extent": {"west": west, "south": 51.0, "east": west + 0.01,
                               "north": 51.008}}},
        "ndvi": {"process_id": "ndvi", "arguments": {"data": {"from_node": "load"}}},
        "max": {"process_id": "reduce_dimension", "arguments": {
            "data": {"from_node": "ndvi"}, "dimension": "t", "reducer": {"process_graph": {
                "m": {"process_id": "max", "arguments": {"data": {"from_parameter": "data"}},
                      "result": True}}}}},
        "save": {"process_id": "save_result", "arguments": {"data": {"from_node": "max"},
                                                            "format": "PNG"}, "result": True}}}}


async def test_50_concurrent_previews_keep_status_fast(supervisor, jp_http_port, jp_base_url,
                                                       jp_auth_header) -> None:
    from tornado.httpclient import AsyncHTTPClient

    client = AsyncHTTPClient(force_instance=True, max_clients=80)
    root = f"http://127.0.0.1:{jp_http_port}{jp_base_url}jupyter-eo/"
    headers = {**jp_auth_header, "Content-Type": "application/json"}
    warm = await client.fetch(root + "openeo/local/result", method="POST", headers=headers,
                              body=json.dumps(_preview_graph(0)), raise_error=False,
                              request_timeout=120)
    assert warm.code == 200 and warm.body[:4] == b"\x89PNG"
    previews = [asyncio.ensure_future(client.fetch(
        root + "openeo/local/result", method="POST", headers=headers,
        body=json.dumps(_preview_graph(i)), raise_error=False, request_timeout=170))
        for i in range(50)]
    timings = []
    await asyncio.sleep(0.2)
    while not all(p.done() for p in previews) or len(timings) < 3:
        start = time.perf_counter()
        status = await client.fetch(root + "api/status", headers=jp_auth_header)
        timings.append(time.perf_counter() - start)
        assert status.code == 200
        await asyncio.sleep(0.1)
    codes = [p.result().code for p in previews]
    client.close()
    print(f"50 previews: {codes.count(200)} x 200, {codes.count(429)} x 429, "
          f"{codes.count(503)} x 503; status max {max(timings):.3f} s over {len(timings)} calls")
    assert set(codes) <= {200, 429, 503}, codes
    assert codes.count(200) >= 1
    assert max(timings) < 1.0, timings
    # the server is still up and the backend answers
    assert supervisor.running


async def test_xyz_tiles_load_through_the_proxy_with_the_lab_cookie(
        supervisor, jp_http_port, jp_base_url, jp_auth_header) -> None:
    from http.cookies import SimpleCookie

    from tornado.httpclient import AsyncHTTPClient

    from jupyter_eo.connection import browser_url

    client = AsyncHTTPClient()
    origin = f"http://127.0.0.1:{jp_http_port}"
    root = f"{origin}{jp_base_url}jupyter-eo/openeo/local/"
    graph = _preview_graph(0)["process"]
    created = await client.fetch(root + "services", method="POST", headers={
        **jp_auth_header, "Content-Type": "application/json"},
        body=json.dumps({"type": "XYZ", "process": graph}), raise_error=False)
    assert created.code == 201, created.body
    service = json.loads((await client.fetch(created.headers["Location"],
                                             headers=jp_auth_header)).body)
    assert service["url"].startswith(root)  # rewritten: the browser never sees the child
    tile_path = browser_url(service["url"]).format(z=14, x=8419, y=5448)
    assert tile_path.startswith(jp_base_url + "jupyter-eo/openeo/local/")
    # the lab's login cookie alone (what an <img> in the page sends) loads the tile
    first = await client.fetch(origin + jp_base_url + "api/status", headers=jp_auth_header)
    cookies = SimpleCookie()
    for header in first.headers.get_list("Set-Cookie"):
        cookies.load(header)
    cookie = "; ".join(f"{k}={v.value}" for k, v in cookies.items())
    tile = await client.fetch(origin + tile_path, headers={"Cookie": cookie}, raise_error=False,
                              request_timeout=120)
    assert tile.code == 200, tile.body[:300]
    assert tile.headers["Content-Type"] == "image/png" and tile.body[:4] == b"\x89PNG"
    anonymous = await client.fetch(origin + tile_path, raise_error=False)
    assert anonymous.code == 403
