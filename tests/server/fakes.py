"""Loopback fakes for proxy tests: a recording openEO upstream and a small OIDC provider."""
from __future__ import annotations

import asyncio
import base64
import json
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import tornado.httpserver
import tornado.testing
import tornado.web
from tornado.iostream import StreamClosedError


@dataclass
class Hit:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


@dataclass
class OidcState:
    """Issued tokens and counters of the fake provider (shared with the fake upstream)."""

    url: str = ""
    access: set[str] = field(default_factory=set)
    refresh: set[str] = field(default_factory=set)
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    grants: list[str] = field(default_factory=list)
    client_secret: str = "svc-secret-value"

    def issue(self, with_refresh: bool = True) -> dict[str, Any]:
        access = "acc-" + secrets.token_hex(8)
        self.access.add(access)
        body: dict[str, Any] = {"access_token": access, "token_type": "Bearer", "expires_in": 3600}
        if with_refresh:
            refresh = "ref-" + secrets.token_hex(8)
            self.refresh.add(refresh)
            body["refresh_token"] = refresh
        return body

    def approve_all(self) -> None:
        for device in self.devices.values():
            device["approved"] = True


class _OidcHandler(tornado.web.RequestHandler):
    def initialize(self, state: OidcState) -> None:
        self.state = state

    def check_xsrf_cookie(self) -> None:
        return None

    def get(self) -> None:
        base = self.state.url
        self.write({"issuer": base, "token_endpoint": base + "/token",
                    "device_authorization_endpoint": base + "/device"})

    def post(self) -> None:
        form = {k: v[0] for k, v in parse_qs(self.request.body.decode()).items()}
        state = self.state
        if self.request.path.endswith("/device"):
            device_code = "dev-" + secrets.token_hex(8)
            user_code = "USER-" + secrets.token_hex(2).upper()
            state.devices[device_code] = {"approved": False, "client": form.get("client_id"),
                                          "challenge": form.get("code_challenge")}
            self.write({"device_code": device_code, "user_code": user_code,
                        "verification_uri": state.url + "/activate",
                        "verification_uri_complete": state.url + "/activate?code=" + user_code,
                        "interval": 0.05, "expires_in": 30})
            return
        grant = form.get("grant_type", "")
        state.grants.append(grant)
        if grant.endswith("device_code"):
            device = state.devices.get(form.get("device_code", ""))
            if device is None:
                self.set_status(400)
                self.write({"error": "invalid_grant"})
            elif not device["approved"]:
                self.set_status(400)
                self.write({"error": "authorization_pending"})
            elif not form.get("code_verifier"):
                self.set_status(400)
                self.write({"error": "invalid_request", "error_description": "PKCE"})
            else:
                self.write(state.issue())
        elif grant == "client_credentials":
            if form.get("client_id") == "svc" and form.get("client_secret") == state.client_secret:
                self.write(state.issue(with_refresh=False))
            else:
                self.set_status(401)
                self.write({"error": "invalid_client"})
        elif grant == "refresh_token" and form.get("refresh_token") in state.refresh:
            self.write(state.issue())
        else:
            self.set_status(400)
            self.write({"error": "invalid_grant"})


@dataclass
class Upstream:
    """A fake openEO backend that records every request it receives."""

    url: str = ""
    hits: list[Hit] = field(default_factory=list)
    basic_tokens: set[str] = field(default_factory=set)
    oidc: OidcState | None = None
    user: tuple[str, str] = ("alice", "wonderland-pw")
    aborted: list[int] = field(default_factory=list)
    hung_up: list[str] = field(default_factory=list)  # paths whose client left before the answer

    def authorized(self, header: str | None) -> bool:
        if not header or not header.startswith("Bearer "):
            return False
        value = header[len("Bearer "):]
        if value.startswith("basic//"):
            return value[len("basic//"):] in self.basic_tokens
        if value.startswith("oidc/fake/") and self.oidc is not None:
            return value[len("oidc/fake/"):] in self.oidc.access
        return False


