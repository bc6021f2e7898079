"""Memory of a request (issue 14.1): the estimate before any work, the streaming GeoTIFF writer,
the guard that turns a runaway into a clean error, and the budget's CLI flag."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Iterator

import psutil
import pytest
import requests

from backend_testlib import PASSWORD, USER, make_config
from jupyter_eo.backend.limits import Limits
from jupyter_eo.backend.testing import serve_in_thread

REPO = Path(__file__).resolve().parents[2]
BOX_400M = {"west": 11.0, "south": 46.0, "east": 11.0052, "north": 46.0036}  # ~400 m x 400 m

WRITER_SCRIPT = textwrap.dedent("""
    import json, sys, tempfile
    from pathlib import Path
    import dask.array as da, numpy as np, pandas as pd, psutil, xarray as xr
    from jupyter_eo.backend.cube import set_crs
    from jupyter_eo.backend.formats import write_result

    dates, bands = int(sys.argv[1]), 15
    data = da.random.random((dates, bands, 41, 41), chunks=(1, bands, 41, 41)).astype("float32")
    cube = set_crs(xr.DataArray(data, dims=("t", "bands", "y", "x"), coords={
        "t": pd.date_range("2020-01-01", periods=dates, freq="5D"),
        "bands": [f"B{i:02d}" for i in range(bands)],
        "y": 5_100_000.0 - 10 * np.arange(41), "x": 600_000.0 + 10 * np.arange(41)}),
        "EPSG:32632")
    before = psutil.Process().memory_info().rss
    written = write_result(cube, "GTiff", {}, Path(tempfile.mkdtemp()))
    # VmHWM: this process's own peak (ru_maxrss would start from the forking parent's RSS)
    status = Path("/proc/self/status").read_text().split("VmHWM:")[1]
    peak = int(status.split()[0]) * 1024
    import rasterio
    with rasterio.open(written.path) as src:
        print(json.dumps({"growth": peak - before, "count": src.count}))
""")


def _writer_growth(dates: int) -> dict:
    out = subprocess.run([sys.executable, "-c", WRITER_SCRIPT, str(dates)], cwd=REPO,
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "GDAL_CACHEMAX": "128"})
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_gtiff_writer_memory_does_not_grow_with_the_layers() -> None:
    """Issue 14.1: the COG conversion held a pixel-interleaved tile of every layer (~2 MB per
    float32 layer: 1 year of all bands took 2,385 MB). 40 dates x 15 bands = 600 layers of
    41 x 41 pixels (3.9 MB of data) took ~1.2 GB; the writer now streams."""
    result = _writer_growth(40)
    assert result["count"] == 600
    assert result["growth"] < 150 * 1024 * 1024, result


# -- the one-liner through the official client against ``jupyter-eo serve`` -------------------

READY_PREFIX = "jupyter-eo: serving openEO API at "


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[tuple[str, psutil.Process]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_EO_")}
    env.update(JUPYTER_EO_CACHE_DIR=str(tmp_path / "cache"), JUPYTER_EO_BACKEND_USER=USER,
               JUPYTER_EO_BACKEND_PASSWORD=PASSWORD, JUPYTER_EO_MAX_REQUEST_MEMORY="200M")
    proc = subprocess.Popen([sys.executable, "-m", "jupyter_eo.cli", "serve", "--port", "0",
                             "--data-dir", str(tmp_path / "state")], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline().strip()  # type: ignore[union-attr]
        assert line.startswith(READY_PREFIX), line
        yield line[len(READY_PREFIX):], psutil.Process(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def test_beginners_one_liner_over_budget_is_refused_within_1s(
        serve: tuple[str, psutil.Process], tmp_path: Path) -> None:
    """Issue 14.1: ``load_collection("SENTINEL2_L2A", spatial_extent=<400 m>).download(...)``
    (no dates, no bands: ~10 years x 15 bands = 10,890 output layers) grew to 12-14 GB until
    the OOM killer ended the backend. With a budget below its estimate (200 MB here, set by
    ``$JUPYTER_EO_MAX_REQUEST_MEMORY``) it answers 413 within 1 s, saying what to narrow, and
    the backend's memory is unchanged."""
    import openeo
    from openeo.rest import OpenEoApiError

    url, backend = serve
    con = openeo.connect(url)
    con.authenticate_basic(USER, PASSWORD)
    con.describe_collection("SENTINEL2_L2A")  # warm up: catalog built, processes loaded
    cube = con.load_collection("SENTINEL2_L2A", spatial_extent=BOX_400M)
    timings = []
    for _ in range(3):  # best of 3: one scheduling stall on a shared 2-core machine is not us
        before = backend.memory_info().rss
        started = time.monotonic()
        with pytest.raises(OpenEoApiError) as raised:
            cube.download(tmp_path / "x.tif")
        timings.append(time.monotonic() - started)
        after = backend.memory_info().rss
        assert raised.value.http_status_code == 413
        assert raised.value.code == "PayloadTooLarge"
        message = raised.value.message
        for advice in ("fewer dates", "fewer bands", "smaller area", "MB of memory"):
            assert advice in message, message
        assert abs(after - before) < 20 * 1024 * 1024, (before, after)
    assert not (tmp_path / "x.tif").exists()
    assert min(timings) < 1.0, timings


