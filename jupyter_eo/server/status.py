"""``GET jupyter-eo/api/status``: version and configured backends."""
from __future__ import annotations

from .. import __version__
from .base import JupyterEOHandler, eo_authenticated


class StatusHandler(JupyterEOHandler):
    """Report the extension version and the public view of configured backends."""

    @eo_authenticated
    def get(self) -> None:
        registry = self.settings.get("jupyter_eo_backends")
        backends = registry.public_view() if registry is not None else []
        self.write_json({"name": "jupyter_eo", "version": __version__, "backends": backends,
                         "kernel": self.kernel_authenticated,
                         "config_errors": self.settings.get("jupyter_eo_config_errors", []),
                         "egress_proxy": self._egress()})

    def _egress(self) -> dict:
        """The egress proxy in use (hosts only, never credentials), for troubleshooting."""
        upstream = self.settings.get("jupyter_eo_upstream")
        return upstream.proxies.public() if upstream is not None else {}
