"""jupyter_eo.connect outside the proxy: the channel session and the standalone embedded backend."""
from __future__ import annotations

import http.server
import json
import os
import stat
import threading
from pathlib import Path
from typing import Iterator

import pytest

from jupyter_eo import connection
from jupyter_eo.server.channel import ENV_SECRET, ENV_URL, SECRET_HEADER


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[tuple[str, dict]] = []
    redirect_to = ""

    def do_GET(self) -> None:  # noqa: N802
        type(self).seen.append((self.path, dict(self.headers)))
        if self.path.startswith("/base/jupyter-eo/openeo/local/away") and self.redirect_to:
            self.send_response(302)
            self.send_header("Location", self.redirect_to)
            self.end_headers()
            return
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
        pass


@pytest.fixture
def two_hosts() -> Iterator[tuple[str, str]]:
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder) for _ in range(2)]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for t in threads:
        t.start()
    _Recorder.seen = []
    yield tuple(f"http://127.0.0.1:{s.server_address[1]}/" for s in servers)  # type: ignore[misc]
    for s in servers:
        s.shutdown()
        s.server_close()


def test_secret_goes_only_to_the_proxy(two_hosts) -> None:
    server, other = two_hosts
    prefix = server + "base/jupyter-eo/openeo/local/"
    session = connection._channel_session(prefix, {SECRET_HEADER: "s3cret"})
    session.get(prefix + "collections")
    session.get(server + "base/api/contents")  # same host, outside the proxy
    session.get(other + "x", headers={SECRET_HEADER: "s3cret"})
    session.get(prefix + "../../api/contents")
    _Recorder.redirect_to = other + "landing"
    session.get(prefix + "away")
    headers = [(path, h.get(SECRET_HEADER)) for path, h in _Recorder.seen]
    assert headers[0] == ("/base/jupyter-eo/openeo/local/collections", "s3cret")
    assert all(value is None for _, value in headers[1:3])
    assert ("/base/jupyter-eo/openeo/local/away", "s3cret") in headers
    assert ("/landing", None) in headers  # followed by the client, without the secret
    assert not any(value and path.startswith(("/landing", "/x", "/base/api"))
                   for path, value in headers)


def test_browser_url_is_origin_relative(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_URL, "http://127.0.0.1:8888/user/a/")
    url = connection.proxy_url("local") + "services/s1/tiles/{z}/{x}/{y}"
    assert connection.browser_url(url) == "/user/a/jupyter-eo/openeo/local/services/s1/tiles/{z}/{x}/{y}"


def test_other_backends_need_jupyter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_URL, raising=False)
    monkeypatch.delenv(ENV_SECRET, raising=False)
    with pytest.raises(RuntimeError, match="only reachable from a Jupyter kernel"):
        connection.connect("cdse")
    with pytest.raises(ValueError):
        connection.connect("../x")


def test_standalone_backend_is_started_reused_and_stopped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, eo_cache_dir: str) -> None:
    monkeypatch.delenv(ENV_URL, raising=False)
    monkeypatch.delenv(ENV_SECRET, raising=False)
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("JUPYTER_EO_CACHE_DIR", eo_cache_dir)
    try:
        con = connection.connect("local")
        assert "SENTINEL2_L2A" in con.list_collection_ids()
        assert con.describe_account()["user_id"] == "local"
        state = tmp_path / "data" / "jupyter_eo" / "standalone-state" / "standalone.json"
        assert stat.S_IMODE(state.stat().st_mode) == 0o600
        assert stat.S_IMODE(state.parent.stat().st_mode) == 0o700
        first = json.loads(state.read_text())
        again = connection.connect("local")  # reuses the running backend
        assert again.list_collection_ids() == con.list_collection_ids()
        assert json.loads(state.read_text())["pid"] == first["pid"]
    finally:
        stopped = connection.stop_standalone()
    assert stopped
    with pytest.raises(OSError):
        os.kill(first["pid"], 0)
