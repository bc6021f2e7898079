"""The embedded backend (a loopback child) is always reached directly, even when the environment
sends every egress through a forward proxy without a NO_PROXY entry for loopback."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from tornado.httpclient import AsyncHTTPClient

from tests.support.forward_proxy import forward_proxy


@pytest.fixture
def fwd(monkeypatch):  # type: ignore[no-untyped-def]
    with forward_proxy() as proxy:
        for name in ("NO_PROXY", "no_proxy", "http_proxy", "https_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        yield proxy


@pytest.fixture
def jp_server_config(fwd, tmp_path: Path, eo_cache_dir: str, monkeypatch) -> dict:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("JUPYTER_EO_CACHE_DIR", eo_cache_dir)  # inherited by the child
    return {"ServerApp": {"jpserver_extensions": {"jupyter_eo": True}},
            "JupyterEOApp": {"local_backend_dir": str(tmp_path / "local"),
                             "credentials_dir": str(tmp_path / "creds")}}


async def test_local_child_bypasses_the_egress_proxy(jp_serverapp, http_server, jp_http_port,
                                                     jp_base_url, jp_auth_header, fwd) -> None:
    supervisor = jp_serverapp.web_app.settings["jupyter_eo_supervisor"]
    try:
        answer = await AsyncHTTPClient().fetch(
            f"http://127.0.0.1:{jp_http_port}{jp_base_url}jupyter-eo/openeo/local/collections",
            headers=jp_auth_header, request_timeout=180)
        ids = [c["id"] for c in json.loads(answer.body)["collections"]]
        assert "SENTINEL2_L2A" in ids
        # the answer is complete: a proxied exchange would have been recorded before forwarding
        assert fwd.requests == []
    finally:
        await supervisor.stop()
