"""A local backend that cannot start: a clear 502 openEO error and an error state, no hang."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError


@pytest.fixture
def jp_server_config(tmp_path: Path) -> dict:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_eo": True}},
            "JupyterEOApp": {"local_backend_dir": str(tmp_path / "local"),
                             "local_backend_args": ["--no-such-option"],
                             "credentials_dir": str(tmp_path / "creds")}}


async def test_child_that_fails_to_start_is_reported(jp_fetch, jp_serverapp) -> None:
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("jupyter-eo", "openeo", "local", "collections")
    assert err.value.code == 502
    body = json.loads(err.value.response.body)
    assert body["code"] == "BadGateway" and "did not start" in body["message"]
    backends = json.loads((await jp_fetch("jupyter-eo", "api", "backends")).body)["backends"]
    local = next(b for b in backends if b["id"] == "local")
    assert local["state"] == "error" and "did not start" in local["error"]
    supervisor = jp_serverapp.web_app.settings["jupyter_eo_supervisor"]
    assert not supervisor.running