class _UpstreamHandler(tornado.web.RequestHandler):
    SUPPORTED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")

    def initialize(self, up: Upstream) -> None:
        self.up = up

    def check_xsrf_cookie(self) -> None:
        return None

    def on_connection_close(self) -> None:
        if not self._finished:
            self.up.hung_up.append(self.request.path)

    def _json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))

    async def _any(self) -> None:
        req = self.request
        self.up.hits.append(Hit(req.method or "", req.path, req.query, dict(req.headers),
                                req.body))
        base, path = self.up.url, req.path
        if path == "/.well-known/openeo":
            return self._json({"versions": [{"url": base, "api_version": "1.2.0",
                                             "production": True}]})
        if path == "/":
            return self._json({"api_version": "1.2.0", "backend_version": "fake", "id": "fake",
                               "title": "fake", "description": "fake", "stac_version": "1.0.0",
                               "endpoints": [{"path": "/collections", "methods": ["GET"]},
                                             {"path": "/jobs", "methods": ["GET", "POST"]},
                                             {"path": "/me", "methods": ["GET"]}],
                               "links": [{"rel": "self", "href": base},
                                         {"rel": "data", "href": base + "collections"},
                                         {"rel": "about", "href": "https://example.org/x"}]})
        if path == "/credentials/basic":
            raw = (req.headers.get("Authorization") or " ").split(" ", 1)[1]
            try:
                name, _, password = base64.b64decode(raw).decode().partition(":")
            except Exception:
                name = password = ""
            if (name, password) != self.up.user:
                return self._json({"code": "CredentialsInvalid", "message": "bad credentials"},
                                  403)
            token = "tok-" + secrets.token_hex(8)
            self.up.basic_tokens.add(token)
            return self._json({"access_token": token})
        if path == "/credentials/oidc":
            return self._json({"providers": [{
                "id": "fake", "issuer": self.up.oidc.url if self.up.oidc else "",
                "title": "Fake", "scopes": ["openid"],
                "default_clients": [{"id": "device-client", "grant_types": [
                    "urn:ietf:params:oauth:grant-type:device_code+pkce", "refresh_token"]}]}]})
        if path == "/me":
            if not self.up.authorized(req.headers.get("Authorization")):
                return self._json({"code": "AuthenticationRequired", "message": "log in"}, 401)
            return self._json({"user_id": "alice"})
        if path == "/redirect-away":
            self.set_status(302)
            self.set_header("Location", self.get_query_argument("to"))
            return self.finish()
        if path == "/redirect-home":
            self.set_status(303)
            self.set_header("Location", base + "collections?x=1")
            return self.finish()
        if path == "/cookie":
            self.set_header("Set-Cookie", "upstream_session=abc; Path=/")
            return self._json({"ok": True})
        if path == "/jobs" and req.method == "POST":
            self.set_header("Location", base + "jobs/j1")
            self.set_header("OpenEO-Identifier", "j1")
            self.set_status(201)
            return self.finish()
        if path == "/jobs/j1/results":
            return self._json({"type": "Feature", "assets": {"out.tif": {
                "href": base + "jobs/j1/results/out.tif", "type": "image/tiff"}},
                "links": [{"rel": "canonical", "href": base + "jobs/j1/results"}]})
        if path == "/slow":
            await asyncio.sleep(float(self.get_query_argument("s", "2")))
            return self._json({"slow": True})
        if path == "/big":
            size = int(self.get_query_argument("n", "1000000"))
            self.set_header("Content-Type", "application/octet-stream")
            chunk = bytes(range(256)) * 256
            sent = 0
            while sent < size:
                part = chunk[: min(len(chunk), size - sent)]
                self.write(part)
                try:
                    await self.flush()
                except StreamClosedError:
                    self.up.aborted.append(sent)  # the proxy stopped reading
                    return None
                sent += len(part)
            return self.finish()
        if path == "/trickle":  # some bytes, then silence longer than the proxy's timeout
            self.set_header("Content-Type", "application/octet-stream")
            self.write(b"x" * 1000)
            await self.flush()
            await asyncio.sleep(3)
            self.write(b"y" * 1000)
            return self.finish()
        if path == "/bigjson":
            return self._json({"self": base + "bigjson", "values": list(range(60_000))})
        if path == "/error":
            return self._json({"id": "e1", "code": "ProcessGraphInvalid",
                               "message": "bad graph"}, 400)
        return self._json({"method": req.method, "path": path, "query": req.query,
                           "size": len(req.body)})

    get = head = post = put = patch = delete = _any  # type: ignore[assignment]


def start_oidc(loop: asyncio.AbstractEventLoop) -> tuple[OidcState, tornado.httpserver.HTTPServer]:
    state = OidcState()
    sock, port = tornado.testing.bind_unused_port()
    state.url = f"http://127.0.0.1:{port}/oidc"
    app = tornado.web.Application([(r"/oidc/.well-known/openid-configuration", _OidcHandler,
                                    {"state": state}),
                                   (r"/oidc/(?:device|token)", _OidcHandler, {"state": state})])

    async def make() -> tornado.httpserver.HTTPServer:
        server = tornado.httpserver.HTTPServer(app)
        server.add_socket(sock)
        return server

    return state, loop.run_until_complete(make())


def start_upstream(loop: asyncio.AbstractEventLoop,
                   oidc: OidcState | None = None) -> tuple[Upstream, tornado.httpserver.HTTPServer]:
    up = Upstream(oidc=oidc)
    sock, port = tornado.testing.bind_unused_port()
    up.url = f"http://127.0.0.1:{port}/"
    app = tornado.web.Application([(r"/.*", _UpstreamHandler, {"up": up})])

    async def make() -> tornado.httpserver.HTTPServer:
        server = tornado.httpserver.HTTPServer(app)
        server.add_socket(sock)
        return server

    return up, loop.run_until_complete(make())
