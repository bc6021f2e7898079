"""The jupyter_eo ExtensionApp: documented settings, services built once, handlers registered."""
from __future__ import annotations

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Unicode

from .channel import KernelChannel
from .routes import handlers


class JupyterEOApp(ExtensionApp):
    """Server extension of jupyter_eo (``--JupyterEOApp.<setting>=...``)."""

    name = "jupyter_eo"
    load_other_extensions = True

    export_kernel_channel = Bool(
        True, config=True,
        help="Export the server URL and a random per-start secret to kernels' environment so "
             "kernel code (jupyter_eo.connect) can reach our handlers. Default: True.",
    )
    server_url_override = Unicode(
        "", config=True,
        help="URL (including base_url) kernels should use to reach this server, when the "
             "default http://127.0.0.1:<port><base_url> is not reachable from kernels. Default: ''.",
    )

    def initialize_settings(self) -> None:
        self.channel = KernelChannel()
        self.settings["jupyter_eo_channel"] = self.channel
        if self.export_kernel_channel:
            self.channel.export(self.kernel_server_url())
            # The port is final only once the server listens: export again then.
            from tornado.ioloop import IOLoop

            IOLoop.current().add_callback(lambda: self.channel.export(self.kernel_server_url()))

    def kernel_server_url(self) -> str:
        """The URL kernels on this machine use to reach this server (with base_url)."""
        if self.server_url_override:
            return self.server_url_override
        sa = self.serverapp
        scheme = "https" if sa.certfile else "http"
        host = "127.0.0.1"
        if sa.ip not in ("", "0.0.0.0", "localhost", "127.0.0.1", "*", "::"):
            host = sa.ip if ":" not in sa.ip else f"[{sa.ip}]"
        if sa.sock:
            return ""
        return f"{scheme}://{host}:{sa.port}{sa.base_url}"

    def initialize_handlers(self) -> None:
        self.handlers.extend(handlers())
