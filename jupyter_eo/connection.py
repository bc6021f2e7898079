"""How kernel code and scripts reach the server: server URL, channel headers and ``connect``."""
from __future__ import annotations

import os
from typing import Any

from .server.channel import ENV_SECRET, ENV_URL, SECRET_HEADER


def server_url() -> str | None:
    """The URL (with base_url, ending in '/') of the Jupyter server that launched this kernel."""
    url = os.environ.get(ENV_URL)
    return url or None


def channel_headers() -> dict[str, str]:
    """Headers that authenticate kernel code to jupyter_eo's handlers (empty outside Jupyter)."""
    secret = os.environ.get(ENV_SECRET)
    return {SECRET_HEADER: secret} if secret else {}


def connect(backend_id: str = "local", **kwargs: Any) -> Any:
    """An ``openeo.Connection`` to ``backend_id``; implemented by the server-proxy work."""
    raise NotImplementedError("jupyter_eo.connect is not available yet")
