"""A small loopback OIDC provider for end-to-end tests: discovery, device authorization (PKCE),
token endpoint (device_code, client_credentials, refresh_token grants), userinfo, and an
``/activate`` page where "the user" approves (or denies) a device code.

Runs in a thread of the test process (:class:`LoopbackOidc`) or standalone:
``python -m tests.support.oidc_provider`` prints ``OIDC_ISSUER=<url>`` and serves until killed.
Nothing here is secure beyond what a test needs; it only listens on 127.0.0.1.
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEVICE_CLIENT = "jupyter-eo-device"
SERVICE_CLIENT = "jupyter-eo-service"


@dataclass
class _Device:
    device_code: str
    user_code: str
    client_id: str
    challenge: str
    expires_at: float
    approved_as: str = ""
    denied: bool = False


@dataclass
class ProviderState:
    """Issued codes and tokens; ``grants`` lists every successful grant type in order."""

    issuer: str = ""
    service_secret: str = field(default_factory=lambda: "svc-" + secrets.token_hex(12))
    access_ttl: float = 3600.0
    devices: dict[str, _Device] = field(default_factory=dict)
    access: dict[str, str] = field(default_factory=dict)  # token -> sub
    refresh: dict[str, str] = field(default_factory=dict)  # token -> sub
    grants: list[str] = field(default_factory=list)
    userinfo_calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self, sub: str, with_refresh: bool) -> dict[str, Any]:
        token = "at-" + secrets.token_hex(12)
        self.access[token] = sub
        body: dict[str, Any] = {"access_token": token, "token_type": "Bearer",
                                "expires_in": int(self.access_ttl), "scope": "openid"}
        if with_refresh:
            refresh = "rt-" + secrets.token_hex(12)
            self.refresh[refresh] = sub
            body["refresh_token"] = refresh
        return body

    def approve(self, user_code: str, sub: str = "alice", deny: bool = False) -> bool:
        """What the user does in the browser: approve (or deny) the pending code ``user_code``."""
        with self.lock:
            for device in self.devices.values():
                if device.user_code == user_code and time.time() < device.expires_at:
                    device.approved_as, device.denied = ("", True) if deny else (sub, False)
                    return True
        return False


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class _Handler(BaseHTTPRequestHandler):
    state: ProviderState  # set on the subclass made per provider

    def log_message(self, *args: Any) -> None:
        pass

    def _json(self, body: dict[str, Any], status: int = 200) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def _form(self) -> dict[str, str]:
        size = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(size).decode() if size else ""
        return {k: v[0] for k, v in parse_qs(raw).items()}

    def do_GET(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        issuer = self.state.issuer
        if path == "/.well-known/openid-configuration":
            return self._json({
                "issuer": issuer, "token_endpoint": issuer + "/token",
                "device_authorization_endpoint": issuer + "/device",
                "userinfo_endpoint": issuer + "/userinfo",
                "authorization_endpoint": issuer + "/authorize",
                "jwks_uri": issuer + "/jwks", "scopes_supported": ["openid"],
                "grant_types_supported": [DEVICE_GRANT, "client_credentials", "refresh_token"],
                "code_challenge_methods_supported": ["S256"]})
        if path == "/jwks":
            return self._json({"keys": []})
        if path == "/userinfo":
            with self.state.lock:
                self.state.userinfo_calls += 1
                header = self.headers.get("Authorization") or ""
                sub = self.state.access.get(header[len("Bearer "):]) \
                    if header.startswith("Bearer ") else None
            if sub is None:
                return self._json({"error": "invalid_token"}, 401)
            return self._json({"sub": sub, "preferred_username": sub})
        return self._json({"error": "not_found"}, 404)

    def do_POST(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        form = self._form()
        if path == "/device":
            return self._device(form)
        if path == "/token":
            return self._token(form)
        if path == "/activate":  # the user's approval ("browser")
            ok = self.state.approve(form.get("user_code", ""), form.get("sub", "alice"),
                                    deny=form.get("deny") == "1")
            return self._json({"approved": ok}, 200 if ok else 404)
        return self._json({"error": "not_found"}, 404)

    def _device(self, form: dict[str, str]) -> None:
        if form.get("client_id") != DEVICE_CLIENT:
            return self._json({"error": "invalid_client"}, 401)
        device = _Device(device_code="dc-" + secrets.token_hex(12),
                         user_code=secrets.token_hex(3).upper(), client_id=DEVICE_CLIENT,
                         challenge=form.get("code_challenge", ""), expires_at=time.time() + 120)
        with self.state.lock:
            self.state.devices[device.device_code] = device
        issuer = self.state.issuer
        self._json({"device_code": device.device_code, "user_code": device.user_code,
                    "verification_uri": issuer + "/activate",
                    "verification_uri_complete": f"{issuer}/activate?user_code="
                                                 f"{device.user_code}",
                    "interval": 0.2, "expires_in": 120})

    def _token(self, form: dict[str, str]) -> None:
        grant = form.get("grant_type", "")
        state = self.state
        with state.lock:
            if grant == DEVICE_GRANT:
                device = state.devices.get(form.get("device_code", ""))
                if device is None or device.client_id != form.get("client_id"):
                    return self._json({"error": "invalid_grant"}, 400)
                if time.time() >= device.expires_at:
                    return self._json({"error": "expired_token"}, 400)
                if device.denied:
                    del state.devices[device.device_code]
                    return self._json({"error": "access_denied",
                                       "error_description": "the user denied the request"}, 400)
                if not device.approved_as:
                    return self._json({"error": "authorization_pending"}, 400)
                if device.challenge and _s256(form.get("code_verifier", "")) != device.challenge:
                    return self._json({"error": "invalid_grant",
                                       "error_description": "PKCE verification failed"}, 400)
                del state.devices[device.device_code]
                state.grants.append(grant)
                return self._json(state.issue(device.approved_as, with_refresh=True))
            if grant == "client_credentials":
                if (form.get("client_id"), form.get("client_secret")) != \
                        (SERVICE_CLIENT, state.service_secret):
                    return self._json({"error": "invalid_client"}, 401)
                state.grants.append(grant)
                return self._json(state.issue("service-bot", with_refresh=False))
            if grant == "refresh_token":
                sub = state.refresh.pop(form.get("refresh_token", ""), None)
                if sub is None:
                    return self._json({"error": "invalid_grant"}, 400)
                state.grants.append(grant)
                return self._json(state.issue(sub, with_refresh=True))
        return self._json({"error": "unsupported_grant_type"}, 400)


class LoopbackOidc:
    """The provider served by a thread on 127.0.0.1 (``with LoopbackOidc() as oidc: ...``)."""

    def __init__(self, port: int = 0) -> None:
        self.state = ProviderState()
        handler = type("Handler", (_Handler,), {"state": self.state})
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        self.state.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def issuer(self) -> str:
        return self.state.issuer

    def __enter__(self) -> "LoopbackOidc":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()


def main() -> None:
    with LoopbackOidc(int(sys.argv[1]) if len(sys.argv) > 1 else 0) as provider:
        print(f"OIDC_ISSUER={provider.issuer}", flush=True)
        print(f"OIDC_SERVICE_SECRET={provider.state.service_secret}", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
