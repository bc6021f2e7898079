"""Hardening of the embedded backend (issue 14): logging levels, chunked bodies, non-finite
extents, staging folders left by a killed run."""
from __future__ import annotations

import json
import math
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse

import pytest
import requests

from backend_testlib import USER, basic_auth_headers, make_config
from jupyter_eo.backend.testing import serve_in_thread

TESTS_DIR = Path(__file__).resolve().parent
REPO = TESTS_DIR.parents[1]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_in_thread(make_config(tmp_path_factory.mktemp("hardening"))) as url:
        yield url


@pytest.fixture(scope="module")
def auth(base: str) -> dict[str, str]:
    return basic_auth_headers(base)


# -- item 6: a computation never changes logging levels of other libraries ------------------

LOGGING_SCRIPT = textwrap.dedent("""
    import json, logging, sys, tempfile
    from pathlib import Path
    import requests
    from backend_testlib import LOAD_SAVE_GTIFF, basic_auth_headers, make_config
    from jupyter_eo.backend.testing import serve_in_thread

    names = ["tornado", "tornado.access", "tornado.application", "tornado.general", "bokeh"]

    def state():
        return {n: [logging.getLogger(n).level, logging.getLogger(n).propagate,
                    len(logging.getLogger(n).handlers)] for n in names}

    before = state()
    with serve_in_thread(make_config(Path(tempfile.mkdtemp()))) as url:
        headers, graph = basic_auth_headers(url), LOAD_SAVE_GTIFF
        answer = requests.post(url + "result", json=graph, headers=headers, timeout=120)
        assert answer.status_code == 200, answer.text
        after = state()
        print(json.dumps({"before": before, "after": after,
                          "tornado_effective": logging.getLogger("tornado.access")
                          .getEffectiveLevel()}))
""")


def test_a_computation_leaves_other_loggers_alone() -> None:
    """Issue 14.6: dask imported ``distributed`` on the first computation, whose logging set-up
    set the ``tornado`` logger to CRITICAL (4xx/5xx access lines vanished). Run in a fresh
    interpreter: the import happens once per process."""
    out = subprocess.run([sys.executable, "-c", LOGGING_SCRIPT], cwd=TESTS_DIR, timeout=240,
                         capture_output=True, text=True,
                         env={**__import__("os").environ, "PYTHONPATH": f"{TESTS_DIR}:{REPO}"})
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["after"] == result["before"]
    assert result["tornado_effective"] == 30  # WARNING (root's default): 4xx lines are logged


# -- item 8: chunked oversized bodies, non-finite extents --------------------------------------

