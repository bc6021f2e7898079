"""A Jupyter server with jupyter_eo enabled: its config and a JSON client for its routes."""
from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Awaitable, Callable

from tornado.httpclient import AsyncHTTPClient, HTTPResponse


def eo_server_config(eo_config: dict[str, Any]) -> dict[str, Any]:
    """``jp_server_config`` enabling the extension with these ``JupyterEOApp`` settings."""
    return {"ServerApp": {"jpserver_extensions": {"jupyter_eo": True}},
            "JupyterEOApp": eo_config}


def eo_api(http_port: int, base_url: str, auth_header: dict[str, str],
           **fetch_options: Any) -> Callable[..., Awaitable[HTTPResponse]]:
    """``await api(path, method, body)`` against ``{base_url}jupyter-eo/`` as the lab user (a
    JSON body, errors returned not raised); ``fetch_options`` go to every ``fetch``. The
    returned function carries the route root as ``.root``."""
    client = AsyncHTTPClient()
    root = f"http://127.0.0.1:{http_port}{base_url}jupyter-eo/"

    async def fetch(path: str, method: str = "GET", body: object = None) -> HTTPResponse:
        data = None if body is None else json.dumps(body).encode()
        return await client.fetch(root + path, method=method, body=data, headers=auth_header,
                                  raise_error=False, allow_nonstandard_methods=True,
                                  **fetch_options)

    fetch.root = root  # type: ignore[attr-defined]
    return fetch


async def wait_login(api: Callable[..., Awaitable[HTTPResponse]], backend_id: str,
                     timeout: float = 30.0) -> dict[str, Any]:
    """Poll ``api/backends/<backend_id>/login`` until its state is no longer ``pending`` and
    return that view; fail if it is still pending after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        state = json.loads((await api(f"api/backends/{backend_id}/login")).body)
        if state["state"] != "pending":
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"login to {backend_id!r} still pending after {timeout} s")
        await asyncio.sleep(0.02)
