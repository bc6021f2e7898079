"""The one HTTP client of the server extension: egress proxy aware, abortable, network faults as openEO errors.

Every server-side call (proxy, logins, OIDC discovery and token calls, backend discovery) goes
through :class:`UpstreamClient`. It is tornado's HTTP/1.1 client plus:

* an egress forward proxy per :class:`~.egress.ProxyConfig` (``HTTP_PROXY``/``HTTPS_PROXY``/
  ``NO_PROXY`` or the app's traitlets): https via a ``CONNECT`` tunnel, http in absolute-URI form;
  requests marked with :data:`DIRECT` (the embedded child on loopback) never use it;
* ``abort()`` of an in-flight exchange (the proxy's client went away);
* DNS failures, refused connections, timeouts and proxy refusals raised as 502/504
  :class:`~jupyter_eo.errors.OpenEOError` with a human message (``could not reach …: …``).
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable

from tornado.http1connection import HTTP1Connection, HTTP1ConnectionParameters
from tornado.httpclient import HTTPClientError, HTTPRequest, HTTPResponse
from tornado.httputil import RequestStartLine
from tornado.iostream import IOStream
from tornado.simple_httpclient import SimpleAsyncHTTPClient, _HTTPConnection

from .egress import EgressProxy, ProxyConfig, TunnelTCPClient
from ..errors import OpenEOError
from .upstream_errors import BadGateway, GatewayTimeout, network_error, where

__all__ = ["ABORT_HOOK", "DIRECT", "UpstreamClient", "UpstreamAborted", "AbortableHTTPClient",
           "BadGateway", "GatewayTimeout", "ProxyConfig"]

ABORT_HOOK = "jupyter_eo_on_connect"  # HTTPRequest attribute: called with the abort function
DIRECT = "jupyter_eo_direct"  # HTTPRequest attribute: True = never through the egress proxy
_JSON_TYPE = re.compile(r"^application/(.+\+)?json\b", re.IGNORECASE)


class UpstreamAborted(HTTPClientError):
    """The proxy's own client went away, so the upstream exchange was cut."""

    def __init__(self) -> None:
        super().__init__(599, "Aborted: the client went away")


