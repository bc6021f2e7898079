"""Handler base: openEO JSON errors, CORS, bearer auth, absolute URLs, bounded streamed bodies."""
from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import TYPE_CHECKING, Any

import tornado.web
from tornado import httputil

from jupyter_eo.backend.limits import parse_json_body
from jupyter_eo.errors import NotFound, OpenEOError, PayloadTooLarge

if TYPE_CHECKING:
    from jupyter_eo.backend.app import Backend

log = logging.getLogger("jupyter_eo.backend.http")

TORNADO_CODES = {400: "BadRequest", 401: "AuthenticationRequired", 403: "PermissionsInsufficient",
                 404: "NotFound", 405: "MethodNotAllowed", 413: "PayloadTooLarge",
                 416: "RangeNotSatisfiable", 501: "FeatureUnsupported"}


class OpenEOMixin:
    """Shared behaviour for every handler (mixed into RequestHandler subclasses)."""

    backend: "Backend"
    request: httputil.HTTPServerRequest

    def initialize(self, backend: "Backend", methods: tuple[str, ...] = (),
                   **kwargs: Any) -> None:  # type: ignore[override]
        self.backend = backend
        self.route_methods = methods  # the route table's methods, for 405's ``Allow``

    # -- CORS (openEO API requires it) -----------------------------------------------------
    def set_default_headers(self) -> None:
        # Any origin may call the API with a bearer token it holds, but never with browser
        # credentials (no Allow-Credentials): a web page cannot reuse basic-auth a browser
        # remembered for this loopback server.
        self.set_header("Access-Control-Allow-Origin", "*")
        self.set_header("Access-Control-Expose-Headers",
                        "Location, OpenEO-Identifier, OpenEO-Costs, Link, Content-Range, "
                        "Accept-Ranges, Content-Length")

    def options(self, *args: Any, **kwargs: Any) -> None:
        self.set_header("Access-Control-Allow-Methods",
                        "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS")
        self.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type, Range")
        self.set_status(204)
        self.finish()

    def check_xsrf_cookie(self) -> None:  # bearer-token API, no cookies
        return None

    # -- errors ----------------------------------------------------------------------------
    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, OpenEOError):
            error = exc
        elif isinstance(exc, tornado.web.HTTPError):
            code = TORNADO_CODES.get(exc.status_code, "BadRequest" if exc.status_code < 500
                                     else "Internal")
            error = OpenEOError(exc.log_message or httputil.responses.get(exc.status_code, code),
                                code=code, status=exc.status_code)
        elif status_code < 500:
            error = OpenEOError(httputil.responses.get(status_code, "Bad request"),
                                code=TORNADO_CODES.get(status_code, "BadRequest"),
                                status=status_code)
        else:
            error = OpenEOError("Server error: the request could not be completed; see the "
                                "backend log.", code="Internal", status=500)
        self.clear_header("Content-Range")
        if self._body_unread():
            # refused before the body was read (e.g. its declared size): tornado closes the
            # connection after this answer, so say so; a keep-alive client must not reuse it
            self.set_header("Connection", "close")
        self.set_status(error.status)
        if error.status == 405 and getattr(self, "route_methods", ()):
            self.set_header("Allow", ", ".join([*self.route_methods, "OPTIONS"]))
        if error.status == 401:
            self.set_header("WWW-Authenticate", 'Bearer realm="openEO"')
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(error.to_dict()))

    def _body_unread(self) -> bool:
        """True while a request body is still (partly) unread, e.g. in ``prepare``."""
        future = getattr(self.request, "_body_future", None)
        return future is not None and not future.done() and self.request.method not in (
            "GET", "HEAD", "OPTIONS")

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, (OpenEOError, tornado.web.HTTPError)):
            log.info("%s %s -> %s", self.request.method, self.request.path,
                     getattr(value, "code", getattr(value, "status_code", "")))
        else:
            log.error("Uncaught exception %s %s", self.request.method, self.request.path,
                      exc_info=(typ, value, tb))

    # -- auth ------------------------------------------------------------------------------
    def get_current_user(self) -> str | None:
        return self.backend.auth.check_bearer(self.request.headers.get("Authorization"))

    @property
    def user(self) -> str:
        """The authenticated user (raises AuthenticationRequired/TokenInvalid)."""
        user = self.current_user  # cached by tornado
        assert isinstance(user, str)
        return user

    def optional_user(self) -> str | None:
        if not self.request.headers.get("Authorization"):
            return None
        return self.user

    # -- responses -------------------------------------------------------------------------
    def url(self, path: str = "") -> str:
        """Absolute URL of ``path`` on this server, built from the request's Host."""
        return f"{self.request.protocol}://{self.request.host}/{path.lstrip('/')}"

    def page(self, items: list[Any], path: str) -> tuple[list[Any], list[dict[str, Any]]]:
        """The items of the requested page and the list's links (``self``, ``next``, ``prev``).

        ``limit`` (openEO API 1.2: an integer >= 1; absent or empty: everything) and our own
        ``offset`` (where the page starts, given in the ``next``/``prev`` links)."""
        limit = self._int_query_argument("limit", minimum=1)
        offset = self._int_query_argument("offset", minimum=0) or 0
        links = [{"rel": "self", "href": self.url(path), "type": "application/json"}]
        if limit is None:
            return items[offset:], links
        for rel, start in (("next", offset + limit), ("prev", max(offset - limit, 0))):
            if (rel == "next" and start < len(items)) or (rel == "prev" and offset > 0):
                links.append({"rel": rel, "href": self.url(
                    f"{path}?limit={limit}&offset={start}"), "type": "application/json"})
        return items[offset:offset + limit], links

    def _int_query_argument(self, name: str, minimum: int) -> int | None:
        raw = self.get_query_argument(name, None, strip=False)  # type: ignore[attr-defined]
        if raw is None or raw == "":
            return None
        if not re.fullmatch(r"[0-9]{1,15}", raw) or int(raw) < minimum:
            raise OpenEOError(f"Query parameter '{name}' must be an integer >= {minimum}, got "
                              f"{raw[:30]!r}.", code="ParameterInvalid", status=400)
        return int(raw)

    def write_json(self, body: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body, allow_nan=False))