# -- the guard: a runaway the estimate cannot see becomes a clean error ------------------------

@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    limits = Limits(max_request_bytes=150 * 1024 * 1024, sync_timeout_s=120,
                    max_body_bytes=2 * 1024 * 1024)
    with serve_in_thread(make_config(tmp_path / "state", limits=limits)) as url:
        token = requests.get(url + "credentials/basic", auth=(USER, PASSWORD)).json()
        yield url, {"Authorization": f"Bearer basic//{token['access_token']}"}


def test_runaway_is_stopped_by_the_memory_guard(guarded: tuple[str, dict[str, str]]) -> None:
    """Upsampling 10x (100x the values) and saving as JSON materialises ~5.8 million values as
    Python objects, far more memory than the loaded data the estimate sees: the guard stops
    it with a 413 instead of letting the process grow (an OOM kill on a small machine)."""
    url, auth = guarded
    graph = {
        "l": {"process_id": "load_collection", "arguments": {
            "id": "TEST_S2", "spatial_extent": None, "temporal_extent": None}},
        "r": {"process_id": "resample_spatial", "arguments": {
            "data": {"from_node": "l"}, "resolution": 1.0}},
        "s": {"process_id": "save_result", "arguments": {
            "data": {"from_node": "r"}, "format": "JSON"}, "result": True}}
    process = psutil.Process()
    answer = requests.post(url + "result", json={"process": {"process_graph": graph}},
                           headers=auth, timeout=180)
    assert answer.status_code == 413, answer.text[:300]
    error = answer.json()
    assert error["code"] == "PayloadTooLarge"
    assert "memory limit" in error["message"]
    # the server still answers, and the next request runs normally
    small = {**graph, "r": {"process_id": "filter_bands", "arguments": {
        "data": {"from_node": "l"}, "bands": ["B04"]}}}
    again = requests.post(url + "result", json={"process": {"process_graph": small}},
                          headers=auth, timeout=120)
    assert again.status_code == 200, again.text[:300]
    assert process.is_running()


# -- configuration ----------------------------------------------------------------------------

def test_budget_from_cli_flag_and_environment(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from jupyter_eo.backend.__main__ import add_serve_arguments, config_from_args

    def config(*argv: str):
        parser = argparse.ArgumentParser()
        add_serve_arguments(parser)
        return config_from_args(parser.parse_args(["--data-dir", str(tmp_path), *argv]))

    monkeypatch.delenv("JUPYTER_EO_MAX_REQUEST_MEMORY", raising=False)
    assert config().limits.max_request_bytes == Limits().max_request_bytes == 2 * 1024 ** 3
    assert config("--max-request-memory", "512M").limits.max_request_bytes == 512 * 1024 ** 2
    monkeypatch.setenv("JUPYTER_EO_MAX_REQUEST_MEMORY", "1.5G")
    assert config().limits.max_request_bytes == int(1.5 * 1024 ** 3)
    with pytest.raises(SystemExit):
        config("--max-request-memory", "lots")
