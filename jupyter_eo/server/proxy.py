"""``{base_url}jupyter-eo/openeo/{backend_id}/{path}``: the authenticated, streaming openEO proxy."""
from __future__ import annotations

import asyncio
import json
import re
import tempfile
from dataclasses import dataclass, field
from typing import Any, Awaitable

from tornado import httputil, web
from tornado.iostream import StreamClosedError
from tornado.httpclient import HTTPRequest, HTTPResponse

from ..errors import InfrastructureBusy, NotFound, OpenEOError, PayloadTooLarge
from .backends import BackendRegistry
from .base import JupyterEOHandler, eo_authenticated
from .paths import Rewriter, upstream_url
from .sessions import CredentialManager, LoginError
from .upstream_client import ABORT_HOOK, DIRECT, UpstreamAborted, UpstreamClient
from .upstream_errors import BadGateway, GatewayTimeout, network_error

PREFIX = "jupyter-eo/openeo/"
# Allow-lists: nothing else crosses the proxy (no cookies, Jupyter tokens, XSRF or secrets
# upstream; no Set-Cookie or other upstream headers back).
FORWARD_REQUEST_HEADERS = ("Accept", "Accept-Language", "Content-Type", "Range", "User-Agent",
                           "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since")
PASS_RESPONSE_HEADERS = ("Content-Type", "Content-Disposition", "Content-Range", "Content-Language",
                         "Accept-Ranges", "ETag", "Last-Modified", "Cache-Control", "Expires",
                         "Retry-After", "OpenEO-Identifier", "OpenEO-Costs")
_JSON_TYPE = re.compile(r"^application/(.+\+)?json\b", re.IGNORECASE)
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class TooManyRequests(OpenEOError):
    """Backend-specific: too many proxied requests are waiting already."""

    code = "TooManyRequests"
    status = 429


@dataclass
class ProxyLimits:
    connect_timeout: float = 10.0
    request_timeout: float = 600.0
    max_request_bytes: int = 512 * 1024 * 1024
    max_response_bytes: int = 8 * 1024 ** 3
    max_rewrite_bytes: int = 64 * 1024 * 1024
    max_concurrent: int = 32
    max_queued: int = 128
    queue_timeout: float = 60.0


class Gate:
    """At most ``limit`` requests in flight; a bounded queue waits, the rest get 429 / 503."""

    def __init__(self, limit: int, max_queued: int, timeout: float) -> None:
        self._sem = asyncio.Semaphore(max(1, limit))
        self.max_queued, self.timeout, self.waiting = max_queued, timeout, 0

    async def __aenter__(self) -> None:
        if self._sem.locked() and self.waiting >= self.max_queued:
            raise TooManyRequests("Too many requests are queued for this backend; retry later.")
        self.waiting += 1
        try:
            await asyncio.wait_for(self._sem.acquire(), self.timeout)
        except asyncio.TimeoutError:
            raise InfrastructureBusy("The backend is busy; retry later.") from None
        finally:
            self.waiting -= 1

    async def __aexit__(self, *exc: Any) -> None:
        self._sem.release()


@dataclass
class ProxyService:
    """Everything the proxy handler needs, built once by the app."""

    registry: BackendRegistry
    credentials: CredentialManager
    limits: ProxyLimits = field(default_factory=ProxyLimits)
    gates: dict[str, Gate] = field(default_factory=dict)
    client: UpstreamClient | None = None

    def __post_init__(self) -> None:
        # an upstream exchange is aborted when the proxy's client leaves (see on_connection_close)
        self._own_client = self.client is None
        if self.client is None:
            self.client = UpstreamClient(max_clients=max(64, self.limits.max_concurrent * 4),
                                         max_body_size=self.limits.max_response_bytes)
        self.http = self.client.http

    def gate(self, backend_id: str) -> Gate:
        if backend_id not in self.gates:
            lim = self.limits
            self.gates[backend_id] = Gate(lim.max_concurrent, lim.max_queued, lim.queue_timeout)
        return self.gates[backend_id]

    def close(self) -> None:
        if self._own_client and self.client is not None:
            self.client.close()


