"""UDF sandbox guarantees attacked through the official openeo client on ``jupyter-eo serve --udf``.

Every attack also runs against ``--udf-unsandboxed`` as the positive control: there it succeeds,
which shows each probe would notice a leak.
"""
from __future__ import annotations

import json
import os
import select
import signal
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import openeo
import pytest
import rasterio
from openeo.rest import OpenEoApiError
from rasterio.transform import from_origin
from serve_testlib import clean_env, cmdline, start_serve, stop_serve

from tests.support.udf_orphans import marker_pids, orphan_udf

USER, PASSWORD = "udf-tester", "pw-4f9d2c61e0"
LAB_SECRET = "lab-token-8c1e55aa"  # in the backend's environment and a credentials file
ARGV_MARKER = "argv-marker-0b7d3e"  # in the backend's command line

PROBE = """
import json, os
from openeo.udf import XarrayDataCube
def apply_datacube(cube: XarrayDataCube, context: dict) -> XarrayDataCube:
    report = {}
    for path in context["paths"]:
        try:
            with open(path, "rb") as handle:
                report[path] = handle.read(4096).decode("utf-8", "replace")
        except OSError as exc:
            report[path] = "DENIED " + type(exc).__name__
    report["environ"] = dict(os.environ)
    raise RuntimeError("REPORT " + json.dumps(report))
"""

CONNECT = """
import json, socket
from openeo.udf import XarrayDataCube
def apply_datacube(cube: XarrayDataCube, context: dict) -> XarrayDataCube:
    sock = socket.socket()
    sock.settimeout(5)
    try:
        sock.connect(("127.0.0.1", context["port"]))
        outcome = "CONNECTED"
    except OSError as exc:
        outcome = "FAILED " + type(exc).__name__
    raise RuntimeError("REPORT " + json.dumps(outcome))
"""

FORK_BOMB = """
import os
from openeo.udf import XarrayDataCube
def apply_datacube(cube: XarrayDataCube, context: dict) -> XarrayDataCube:
    while True:
        os.fork()
"""

MEMORY_HOG = """
from openeo.udf import XarrayDataCube
def apply_datacube(cube: XarrayDataCube, context: dict) -> XarrayDataCube:
    hoard = []
    while True:
        hoard.append(bytearray(256 * 2**20))
"""

IDENTITY = """
from openeo.udf import XarrayDataCube
def apply_datacube(cube: XarrayDataCube, context: dict) -> XarrayDataCube:
    return cube
"""

ORPHAN = orphan_udf("""\
    os.wait()
    deadline = time.monotonic() + 60
    while not os.path.exists("go") and time.monotonic() < deadline:
        time.sleep(0.05)
    return cube
""")


@dataclass
class Backend:
    proc: Any
    url: str
    tmpdir: Path

    def cube(self) -> Any:
        connection = openeo.connect(self.url).authenticate_basic(USER, PASSWORD)
        return connection.load_collection("tiny")


def write_tiny_tiff(folder: Path) -> None:
    folder.mkdir(parents=True)
    data = np.arange(16, dtype="uint16").reshape(1, 4, 4) + 1
    with rasterio.open(folder / "tiny.tif", "w", driver="GTiff", width=4, height=4, count=1,
                       dtype="uint16", crs="EPSG:32631",
                       transform=from_origin(500_000, 5_600_000, 10, 10)) as dst:
        dst.write(data)


@pytest.fixture(scope="module")
def backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Backend]]:
    root = tmp_path_factory.mktemp("udf-serve")
    write_tiny_tiff(root / "collections")
    started: dict[str, Backend] = {}
    try:
        for mode in ("--udf", "--udf-unsandboxed"):
            name = mode.strip("-")
            tmpdir = root / f"{name}-tmp"
            tmpdir.mkdir()
            env = clean_env(root)
            env.update(JUPYTER_EO_BACKEND_USER=USER, JUPYTER_EO_BACKEND_PASSWORD=PASSWORD,
                       LAB_API_TOKEN=LAB_SECRET, TMPDIR=str(tmpdir))
            proc, url = start_serve([mode, "--data-dir", str(root / f"{name}-{ARGV_MARKER}"),
                                     "--collections-dir", str(root / "collections")], env)
            started[name] = Backend(proc, url, tmpdir)
        yield started
    finally:
        for backend in started.values():
            stop_serve(backend.proc)


def report_of(cube: Any, code: str, context: dict) -> Any:
    """Run a UDF that raises ``RuntimeError("REPORT <json>")``; return the JSON."""
    udf = openeo.UDF(code, runtime="Python", context=context)
    with pytest.raises(OpenEoApiError) as info:
        cube.apply_dimension(process=udf, dimension="t").download(format="netCDF")
    assert info.value.code == "UdfError", info.value.message
    assert "REPORT " in info.value.message, info.value.message
    return json.loads(info.value.message.split("REPORT ", 1)[1])


@pytest.fixture(scope="module")
def credentials_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lab") / "credentials.json"
    path.write_text(json.dumps({"token": LAB_SECRET}))
    return path


def probe(backend: Backend, credentials_file: Path) -> dict[str, Any]:
    pid = backend.proc.pid
    paths = ["/etc/hostname", str(credentials_file), f"/proc/{pid}/cmdline",
             f"/proc/{pid}/environ", "udf.py"]
    return report_of(backend.cube(), PROBE, {"paths": paths})


