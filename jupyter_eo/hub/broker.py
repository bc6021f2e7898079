"""Token broker, a JupyterHub service: holds service-account secrets, gives hub users short-lived access tokens.

Students' servers are configured with ``auth: client_credentials`` against this broker as their
OIDC issuer and their own JupyterHub API token as the client secret. The broker checks that token
with the hub, performs the real client-credentials grant upstream (cached until shortly before
expiry) and returns only the access token. The upstream secret stays in this process and in its
0600 file; it never reaches a student's server, kernel or notebook.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.web import Application, RequestHandler

from jupyter_eo.errors import OpenEOError
from jupyter_eo.server import oidc
from jupyter_eo.server.egress import ProxyConfig
from jupyter_eo.server.upstream_client import UpstreamClient

log = logging.getLogger("jupyter_eo.hub.broker")
MARGIN_S = 60.0


@dataclass
class Account:
    """One upstream service account (from the broker's 0600 file)."""

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: list[str] = field(default_factory=lambda: ["openid"])
    token: oidc.TokenSet | None = field(default=None, repr=False)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Broker:
    """Verifies hub tokens and hands out cached upstream access tokens."""

    def __init__(self, accounts: dict[str, Account], hub_api_url: str) -> None:
        self.accounts = accounts
        self.hub_api_url = hub_api_url.rstrip("/") + "/"
        self.http = AsyncHTTPClient(force_instance=True)  # the hub's API (local)
        # the OIDC provider, through HTTP(S)_PROXY / NO_PROXY like every server-side call
        self.upstream = UpstreamClient(ProxyConfig.from_environment(), timeout=30.0)
        self.issued: dict[str, int] = {}

    async def hub_user(self, token: str) -> str:
        """The name of the hub user owning ``token``, or '' when the hub does not know it."""
        if not token:
            return ""
        response = await self.http.fetch(HTTPRequest(
            self.hub_api_url + "user", headers={"Authorization": f"token {token}"},
            request_timeout=10), raise_error=False)
        if response.code != 200:
            return ""
        model = json.loads(response.body or b"{}")
        return str(model.get("name", "")) if model.get("kind", "user") == "user" else ""

    async def access_token(self, backend_id: str) -> oidc.TokenSet:
        account = self.accounts[backend_id]
        async with account.lock:
            token = account.token
            if token is None or (token.expires_at and token.expires_at - MARGIN_S < time.time()):
                provider = await oidc.discover(self.upstream, account.issuer)
                token = await oidc.client_credentials(self.upstream, provider, account.client_id,
                                                      account.client_secret, account.scopes)
                account.token = token
            return token


class _Handler(RequestHandler):
    def initialize(self, broker: Broker) -> None:
        self.broker = broker

    def check_xsrf_cookie(self) -> None:  # form posts from servers, authenticated by hub token
        return None

    def _json(self, data: dict[str, Any], status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(data))


class DiscoveryHandler(_Handler):
    def get(self, backend_id: str) -> None:
        if backend_id not in self.broker.accounts:
            return self._json({"error": "not_found"}, 404)
        base = f"{self.request.protocol}://{self.request.host}/{backend_id}"
        return self._json({"issuer": base, "token_endpoint": base + "/token",
                           "grant_types_supported": ["client_credentials"]})


class TokenHandler(_Handler):
    async def post(self, backend_id: str) -> None:
        if backend_id not in self.broker.accounts:
            return self._json({"error": "invalid_client"}, 401)
        form = {k: v[0] for k, v in parse_qs(self.request.body.decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "client_credentials":
            return self._json({"error": "unsupported_grant_type"}, 400)
        user = await self.broker.hub_user(form.get("client_secret", ""))
        if not user:
            log.info("broker: refused a token request for %s (unknown hub token)", backend_id)
            return self._json({"error": "invalid_client"}, 401)
        try:
            token = await self.broker.access_token(backend_id)
        except (oidc.OidcError, OpenEOError) as exc:  # refused, or unreachable (502/504 text)
            log.warning("broker: upstream login for %s failed: %s", backend_id, exc)
            return self._json({"error": "temporarily_unavailable",
                               "error_description": "upstream service account login failed"}, 503)
        self.broker.issued[user] = self.broker.issued.get(user, 0) + 1
        log.info("broker: access token for %s issued to %s", backend_id, user)
        body: dict[str, Any] = {"access_token": token.access_token, "token_type": "Bearer"}
        if token.expires_at:
            body["expires_in"] = max(1, int(token.expires_at - time.time()))
        return self._json(body)


def load_accounts(path: Path) -> dict[str, Account]:
    """``{backend_id: {issuer, client_id, client_secret, scopes}}`` from the broker's file."""
    data = json.loads(path.read_text())
    return {bid: Account(issuer=str(e["issuer"]), client_id=str(e["client_id"]),
                         client_secret=str(e["client_secret"]),
                         scopes=[str(s) for s in e.get("scopes", ["openid"])])
            for bid, e in data.items()}


def make_app(broker: Broker) -> Application:
    return Application([
        (r"/([A-Za-z0-9][A-Za-z0-9_-]{0,63})/\.well-known/openid-configuration",
         DiscoveryHandler, {"broker": broker}),
        (r"/([A-Za-z0-9][A-Za-z0-9_-]{0,63})/token", TokenHandler, {"broker": broker}),
    ])


async def _serve(accounts: dict[str, Account], host: str, port: int) -> None:
    api_url = os.environ.get("JUPYTERHUB_API_URL", "http://127.0.0.1:8081/hub/api")
    app = make_app(Broker(accounts, api_url))
    app.listen(port, host)
    log.info("broker: serving %d account(s) at http://%s:%d/", len(accounts), host, port)
    await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jupyter_eo.hub.broker",
                                     description="jupyter_eo token broker (a JupyterHub service).")
    parser.add_argument("--accounts", type=Path, required=True,
                        help="JSON file (mode 0600) with the service accounts.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    asyncio.run(_serve(load_accounts(args.accounts), args.host, args.port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
