"""OIDC client flows run by the server: discovery, device code (polling), client credentials, refresh."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable
from urllib.parse import urlencode

from .upstream_client import UpstreamClient

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class OidcError(Exception):
    """A flow failed; ``str()`` is safe to show (never contains tokens or secrets)."""


@dataclass
class Provider:
    """An OIDC provider as far as our flows need it."""

    issuer: str
    token_endpoint: str
    device_authorization_endpoint: str = ""


@dataclass
class TokenSet:
    access_token: str
    refresh_token: str = ""
    expires_at: float = 0.0


@dataclass
class DeviceGrant:
    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    verification_uri_complete: str = ""
    interval: float = 5.0
    expires_at: float = 0.0
    code_verifier: str = field(default="", repr=False)
    client_secret: str = field(default="", repr=False)

    def public(self) -> dict[str, Any]:
        """What the browser shows: URL and user code (the device code stays on the server)."""
        return {"verification_uri": self.verification_uri,
                "verification_uri_complete": self.verification_uri_complete,
                "user_code": self.user_code,
                "expires_in": max(0, round(self.expires_at - time.time()))}


async def _call(client: UpstreamClient, url: str, *,
                form: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    """One JSON exchange with the provider; network faults raise 502/504 openEO errors
    (``could not reach <url>: ...``), which are not :class:`OidcError` (stored tokens stay)."""
    code, body = await client.call_json(
        url, method="POST" if form is not None else "GET",
        body=urlencode(form) if form is not None else None,
        headers={"Content-Type": "application/x-www-form-urlencoded"} if form is not None else None)
    return code, body if isinstance(body, dict) else {}


def _error(body: dict[str, Any], code: int) -> str:
    error = str(body.get("error", f"HTTP {code}"))[:100]
    description = str(body.get("error_description", ""))[:200]
    return f"{error}: {description}" if description else error


async def discover(client: UpstreamClient, issuer: str) -> Provider:
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    code, body = await _call(client, url)
    if code != 200 or "token_endpoint" not in body:
        raise OidcError(f"OIDC discovery failed for {issuer} (HTTP {code})")
    return Provider(issuer=issuer, token_endpoint=str(body["token_endpoint"]),
                    device_authorization_endpoint=str(
                        body.get("device_authorization_endpoint", "")))


def _tokens(body: dict[str, Any]) -> TokenSet:
    if not body.get("access_token"):
        raise OidcError("OIDC provider returned no access token")
    expires_in = body.get("expires_in")
    expires_at = time.time() + float(expires_in) if isinstance(expires_in, (int, float)) else 0.0
    return TokenSet(access_token=str(body["access_token"]),
                    refresh_token=str(body.get("refresh_token") or ""), expires_at=expires_at)


async def device_authorize(client: UpstreamClient, provider: Provider, client_id: str,
                           scopes: list[str], client_secret: str = "") -> DeviceGrant:
    if not provider.device_authorization_endpoint:
        raise OidcError("the OIDC provider does not support the device-code flow")
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    code, body = await _call(client, provider.device_authorization_endpoint,
                             form={"client_id": client_id, "scope": " ".join(scopes),
                                   "code_challenge": challenge.decode(),
                                   "code_challenge_method": "S256",
                                   **({"client_secret": client_secret} if client_secret else {})})
    if code != 200 or "device_code" not in body:
        raise OidcError(f"device authorization failed: {_error(body, code)}")
    return DeviceGrant(device_code=str(body["device_code"]), user_code=str(body["user_code"]),
                       verification_uri=str(body.get("verification_uri")
                                            or body.get("verification_url", "")),
                       verification_uri_complete=str(body.get("verification_uri_complete", "")),
                       interval=float(body.get("interval", 5)),
                       expires_at=time.time() + float(body.get("expires_in", 300)),
                       code_verifier=verifier, client_secret=client_secret)


async def poll_device_token(client: UpstreamClient, provider: Provider, client_id: str,
                            grant: DeviceGrant,
                            sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> TokenSet:
    """Poll the token endpoint until the user approved, denied or the code expired."""
    interval = max(0.05, grant.interval)
    while time.time() < grant.expires_at:
        await sleep(interval)
        form = {"grant_type": DEVICE_GRANT, "device_code": grant.device_code,
                "client_id": client_id, "code_verifier": grant.code_verifier}
        if grant.client_secret:
            form["client_secret"] = grant.client_secret
        code, body = await _call(client, provider.token_endpoint, form=form)
        if code == 200:
            return _tokens(body)
        error = body.get("error")
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval += 5
            continue
        raise OidcError(f"device login failed: {_error(body, code)}")
    raise OidcError("device login expired before it was approved")


async def client_credentials(client: UpstreamClient, provider: Provider, client_id: str,
                             client_secret: str, scopes: list[str]) -> TokenSet:
    code, body = await _call(client, provider.token_endpoint, form={
        "grant_type": "client_credentials", "client_id": client_id,
        "client_secret": client_secret, "scope": " ".join(scopes)})
    if code != 200:
        raise OidcError(f"client-credentials login failed: {_error(body, code)}")
    return _tokens(body)


async def refresh(client: UpstreamClient, provider: Provider, client_id: str,
                  refresh_token: str, client_secret: str = "") -> TokenSet:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    if client_secret:
        form["client_secret"] = client_secret
    code, body = await _call(client, provider.token_endpoint, form=form)
    if code != 200:
        raise OidcError(f"token refresh failed: {_error(body, code)}")
    tokens = _tokens(body)
    if not tokens.refresh_token:
        tokens.refresh_token = refresh_token  # providers may keep the old one valid
    return tokens