def test_unsandboxed_udf_reads_secrets_positive_control(backends, credentials_file) -> None:
    report = probe(backends["udf-unsandboxed"], credentials_file)
    pid = backends["udf-unsandboxed"].proc.pid
    assert report["/etc/hostname"] == Path("/etc/hostname").read_text()
    assert LAB_SECRET in report[str(credentials_file)]
    assert ARGV_MARKER in report[f"/proc/{pid}/cmdline"]
    assert PASSWORD in report[f"/proc/{pid}/environ"]


def test_sandboxed_udf_reads_only_its_work_folder(backends, credentials_file) -> None:
    backend = backends["udf"]
    assert ARGV_MARKER.encode() in cmdline(backend.proc.pid)  # the secret to protect is there
    report = probe(backend, credentials_file)
    pid = backend.proc.pid
    assert "def apply_datacube" in report["udf.py"]  # its own folder is readable
    for path in ("/etc/hostname", str(credentials_file), f"/proc/{pid}/cmdline",
                 f"/proc/{pid}/environ"):
        assert report[path] == "DENIED FileNotFoundError", (path, report[path])


def test_sandboxed_udf_environment_has_no_secret(backends, credentials_file) -> None:
    environ = probe(backends["udf"], credentials_file)["environ"]
    assert "HOME" in environ and "PATH" in environ  # the report itself works
    values = " ".join(f"{k}={v}" for k, v in environ.items())
    for secret in (PASSWORD, LAB_SECRET, USER):
        assert secret not in values
    assert not [k for k in environ if k.startswith(("JUPYTER", "OPENEO", "AWS", "LAB_"))]


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield server
    server.close()


def accepted_within(server: socket.socket, seconds: float) -> bool:
    ready, _, _ = select.select([server], [], [], seconds)
    if ready:
        conn, _ = server.accept()
        conn.close()
    return bool(ready)


def test_sandboxed_udf_has_no_network(backends, listener) -> None:
    port = listener.getsockname()[1]
    with socket.create_connection(("127.0.0.1", port), timeout=5):  # the listener works
        assert accepted_within(listener, 10)
    outcome = report_of(backends["udf-unsandboxed"].cube(), CONNECT, {"port": port})
    assert outcome == "CONNECTED" and accepted_within(listener, 10)  # positive control
    outcome = report_of(backends["udf"].cube(), CONNECT, {"port": port})
    assert outcome.startswith("FAILED OSError") or outcome.startswith("FAILED Connection")
    # the UDF's connect() returned before the answer: a connection would already be queued
    assert not accepted_within(listener, 0.5)


@pytest.mark.parametrize("code, expected", [(FORK_BOMB, "BlockingIOError"),
                                            (MEMORY_HOG, "MemoryError")])
def test_sandboxed_fork_bomb_and_memory_hog_end_as_udf_errors(backends, code, expected) -> None:
    backend = backends["udf"]
    udf = openeo.UDF(code, runtime="Python")
    started = time.monotonic()
    with pytest.raises(OpenEoApiError) as info:
        backend.cube().apply_dimension(process=udf, dimension="t").download(format="netCDF")
    assert info.value.code == "UdfError" and expected in info.value.message
    assert time.monotonic() - started < 55  # not the 60 s timeout
    # the backend still answers, and still runs UDFs
    ok = openeo.UDF(IDENTITY, runtime="Python")
    result = backend.cube().apply_dimension(process=ok, dimension="t").download(format="netCDF")
    assert result[:3] in (b"CDF", b"\x89HD")


def alive(pid: int, marker: str) -> bool:
    try:
        return marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def run_orphan_udf(backend: Backend) -> tuple[list[int], str]:
    """Run ORPHAN; wait (polling, deadline) until its setsid'ed grandchild runs, release the
    UDF, wait for the request; return the grandchild's host pids."""
    marker = f"orphan-{uuid.uuid4().hex}"
    udf = openeo.UDF(ORPHAN, runtime="Python", context={"marker": marker})
    errors: list[BaseException] = []

    def request() -> None:
        try:
            backend.cube().apply_dimension(process=udf, dimension="t").download(format="netCDF")
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)

    thread = threading.Thread(target=request)
    thread.start()
    deadline = time.monotonic() + 90
    pids: list[int] = []
    while not pids and time.monotonic() < deadline and thread.is_alive():
        pids = marker_pids(marker)
        time.sleep(0.05)
    assert pids, "the grandchild never started (positive control)"
    for work in backend.tmpdir.glob("jeo-udf-*/work"):
        (work / "go").touch()
    thread.join(120)
    assert not thread.is_alive() and not errors, errors
    return pids, marker


def test_unsandboxed_setsid_grandchild_survives_positive_control(backends) -> None:
    pids, marker = run_orphan_udf(backends["udf-unsandboxed"])
    try:
        assert any(alive(pid, marker) for pid in pids)
    finally:
        for pid in pids:
            if alive(pid, marker):
                os.kill(pid, signal.SIGKILL)


def test_sandboxed_setsid_grandchild_dies_with_the_udf(backends) -> None:
    pids, marker = run_orphan_udf(backends["udf"])
    deadline = time.monotonic() + 10
    while any(alive(pid, marker) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid, marker) for pid in pids)