def _raw_chunked_post(url: str, path: str, headers: dict[str, str], total: int) -> tuple[int, bytes]:
    """POST ``total`` bytes with chunked transfer encoding; return (status, body)."""
    parsed = urlparse(url)
    sock = socket.create_connection((parsed.hostname, parsed.port), timeout=30)
    try:
        head = [f"POST {path} HTTP/1.1", f"Host: {parsed.hostname}:{parsed.port}",
                "Content-Type: application/json", "Transfer-Encoding: chunked"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        chunk = b"[" + b"1," * (256 * 1024) + b"1]"
        sent = 0
        try:
            while sent < total:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before the whole body is sent
        data = b""
        try:
            while True:
                part = sock.recv(65536)
                if not part:
                    break
                data += part
                if b"\r\n\r\n" in data:
                    header, _, rest = data.partition(b"\r\n\r\n")
                    length = [int(line.split(b":")[1]) for line in header.split(b"\r\n")
                              if line.lower().startswith(b"content-length:")]
                    if length and len(rest) >= length[0]:
                        break
        except ConnectionResetError:
            pass
    finally:
        sock.close()
    assert data, "no answer at all (connection reset)"
    header, _, body = data.partition(b"\r\n\r\n")
    return int(header.split(b" ")[1]), body


def test_oversized_chunked_body_gets_the_json_413(base: str, auth: dict[str, str]) -> None:
    """Issue 14.8: a chunked 50 MB body got a bare 400 and a reset after 37 MiB."""
    status, body = _raw_chunked_post(base, "/result", auth, 50 * 1024 * 1024)
    assert status == 413
    error = json.loads(body)
    assert error["code"] == "PayloadTooLarge"
    assert "limit" in error["message"]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_extent_is_a_400_not_a_413(base: str, auth: dict[str, str], bad: float) -> None:
    """Issue 14.8: NaN/±Inf in an extent gave 413 "about 361,355,142,891,645 values"."""
    extent = {"west": 500_000.0, "south": 5_599_500.0, "east": bad, "north": 5_600_000.0,
              "crs": 32631}
    graph = {"process": {"process_graph": {
        "l": {"process_id": "load_collection", "arguments": {"id": "TEST_S2",
                                                             "spatial_extent": extent,
                                                             "temporal_extent": None}},
        "s": {"process_id": "save_result", "arguments": {"data": {"from_node": "l"},
                                                         "format": "GTiff"}, "result": True}}}}
    body = json.dumps(graph, allow_nan=True)  # NaN/Infinity literals, as Python's json accepts
    answer = requests.post(base + "result", data=body, headers={
        **auth, "Content-Type": "application/json"}, timeout=30)
    assert answer.status_code == 400, answer.text
    error = answer.json()
    assert error["code"] in ("ProcessParameterInvalid", "BadRequest")
    assert "finite" in error["message"]


# -- item 8: a run killed with SIGKILL leaves no staging folder after the next start -------

KILLED_RUN_SCRIPT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import requests
    from backend_testlib import LOAD_SAVE_GTIFF, ArrayCatalog, basic_auth_headers, make_config
    from jupyter_eo.backend.testing import serve_in_thread

    with serve_in_thread(make_config(Path(sys.argv[1]), catalog=ArrayCatalog(slow=True))) as url:
        headers, graph = basic_auth_headers(url), LOAD_SAVE_GTIFF
        answer = requests.post(url + "jobs", json=graph, headers=headers)
        job_id = answer.headers["OpenEO-Identifier"]
        requests.post(url + f"jobs/{job_id}/results", headers=headers).raise_for_status()
        print(job_id, flush=True)
        time.sleep(3600)  # killed by the test
""")


def test_staging_folder_of_a_killed_run_is_removed_at_start(tmp_path: Path) -> None:
    """Issue 14.8: a run killed with SIGKILL left its staging folder until the job was deleted."""
    import os
    import signal
    import time

    from jupyter_eo.backend.app import Backend

    data_dir = tmp_path / "state"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_RUN_SCRIPT, str(data_dir)],
                            cwd=TESTS_DIR, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": f"{TESTS_DIR}:{REPO}"})
    try:
        job_id = proc.stdout.readline().strip()  # type: ignore[union-attr]
        assert job_id, "the backend did not start the job"
        jobs_dir = data_dir / "users" / USER / "jobs"
        deadline = time.monotonic() + 60
        while not list(jobs_dir.glob(f".{job_id}.run-*")):  # the run has begun writing
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    assert list(jobs_dir.glob(f".{job_id}.run-*"))  # the killed run's folder is still there
    backend = Backend(make_config(data_dir))
    try:
        assert list(jobs_dir.glob(".*.run-*")) == []
        assert backend.jobs.get(USER, job_id)["status"] == "error"  # reported as interrupted
    finally:
        backend.close()


# -- item 5: processes that create data are bounded before any work ---------------------------

def _sync(base: str, auth: dict[str, str], graph: dict) -> tuple[requests.Response, float]:
    import time

    started = time.monotonic()
    answer = requests.post(base + "result", json={"process": {"process_graph": graph}},
                           headers=auth, timeout=120)
    return answer, time.monotonic() - started


def _chain(process_id: str, arguments: dict, doublings: int) -> dict:
    """``doublings`` nodes, each joining the previous result with itself."""
    graph = {"n0": {"process_id": process_id, "arguments": arguments}}
    for i in range(1, doublings + 1):
        ref = {"from_node": f"n{i - 1}"}
        args = ({"array1": ref, "array2": ref} if process_id == "array_concat"
                else {"data": [ref, ref]})
        graph[f"n{i}"] = {"process_id": process_id, "arguments": args}
    graph[f"n{doublings}"]["result"] = True
    return graph


GENERATORS = {
    "array_create repeat": {"a": {"process_id": "array_create", "arguments": {
        "data": [1], "repeat": 30_000_000}, "result": True}},
    "array_concat doubling": _chain("array_concat", {"array1": [1] * 1000, "array2": [2] * 1000},
                                    40),
    "text_concat doubling": _chain("text_concat", {"data": ["abcdefgh" * 1000]}, 40),
    "array_create per pixel": {
        "l": {"process_id": "load_collection", "arguments": {
            "id": "TEST_S2", "spatial_extent": None, "temporal_extent": None}},
        "r": {"process_id": "apply_dimension", "arguments": {
            "data": {"from_node": "l"}, "dimension": "t", "process": {"process_graph": {
                "c": {"process_id": "array_create", "arguments": {
                    "data": {"from_parameter": "data"}, "repeat": 100_000},
                      "result": True}}}}},
        "s": {"process_id": "save_result", "arguments": {"data": {"from_node": "r"},
                                                         "format": "netCDF"}, "result": True}},
}


@pytest.mark.parametrize("name", list(GENERATORS))
def test_data_creating_processes_are_bounded(base: str, auth: dict[str, str], name: str) -> None:
    """Issue 14.5: ``array_create(repeat=30_000_000)`` ran 27 s and took 632 MB."""
    answer, seconds = _sync(base, auth, GENERATORS[name])
    assert answer.status_code == 413, answer.text[:300]
    error = answer.json()
    assert error["code"] == "PayloadTooLarge"
    assert "limit" in error["message"]
    assert seconds < 5  # refused before the work (the work took 27 s and more)


def test_early_refusal_says_connection_close(base: str, auth: dict[str, str]) -> None:
    """A body refused by its declared size is never read: tornado closes the connection after
    the answer, so the answer says ``Connection: close`` (a keep-alive client would otherwise
    send its next request into a closed connection)."""
    parsed = urlparse(base)
    sock = socket.create_connection((parsed.hostname, parsed.port), timeout=30)
    try:
        head = [f"POST /result HTTP/1.1", f"Host: {parsed.hostname}:{parsed.port}",
                "Content-Type: application/json", f"Content-Length: {50 * 1024 * 1024}",
                *(f"{k}: {v}" for k, v in auth.items())]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    finally:
        sock.close()
    header, _, body = data.partition(b"\r\n\r\n")
    assert header.split(b" ")[1] == b"413"
    assert b"\r\nconnection: close" in header.lower()
    assert json.loads(body)["code"] == "PayloadTooLarge"
