"""An async HTTP client whose in-flight upstream requests the proxy can abort (client gone)."""
from __future__ import annotations

from typing import Any, Callable

from tornado.httpclient import HTTPClientError
from tornado.simple_httpclient import SimpleAsyncHTTPClient, _HTTPConnection

ABORT_HOOK = "jupyter_eo_on_connect"  # HTTPRequest attribute: called with the abort function


class UpstreamAborted(HTTPClientError):
    """The proxy's own client went away, so the upstream exchange was cut."""

    def __init__(self) -> None:
        super().__init__(599, "Aborted: the client went away")


class _AbortableConnection(_HTTPConnection):
    """tornado's HTTP/1.1 client connection, plus ``abort()``: fail the fetch at once and close
    the upstream socket, so the backend sees the disconnect (and stops computing)."""

    def __init__(self, client: Any, request: Any, *args: Any) -> None:
        super().__init__(client, request, *args)
        hook: Callable[[Callable[[], None]], None] | None = getattr(request, ABORT_HOOK, None)
        if hook is not None:
            hook(self.abort)

    def abort(self) -> None:
        if self.final_callback is not None:  # still waiting: answer 599 and close the stream
            self._handle_exception(UpstreamAborted, UpstreamAborted(), None)


class AbortableHTTPClient(SimpleAsyncHTTPClient):
    """``fetch(request)`` where ``request.jupyter_eo_on_connect(abort)`` (if set) receives a
    function that aborts that exchange, e.g. from ``RequestHandler.on_connection_close``."""

    def _connection_class(self) -> type:
        return _AbortableConnection