@tornado.web.stream_request_body
class BaseHandler(OpenEOMixin, tornado.web.RequestHandler):
    """JSON API handler; request bodies are streamed and capped at ``max_body_bytes``."""

    body_limit_attr = "max_body_bytes"

    def body_limit(self) -> int:
        return int(getattr(self.backend.config.limits, self.body_limit_attr))

    def prepare(self) -> None:
        self._chunks: list[bytes] = []
        self._received = 0
        if self.request.method in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return
        limit = self.body_limit()
        length = self.request.headers.get("Content-Length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                raise OpenEOError("Invalid Content-Length.", code="BadRequest", status=400)
            if declared > limit:
                raise PayloadTooLarge(f"Request body of {declared} bytes exceeds the limit of "
                                      f"{limit} bytes.")
        # hard cap (connection closed beyond it); the soft limit gives a JSON error below
        self.request.connection.set_max_body_size(2 * limit + 1024 * 1024)  # type: ignore[union-attr]

    def data_received(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._received <= self.body_limit():
            self._chunks.append(chunk)
            return
        self._chunks = []
        if not self._finished:
            # A body without (or with a false) Content-Length grew past the limit: answer
            # now with the JSON 413 instead of reading on until tornado's hard cap resets
            # the connection with a bare 400; tornado closes the connection after it.
            error = PayloadTooLarge(f"Request body exceeds the limit of {self.body_limit()} "
                                    "bytes.")
            self.clear()
            self.set_status(error.status)
            self.set_header("Connection", "close")
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(error.to_dict()))

    def body_bytes(self) -> bytes:
        if self._received > self.body_limit():
            raise PayloadTooLarge(f"Request body exceeds the limit of {self.body_limit()} bytes.")
        return b"".join(self._chunks)

    async def json_body(self) -> Any:
        """The parsed JSON body; large bodies are parsed off the event loop."""
        body = self.body_bytes()
        limits = self.backend.config.limits
        if len(body) < 256 * 1024:
            return parse_json_body(body, limits)
        return await asyncio.to_thread(parse_json_body, body, limits)

    async def json_object(self) -> dict[str, Any]:
        body = await self.json_body()
        if not isinstance(body, dict):
            raise OpenEOError("Request body must be a JSON object.", code="BadRequest",
                              status=400)
        return body


class NotFoundHandler(BaseHandler):
    """Any unknown path: openEO ``NotFound``."""

    def prepare(self) -> None:
        raise NotFound(f"No endpoint {self.request.path[:200]!r}.")
