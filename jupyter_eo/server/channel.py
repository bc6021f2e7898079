"""Kernel-to-server channel: the server URL and per-start secret exported to kernels' environment."""
from __future__ import annotations

import hmac
import os
import secrets

ENV_URL = "JUPYTER_EO_SERVER_URL"
ENV_SECRET = "JUPYTER_EO_KERNEL_SECRET"
SECRET_HEADER = "X-Jupyter-EO-Secret"


class KernelChannel:
    """Holds this server start's random secret and exports it (with the server URL) to kernels.

    Kernels inherit the server process environment, so they can call our handlers with the
    secret in :data:`SECRET_HEADER`. The secret lives only in memory and in that environment.
    """

    def __init__(self) -> None:
        self._secret = secrets.token_urlsafe(32)

    def export(self, server_url: str) -> None:
        """Put the server URL (ending in '/') and the secret into this process's environment."""
        if not server_url.endswith("/"):
            server_url += "/"
        os.environ[ENV_URL] = server_url
        os.environ[ENV_SECRET] = self._secret

    def verify(self, presented: str | None) -> bool:
        """True when ``presented`` equals the secret (constant-time)."""
        if not presented:
            return False
        return hmac.compare_digest(presented.encode(), self._secret.encode())
