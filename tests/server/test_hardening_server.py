"""Server-extension hardening (issue 14): Jupyter's credentials never forwarded, early refusals keep
keep-alive clients working, async authorizers honoured, a bad config never makes the server unkillable."""
from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jupyter_server.auth.authorizer import Authorizer
from tornado.httpclient import AsyncHTTPClient


class DenyAllAsync(Authorizer):
    """An async authorizer that refuses everything (as a hub's RBAC might, after a lookup)."""

    async def is_authorized(self, handler, user, action, resource) -> bool:  # type: ignore[no-untyped-def, override]
        await asyncio.sleep(0)
        return False


@pytest.fixture
def deny_all(request) -> bool:  # type: ignore[no-untyped-def]
    return bool(getattr(request, "param", False))


@pytest.fixture
def jp_server_config(eo_proxy_config, deny_all) -> dict:  # type: ignore[no-untyped-def]
    config = {"ServerApp": {"jpserver_extensions": {"jupyter_eo": True}},
              "JupyterEOApp": eo_proxy_config}
    if deny_all:
        config["ServerApp"]["authorizer_class"] = DenyAllAsync
    return config


# -- 2: Jupyter's token and _xsrf never reach the upstream --------------------------------------
async def test_proxy_strips_jupyter_credentials_from_forwarded_queries(
        jp_serverapp, http_server, jp_http_port, jp_base_url, other_upstream) -> None:
    token = jp_serverapp.identity_provider.token
    assert token
    base = f"http://127.0.0.1:{jp_http_port}{jp_base_url}jupyter-eo/openeo/open/"
    client = AsyncHTTPClient()
    # authenticated by the token in the query string, as a copied lab URL would be
    answer = await client.fetch(f"{base}collections?limit=2&token={token}&_xsrf=x1&%74oken={token}"
                                f"&bbox=1,2",
                                raise_error=False)
    assert answer.code == 200, answer.body
    hit = other_upstream.hits[-1]
    assert hit.path == "/collections"
    assert hit.query == "limit=2&bbox=1,2"
    assert token not in json.dumps([h.__dict__ for h in other_upstream.hits], default=str)


def test_strip_jupyter_params_keeps_everything_else() -> None:
    from jupyter_eo.server.paths import strip_jupyter_params

    assert strip_jupyter_params("token=a&tokens=b&x_token=c&_xsrf=d&_xsrf2=e&q=token") == \
        "tokens=b&x_token=c&_xsrf2=e&q=token"
    assert strip_jupyter_params("%5Fxsrf=1&tok%65n=2&a=1") == "a=1"
    assert strip_jupyter_params("") == ""


# -- 7: an early refusal does not break the next keep-alive request -----------------------------
def _two_requests_on_one_connection(port: int, prefix: str, first: tuple[str, str, bytes | None],
                                    token: str) -> tuple[int, str | None, int]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        method, path, body = first
        conn.request(method, prefix + path, body=body,
                     headers={"Content-Type": "application/json"} if body else {})
        response = conn.getresponse()
        response.read()
        first_status, connection_header = response.status, response.getheader("Connection")
        # a keep-alive client reuses the socket unless told "Connection: close"
        conn.request("GET", prefix + "api/status", headers={"Authorization": f"token {token}"})
        second = conn.getresponse()
        second.read()
        return first_status, connection_header, second.status
    finally:
        conn.close()


@pytest.mark.parametrize("first", [
    ("GET", "jupyter-eo/openeo/open/collections", None),
    ("POST", "jupyter-eo/openeo/open/result", b'{"process": {"process_graph": {}}}'),
    ("POST", "jupyter-eo/openeo/nope/result", b'{"x": 1}'),
])
async def test_early_refusal_keeps_keep_alive_clients_working(
        jp_serverapp, http_server, jp_http_port, jp_base_url, first) -> None:
    token = jp_serverapp.identity_provider.token
    status, connection, second = await asyncio.to_thread(
        _two_requests_on_one_connection, jp_http_port, jp_base_url, first, token)
    assert status == 403
    assert second == 200
    assert connection == "close"


