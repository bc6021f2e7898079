"""The status route and the kernel channel (URL under base_url, secret header auth)."""
from __future__ import annotations

import json
import os

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_eo.server.channel import ENV_SECRET, ENV_URL, SECRET_HEADER


async def test_status_reports_version(jp_fetch) -> None:
    response = await jp_fetch("jupyter-eo", "api", "status")
    assert response.code == 200
    body = json.loads(response.body)
    assert body["name"] == "jupyter_eo"
    assert isinstance(body["version"], str) and body["version"]
    assert body["kernel"] is False


async def test_kernel_secret_authenticates_without_token(jp_fetch, jp_serverapp) -> None:
    secret = os.environ[ENV_SECRET]
    response = await jp_fetch("jupyter-eo", "api", "status",
                              headers={"Authorization": "", SECRET_HEADER: secret})
    assert json.loads(response.body)["kernel"] is True
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("jupyter-eo", "api", "status",
                       headers={"Authorization": "", SECRET_HEADER: secret[:-1] + "x"})
    assert err.value.code == 403


@pytest.fixture
def jp_base_url() -> str:
    return "/user/alice/"


async def test_kernel_url_includes_base_url(jp_fetch, jp_serverapp, jp_http_port) -> None:
    url = os.environ[ENV_URL]
    assert url == f"http://127.0.0.1:{jp_http_port}/user/alice/"
    # and the kernel-side helper reads exactly that
    from jupyter_eo.connection import server_url

    assert server_url() == url
    response = await jp_fetch("jupyter-eo", "api", "status")
    assert response.code == 200