class _AbsoluteFormConnection(HTTP1Connection):
    """An HTTP/1.1 client connection to a forward proxy: request line in absolute-URI form."""

    def __init__(self, *args: Any, origin: str, proxy_authorization: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._origin, self._proxy_authorization = origin, proxy_authorization

    def write_headers(self, start_line: Any, headers: Any, chunk: bytes | None = None) -> Any:
        if isinstance(start_line, RequestStartLine):
            start_line = RequestStartLine(start_line.method, self._origin + start_line.path,
                                          start_line.version)
            if self._proxy_authorization:
                headers["Proxy-Authorization"] = self._proxy_authorization
        return super().write_headers(start_line, headers, chunk)


class _UpstreamConnection(_HTTPConnection):
    """tornado's client connection, plus the egress proxy and ``abort()``: fail the fetch at
    once and close the upstream socket, so the backend sees the disconnect (and stops)."""

    def __init__(self, client: Any, request: Any, release_callback: Any, final_callback: Any,
                 max_buffer_size: int, tcp_client: Any, max_header_size: int,
                 max_body_size: int) -> None:
        self._egress: EgressProxy | None = None
        proxies: ProxyConfig | None = getattr(client, "proxies", None)
        if proxies is not None and not getattr(request, DIRECT, False):
            self._egress = proxies.proxy_for(request.url)
        if self._egress is not None:
            tcp_client = TunnelTCPClient(tcp_client, self._egress)
        super().__init__(client, request, release_callback, final_callback, max_buffer_size,
                         tcp_client, max_header_size, max_body_size)
        hook: Callable[[Callable[[], None]], None] | None = getattr(request, ABORT_HOOK, None)
        if hook is not None:
            hook(self.abort)

    def _create_connection(self, stream: IOStream) -> HTTP1Connection:
        if self._egress is None or self.parsed.scheme != "http":
            return super()._create_connection(stream)  # direct, or inside a CONNECT tunnel
        stream.set_nodelay(True)
        netloc = self.parsed.netloc.rpartition("@")[2]
        return _AbsoluteFormConnection(
            stream, True, HTTP1ConnectionParameters(
                no_keep_alive=True, max_header_size=self.max_header_size,
                max_body_size=self.max_body_size,
                decompress=bool(self.request.decompress_response)),
            self._sockaddr, origin=f"http://{netloc}",
            proxy_authorization=self._egress.authorization())

    def abort(self) -> None:
        if self.final_callback is not None:  # still waiting: answer 599 and close the stream
            self._handle_exception(UpstreamAborted, UpstreamAborted(), None)


class AbortableHTTPClient(SimpleAsyncHTTPClient):
    """``fetch(request)`` where ``request.jupyter_eo_on_connect(abort)`` (if set) receives a
    function that aborts that exchange; ``proxies`` routes requests through an egress proxy."""

    def initialize(self, *args: Any, proxies: ProxyConfig | None = None,  # type: ignore[override]
                   **kwargs: Any) -> None:
        super().initialize(*args, **kwargs)
        self.proxies = proxies

    def _connection_class(self) -> type:
        return _UpstreamConnection


class UpstreamClient:
    """The shared client; built once by the app and handed to the proxy and the logins."""

    def __init__(self, proxies: ProxyConfig | None = None, *, max_clients: int = 64,
                 max_body_size: int = 8 * 1024 ** 3, timeout: float = 30.0) -> None:
        self.proxies = proxies if proxies is not None else ProxyConfig()
        self.timeout = timeout
        self.http = AbortableHTTPClient(force_instance=True, max_clients=max_clients,
                                        max_body_size=max_body_size, proxies=self.proxies)

    async def fetch(self, request: HTTPRequest) -> HTTPResponse:
        """Any status is returned; network faults raise :class:`BadGateway`/:class:`GatewayTimeout`."""
        try:
            return await self.http.fetch(request, raise_error=False)
        except UpstreamAborted:
            raise
        except Exception as exc:  # DNS, refused, reset, TLS, timeouts, proxy refusals
            raise network_error(request.url, exc, request.request_timeout,
                                request.connect_timeout) from None

    def proxy_failure(self, url: str, code: int, reason: str, content_type: str,
                      direct: bool = False) -> OpenEOError | None:
        """The error for an egress proxy's own 502/504 answer to an http:// request (the proxy
        could not reach the target), or None when the answer is the backend's."""
        if direct or code not in (502, 504) or _JSON_TYPE.match(content_type or ""):
            return None
        proxy = self.proxies.proxy_for(url)
        if proxy is None or not url.startswith("http://"):
            return None
        cls = GatewayTimeout if code == 504 else BadGateway
        return cls(f"could not reach {where(url)}: egress proxy {proxy.display} answered "
                   f"HTTP {code}{' ' + reason[:120] if reason else ''}")

    async def call_json(self, url: str, *, method: str = "GET", body: bytes | str | None = None,
                        headers: dict[str, str] | None = None, timeout: float | None = None,
                        direct: bool = False) -> tuple[int, Any]:
        """(status, parsed JSON or None) of a small JSON exchange (logins, discovery)."""
        limit = timeout or self.timeout
        request = HTTPRequest(url, method=method, body=body,
                              headers={"Accept": "application/json", **(headers or {})},
                              follow_redirects=False, connect_timeout=limit,
                              request_timeout=limit)
        if direct:
            setattr(request, DIRECT, True)
        response = await self.fetch(request)
        failure = self.proxy_failure(url, response.code, response.reason or "",
                                     response.headers.get("Content-Type", ""), direct)
        if failure is not None:
            raise failure
        try:
            return response.code, json.loads(response.body or b"null")
        except ValueError:
            return response.code, None

    def close(self) -> None:
        self.http.close()