# -- 9: authorization through jupyter_server's decorator, async authorizers awaited -----------
@pytest.mark.parametrize("deny_all", [True], indirect=True)
@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "jupyter-eo/api/status", None),
    ("GET", "jupyter-eo/api/backends", None),
    ("POST", "jupyter-eo/api/backends", {"url": "http://127.0.0.1:9/"}),
    ("GET", "jupyter-eo/api/backends/fakebasic", None),
    ("GET", "jupyter-eo/api/backends/fakebasic/login", None),
    ("POST", "jupyter-eo/api/backends/fakebasic/login", {"username": "alice",
                                                         "password": "wonderland-pw"}),
    ("POST", "jupyter-eo/api/discover", {"url": "http://127.0.0.1:9/"}),
    ("GET", "jupyter-eo/openeo/open/collections", None),
    ("POST", "jupyter-eo/openeo/open/result", {}),
    ("GET", "jupyter-eo/basemap/0/0/0.png", None),
    ("GET", "api/contents", None),  # jupyter_server's own route, for comparison
])
async def test_async_deny_all_authorizer_refuses_every_route(
        jp_serverapp, http_server, jp_http_port, jp_base_url, jp_auth_header, upstream,
        other_upstream, deny_all, method, path, body) -> None:
    client = AsyncHTTPClient()
    answer = await client.fetch(f"http://127.0.0.1:{jp_http_port}{jp_base_url}{path}",
                                method=method, headers=jp_auth_header, raise_error=False,
                                body=None if body is None else json.dumps(body),
                                allow_nonstandard_methods=True)
    assert answer.code == 403, (path, answer.body)
    assert upstream.hits == [] and other_upstream.hits == []


# -- 10: a bad configuration gives one clear error; SIGTERM still stops the server ----------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_server(tmp: Path, config: str) -> tuple[int | None, str, float]:
    """Start ``jupyter server`` with ``config``; wait until it answers; SIGTERM; (rc, log, s)."""
    for sub in ("cfg", "data", "runtime", "root"):
        (tmp / sub).mkdir(exist_ok=True)
    (tmp / "cfg" / "jupyter_server_config.py").write_text(config)
    port = _free_port()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp / "cfg"), "JUPYTER_DATA_DIR": str(tmp / "data"),
           "JUPYTER_RUNTIME_DIR": str(tmp / "runtime")}
    log_path = tmp / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
             "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
             f"--ServerApp.root_dir={tmp / 'root'}", "--IdentityProvider.token=t0k"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert proc.poll() is None, log_path.read_text()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/api/status", headers={"Authorization": "token t0k"})
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError("server did not start:\n" + log_path.read_text())
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            rc = None
        return rc, log_path.read_text(), time.monotonic() - started
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def test_typo_in_backends_is_one_clear_error_and_sigterm_stops_the_server(tmp_path) -> None:
    rc, log, took = _run_server(tmp_path, "\n".join([
        'c.ServerApp.jpserver_extensions = {"jupyter_eo": True}',
        'c.JupyterEOApp.enable_local_backend = False',
        'c.JupyterEOApp.backends = {"cdse": {"uri": "https://openeo.example.org/"},',
        '                           "ok": {"url": "https://openeo.example.org/"}}',
    ]))
    assert rc is not None, f"SIGTERM did not stop the server:\n{log}"
    assert "AttributeError" not in log and "Traceback" not in log, log
    errors = [line for line in log.splitlines() if "unknown keys" in line]
    assert len(errors) == 1, log
    assert "c.JupyterEOApp.backends: backend 'cdse': unknown keys ['uri']" in errors[0]
    assert "jupyter_eo | extension was successfully loaded" in log


def test_failed_extension_load_leaves_the_server_stoppable(tmp_path) -> None:
    rc, log, took = _run_server(tmp_path, "\n".join([
        'c.ServerApp.jpserver_extensions = {"jupyter_eo": True}',
        'c.JupyterEOApp.local_backend_job_workers = 99',  # refused: the extension cannot load
    ]))
    assert "local_backend_job_workers must be from 1 to 32" in log
    assert rc is not None, f"SIGTERM did not stop the server:\n{log}"
    assert "AttributeError" not in log, log