class _Upstream:
    """Collects the upstream status and headers; streams or buffers the body."""

    def __init__(self, handler: "ProxyHandler", retry_on_401: bool, url: str = "") -> None:
        self.handler, self.retry_on_401, self.url = handler, retry_on_401, url
        self.code = 0
        self.reason = ""
        self.failure: OpenEOError | None = None  # an egress proxy's own 502/504
        self.headers = httputil.HTTPHeaders()
        self.mode = ""  # "stream" | "buffer" | "discard"
        self.chunks: list[bytes] = []
        self.size = 0
        self.broken = False  # the upstream failed after the response started

    def on_header(self, line: str) -> None:
        if line.startswith("HTTP/"):
            start = httputil.parse_response_start_line(line.strip())
            self.code, self.reason = start.code, start.reason
            self.headers = httputil.HTTPHeaders()
            return
        if line.strip():
            self.headers.parse_line(line)
            return
        if self.code < 200:  # end of an interim 100 response
            return
        self.failure = self.handler.service.client.proxy_failure(
            self.url, self.code, self.reason, self.headers.get("Content-Type", ""),
            self.handler._direct)
        if self.failure is not None or (self.code == 401 and self.retry_on_401):
            self.mode = "discard"
        elif _JSON_TYPE.match(self.headers.get("Content-Type", "")):
            self.mode = "buffer"
        else:
            self.mode = "stream"
            self.handler.start_response(self)

    async def _flush_or_abort(self) -> None:
        try:
            await self.handler.flush()
        except StreamClosedError:
            # HTTPInputError ends the upstream read without tornado logging a traceback
            raise httputil.HTTPInputError("client disconnected; upstream read aborted") from None

    def on_chunk(self, chunk: bytes) -> "Awaitable[None] | None":
        if self.mode == "stream":
            # returning the flush future makes the upstream read wait for the client
            # (backpressure); a client that went away fails it and aborts the upstream read
            self.handler.write(chunk)
            return self._flush_or_abort()
        if self.mode == "buffer":
            self.chunks.append(chunk)
            self.size += len(chunk)
            if self.size > self.handler.service.limits.max_rewrite_bytes:
                # too big to rewrite (a data payload, not API metadata): pass it on unchanged
                self.mode = "stream"
                self.handler.start_response(self)
                self.handler.write(b"".join(self.chunks))
                self.chunks = []
                return self._flush_or_abort()
        return None


