"""Kernel-to-server channel: the server URL and per-start secret exported to kernels' environment."""
from __future__ import annotations

import hmac
import os
import secrets

ENV_URL = "JUPYTER_EO_SERVER_URL"
ENV_SECRET = "JUPYTER_EO_KERNEL_SECRET"
ENV_BASEMAP = "JUPYTER_EO_BASEMAP_URL"
SECRET_HEADER = "X-Jupyter-EO-Secret"


class KernelChannel:
    """Holds this server start's random secret and exports it (with the server URL) to kernels.

    Kernels inherit the server process environment, so they can call our handlers with the
    secret in :data:`SECRET_HEADER`. The secret lives only in memory and in that environment.
    """

    def __init__(self) -> None:
        self._secret = secrets.token_urlsafe(32)

    def export(self, server_url: str, basemap_url: str = "") -> None:
        """Put the server URL (ending in '/'), the secret and the basemap tile template into
        this process's environment."""
        if not server_url.endswith("/"):
            server_url += "/"
        os.environ[ENV_URL] = server_url
        os.environ[ENV_SECRET] = self._secret
        if basemap_url:
            os.environ[ENV_BASEMAP] = basemap_url

    def verify(self, presented: str | None) -> bool:
        """True when ``presented`` equals the secret (constant-time)."""
        if not presented:
            return False
        return hmac.compare_digest(presented.encode(), self._secret.encode())


def exported_basemap_url() -> str | None:
    """In a kernel: the basemap tile template (``{z}/{x}/{y}``) its server serves or was
    configured with (``JupyterEOApp.basemap_tile_url``); None outside Jupyter."""
    return os.environ.get(ENV_BASEMAP) or None
