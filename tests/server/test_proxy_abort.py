"""A client leaving while the upstream still computes (no headers yet) makes the proxy hang up
upstream, so the backend sees the disconnect and can stop."""
from __future__ import annotations

import asyncio
import time

import pytest


@pytest.fixture
def jp_server_config(eo_proxy_config) -> dict:  # type: ignore[no-untyped-def]
    # a request timeout far from the hang-up: the test tells "hung up because the client
    # left" from "timed out" by a margin no machine load can close
    return {"ServerApp": {"jpserver_extensions": {"jupyter_eo": True}},
            "JupyterEOApp": {**eo_proxy_config, "proxy_request_timeout": 20.0}}


async def _hang_up_after(port: int, path: str, auth: str, seconds: float) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = b'{"process": {}}'
    writer.write((f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: {auth}\r\n"
                  f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
                 + body)
    await writer.drain()
    await asyncio.sleep(seconds)
    writer.close()


async def test_client_gone_before_headers_hangs_up_upstream(jp_serverapp, http_server, jp_http_port,
                                                            jp_base_url, jp_auth_header,
                                                            other_upstream) -> None:
    from tornado.httpclient import AsyncHTTPClient

    path = f"{jp_base_url}jupyter-eo/openeo/open/slow?s=20"
    await _hang_up_after(jp_http_port, path, jp_auth_header["Authorization"], 0.3)
    left = time.monotonic()
    while not other_upstream.hung_up and time.monotonic() < left + 15:
        await asyncio.sleep(0.01)
    seen = time.monotonic() - left
    # seen at once, not at the proxy's 20 s request timeout nor the upstream's 20 s answer
    assert other_upstream.hung_up == ["/slow"] and seen < 5, seen
    # the proxy (and its upstream client pool) still works
    response = await AsyncHTTPClient().fetch(
        f"http://127.0.0.1:{jp_http_port}{jp_base_url}jupyter-eo/openeo/open/things",
        headers=jp_auth_header, raise_error=False)
    assert response.code == 200
