"""Run a backend app on a free loopback port in a background thread (for tests of any part)."""
from __future__ import annotations

import asyncio
import threading
from contextlib import contextmanager
from typing import Any, Iterator

from jupyter_eo.backend.app import Backend, BackendConfig, make_app


@contextmanager
def serve_in_thread(config: BackendConfig, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``make_app(config)`` until the block exits; yields the base URL ``http://host:port/``.

    The app's Backend is reachable as ``serve_in_thread.last_backend`` for white-box checks.
    """
    from tornado.httpserver import HTTPServer
    from tornado.netutil import bind_sockets

    ready = threading.Event()
    state: dict[str, Any] = {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            app = make_app(config)
            sockets = bind_sockets(0, host)
            server = HTTPServer(app, max_body_size=max_body_size(config),
                                idle_connection_timeout=30)
            server.add_sockets(sockets)
            state.update(loop=loop, server=server, backend=app.settings["jupyter_eo_backend"],
                         port=sockets[0].getsockname()[1])
        except BaseException as exc:  # report start-up failures to the caller
            state["error"] = exc
            ready.set()
            return
        ready.set()
        loop.run_forever()
        loop.run_until_complete(server.close_all_connections())
        loop.close()

    thread = threading.Thread(target=run, name="jupyter-eo-backend", daemon=True)
    thread.start()
    ready.wait(60)
    if "error" in state:
        raise state["error"]
    backend: Backend = state["backend"]
    serve_in_thread.last_backend = backend  # type: ignore[attr-defined]
    try:
        yield f"http://{host}:{state['port']}/"
    finally:
        loop = state["loop"]

        def stop() -> None:
            state["server"].stop()
            loop.stop()

        loop.call_soon_threadsafe(stop)
        thread.join(30)
        backend.close()


def max_body_size(config: BackendConfig) -> int:
    """The HTTP server's hard body cap; handlers enforce their own (smaller) limits first."""
    limits = config.limits
    return max(limits.max_body_bytes, limits.max_upload_bytes) * 2 + 1024 * 1024
