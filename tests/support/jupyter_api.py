"""A Jupyter server with jupyter_eo enabled: its config and a JSON client for its routes."""
from __future__ import annotations

import json
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