@web.stream_request_body
class ProxyHandler(JupyterEOHandler):
    """Forwards any openEO call to a configured backend with the user's token injected."""

    SUPPORTED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")

    @property
    def service(self) -> ProxyService:
        return self.settings["jupyter_eo_proxy"]

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()
        if self._finished:
            return
        await self.check_eo_access()  # before a single body byte is read
        self._body = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)
        self._body_size = 0
        self._body_too_large = False
        length = self.request.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > self.service.limits.max_request_bytes:
            raise PayloadTooLarge("The request body exceeds the proxy's size limit.")
        self._prepared = True

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        if not self._prepared:
            # refused before the body was read: tornado closes the connection after this
            # answer, so say so (a keep-alive client must not reuse the socket)
            self.set_header("Connection", "close")
        super().write_error(status_code, **kwargs)

    def data_received(self, chunk: bytes) -> None:
        self._body_size += len(chunk)
        if self._body_size > self.service.limits.max_request_bytes:
            self._body_too_large = True
        elif not self._body_too_large:
            self._body.write(chunk)

    def on_finish(self) -> None:
        body = getattr(self, "_body", None)
        if body is not None:
            body.close()

    _client_gone = False
    _abort_upstream: "Any" = None
    _direct = False
    _prepared = False

    def on_connection_close(self) -> None:
        """The client left (e.g. a superseded preview): hang up upstream too, even while still
        waiting for the answer's headers, so the backend stops computing."""
        self._client_gone = True
        if self._abort_upstream is not None:
            self._abort_upstream()
        super().on_connection_close()

    def _set_abort(self, abort: "Any") -> None:
        self._abort_upstream = abort
        if self._client_gone:
            abort()

    # every method: one implementation, each one authenticated
    @eo_authenticated
    async def get(self, backend_id: str, path: str) -> None:
        await self._proxy(backend_id)

    @eo_authenticated
    async def head(self, backend_id: str, path: str) -> None:
        await self._proxy(backend_id)

    @eo_authenticated
    async def post(self, backend_id: str, path: str) -> None:
        await self._proxy(backend_id)

    @eo_authenticated
    async def put(self, backend_id: str, path: str) -> None:
        await self._proxy(backend_id)

    @eo_authenticated
    async def patch(self, backend_id: str, path: str) -> None:
        await self._proxy(backend_id)

    @eo_authenticated
    async def delete(self, backend_id: str, path: str) -> None:
        await self._proxy(backend_id)

    # -- the forwarding ---------------------------------------------------------------------
    def _raw_subpath(self) -> tuple[str, str]:
        """(backend id, raw percent-encoded rest) taken from the undecoded request path."""
        marker = self.base_url.rstrip("/") + "/" + PREFIX
        raw = self.request.path
        if not raw.startswith(marker):
            raise NotFound("Unknown proxy path.")
        backend_id, _, rest = raw[len(marker):].partition("/")
        return backend_id, rest

    def proxy_base(self, backend_id: str) -> str:
        return (f"{self.request.protocol}://{self.request.host}"
                f"{self.base_url.rstrip('/')}/{PREFIX}{backend_id}/")

    async def _proxy(self, _decoded_id: str) -> None:
        if self._body_too_large:
            raise PayloadTooLarge("The request body exceeds the proxy's size limit.")
        backend_id, raw_rest = self._raw_subpath()
        if not _ID_RE.match(backend_id):
            from .paths import ProxyPathInvalid

            raise ProxyPathInvalid("Invalid backend id in the proxy path.")
        spec = self.service.registry.get(backend_id)
        if spec is None:
            raise NotFound(f"No backend with id '{backend_id}' is configured.")
        # validate against a placeholder base first: a bad path never starts the local child
        upstream_url("http://validate.invalid/", raw_rest, self.request.query)
        async with self.service.gate(backend_id):
            try:
                base = await self.service.credentials.upstream_base(spec)
                bearer = await self.service.credentials.bearer(backend_id)
            except LoginError as exc:
                raise BadGateway(str(exc)) from None
            except RuntimeError as exc:  # the local child could not start
                raise BadGateway(str(exc)) from None
            url = upstream_url(base, raw_rest, self.request.query)
            rewriter = Rewriter(base, self.proxy_base(backend_id))
            self._rewriter, self._upstream_url = rewriter, url
            can_renew = bool(bearer) or spec.local
            self._direct = spec.local  # the embedded child on loopback: never the egress proxy
            upstream = await self._fetch(url, bearer, retry_on_401=can_renew)
            if upstream is None:
                bearer = await self.service.credentials.after_unauthorized(backend_id, bearer)
                upstream = await self._fetch(url, bearer, retry_on_401=False)
            assert upstream is not None
            self._finish_response(upstream, rewriter, url)

    async def _fetch(self, url: str, bearer: str, retry_on_401: bool) -> "_Upstream | None":
        """One upstream exchange; None means 'got 401, renew and retry'."""
        headers = {name: self.request.headers[name] for name in FORWARD_REQUEST_HEADERS
                   if name in self.request.headers}
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        method = self.request.method or "GET"
        body: bytes | None = None
        if method in ("POST", "PUT", "PATCH") or self._body_size:
            self._body.seek(0)
            body = self._body.read()
        state = _Upstream(self, retry_on_401, url)
        limits = self.service.limits
        request = HTTPRequest(url, method=method, headers=headers, body=body,
                              follow_redirects=False, allow_nonstandard_methods=True,
                              connect_timeout=limits.connect_timeout,
                              request_timeout=limits.request_timeout, decompress_response=True,
                              header_callback=state.on_header, streaming_callback=state.on_chunk)
        setattr(request, ABORT_HOOK, self._set_abort)
        setattr(request, DIRECT, self._direct)
        try:
            response: HTTPResponse = await self.service.http.fetch(request, raise_error=False)
            error: BaseException | None = response.error if response.code == 599 else None
        except Exception as exc:  # timeouts and connection errors are raised, not returned
            error = exc
        if error is not None:
            if self._client_gone or isinstance(error, UpstreamAborted):
                state.broken = True  # nobody to answer: end without a response
                return state
            if state.mode == "stream":
                state.broken = True  # headers are out already: the client must see a cut
                return state
            if "max_body_size" in str(error) or "too long" in str(error):
                raise PayloadTooLarge("The backend's response exceeds the proxy's size limit.")
            raise network_error(url, error, limits.request_timeout, limits.connect_timeout)
        if state.failure is not None:
            raise state.failure
        if state.mode == "discard":
            return None
        return state

    def start_response(self, upstream: _Upstream) -> None:
        """Copy status and allowed headers (Set-Cookie and the rest are dropped)."""
        self.set_status(upstream.code, httputil.responses.get(upstream.code, "Unknown"))
        self.clear_header("Content-Type")
        for name in PASS_RESPONSE_HEADERS:
            for value in upstream.headers.get_list(name):
                self.add_header(name, value)
        if self.request.method == "HEAD" and "Content-Length" in upstream.headers:
            self.set_header("Content-Length", upstream.headers["Content-Length"])
        rewriter = self._rewriter
        location = upstream.headers.get("Location")
        if location:
            self.set_header("Location", rewriter.location(location, self._upstream_url))
        for link in upstream.headers.get_list("Link"):
            self.add_header("Link", rewriter.link_header(link))

    def _finish_response(self, upstream: _Upstream, rewriter: Rewriter, url: str) -> None:
        if self._finished:
            return
        content_type = upstream.headers.get("Content-Type", "application/json")
        if upstream.broken and (upstream.mode == "stream" or self._client_gone):
            # never end a cut stream cleanly: closing without the final chunk tells the
            # client that the body is incomplete
            self.request.connection.close()
            self._finished = True
            self.on_finish()
            return
        if upstream.mode == "stream":
            try:
                self.finish(set_content_type=content_type)
            except StreamClosedError:
                pass  # the client went away mid-stream
            return
        self.start_response(upstream)
        raw = b"".join(upstream.chunks)
        body = raw
        if raw and upstream.code not in (204, 304):
            try:
                body = json.dumps(rewriter.json(json.loads(raw))).encode()
            except ValueError:
                body = raw
        if upstream.code in (204, 304) or self.request.method == "HEAD":
            self.finish(set_content_type=content_type)
        else:
            self.finish(body, set_content_type=content_type)
