"""Per-backend login state of the server's user: bearer tokens, logins, refresh once on 401, logout."""
from __future__ import annotations

import asyncio
import base64
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from ..errors import OpenEOError
from . import oidc
from .backends import BackendRegistry, BackendSpec
from .credentials import CredentialStoreError, TokenStore
from .discovery import find_api_root
from .supervisor import LocalBackendSupervisor
from .upstream_client import UpstreamClient

EXPIRY_MARGIN_S = 30.0


class LoginError(Exception):
    """A login failed; ``str()`` is safe to show and log (no secrets)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class _State:
    bearer: str = field(default="", repr=False)
    expires_at: float = 0.0
    pending: oidc.DeviceGrant | None = None
    task: asyncio.Task | None = None
    error: str = ""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    refreshes: int = 0


def _device_client(clients: list[Any]) -> str:
    """The first default client of a provider that supports the device-code grant."""
    for client in clients:
        grants = (client.get("grant_types") or []) if isinstance(client, dict) else []
        if any(str(g).startswith(oidc.DEVICE_GRANT) for g in grants):
            return str(client.get("id", ""))
    return ""


class CredentialManager:
    """Holds access tokens in memory and refresh tokens in the :class:`TokenStore`.

    The server belongs to one user (a single-user Jupyter server, also under JupyterHub), so
    credentials are per server user, not per browser session. Tokens are never logged.
    """

    def __init__(self, registry: BackendRegistry, store: TokenStore,
                 supervisor: LocalBackendSupervisor | None, *, timeout: float = 30.0,
                 log: logging.Logger | None = None, http: UpstreamClient | None = None) -> None:
        self.registry = registry
        self.store = store
        self.supervisor = supervisor
        self.timeout = timeout
        self.log = log or logging.getLogger(__name__)
        self._own_http = http is None
        self.http = http if http is not None else UpstreamClient(timeout=timeout)
        self._states: dict[str, _State] = {}
        self._providers: dict[str, tuple[str, oidc.Provider, str, list[str]]] = {}
        self._roots: dict[str, str] = {}

    def _state(self, backend_id: str) -> _State:
        return self._states.setdefault(backend_id, _State())

    def _spec(self, backend_id: str) -> BackendSpec:
        spec = self.registry.get(backend_id)
        if spec is None:
            raise LoginError(f"unknown backend {backend_id!r}", 404)
        return spec

    async def upstream_base(self, spec: BackendSpec) -> str:
        """The URL prefix requests to ``spec`` go to (the local child is started on demand)."""
        if spec.local:
            if self.supervisor is None:
                raise LoginError("the embedded backend is disabled", 404)
            return (await self.supervisor.ensure()).url
        return spec.base

    async def api_root(self, spec: BackendSpec) -> str:
        """The API root logins use: ``spec.url`` may be a well-known root (discovered, the highest
        production 1.x version) or the API root itself; cached per backend."""
        if spec.local:
            return await self.upstream_base(spec)
        if spec.id not in self._roots:
            root, _, _ = await find_api_root(self.http, spec.url)
            self._roots[spec.id] = root
        return self._roots[spec.id]

    def forget(self, backend_id: str) -> None:
        """Drop cached discovery, login state and stored tokens (a user removed the backend)."""
        state = self._states.pop(backend_id, None)
        if state is not None and state.task is not None and not state.task.done():
            state.task.cancel()
        self._providers.pop(backend_id, None)
        self._roots.pop(backend_id, None)
        try:
            self.store.delete(backend_id)
        except CredentialStoreError:
            pass

    # -- public state -------------------------------------------------------------------
    def status(self, backend_id: str) -> dict[str, Any]:
        """Login state for the sidebar: ``ready`` | ``logged_out`` | ``pending`` | ``error``."""
        spec = self._spec(backend_id)
        state = self._state(backend_id)
        if state.pending is not None:
            return {"state": "pending", "device": state.pending.public()}
        if spec.local and self.supervisor is not None and self.supervisor.last_error \
                and not self.supervisor.running:
            return {"state": "error", "error": self.supervisor.last_error}
        if spec.local or spec.auth in ("none", "client_credentials") or state.bearer:
            return {"state": "ready"}
        try:
            stored = self.store.load(backend_id)
        except CredentialStoreError as exc:
            return {"state": "error", "error": str(exc)}
        if stored and (stored.get("refresh_token") or stored.get("access_token")):
            return {"state": "ready"}
        return {"state": "error", "error": state.error} if state.error else {"state": "logged_out"}

    # -- token for a request --------------------------------------------------------------
    async def bearer(self, backend_id: str) -> str:
        """The bearer value (``basic//...`` / ``oidc/<provider>/...``) or '' when not logged in."""
        spec = self._spec(backend_id)
        if spec.auth == "none" and not spec.local:
            return ""
        state = self._state(backend_id)
        if state.bearer and (not state.expires_at or state.expires_at - EXPIRY_MARGIN_S > time.time()):
            return state.bearer
        async with state.lock:
            if state.bearer and (not state.expires_at
                                 or state.expires_at - EXPIRY_MARGIN_S > time.time()):
                return state.bearer
            await self._renew(spec, state)
            return state.bearer

    async def after_unauthorized(self, backend_id: str, used: str) -> str:
        """Called when the upstream answered 401 to ``used``: renew once, shared by racers."""
        spec = self._spec(backend_id)
        state = self._state(backend_id)
        async with state.lock:
            if state.bearer and state.bearer != used:
                return state.bearer  # another request already renewed it
            state.bearer, state.expires_at = "", 0.0
            await self._renew(spec, state, after_401=True)
            return state.bearer

    async def _renew(self, spec: BackendSpec, state: _State, after_401: bool = False) -> None:
        """Obtain a fresh token without user interaction, if the backend's auth allows it."""
        try:
            if spec.local:
                info = await self.supervisor.ensure()  # type: ignore[union-attr]
                token = await self._basic_token(info.url, info.username, info.password,
                                                direct=True)
                state.bearer, state.expires_at = f"basic//{token}", 0.0
            elif spec.auth == "client_credentials":
                pid, provider, client_id, scopes = await self._provider(spec)
                tokens = await oidc.client_credentials(self.http, provider, client_id,
                                                       spec.oidc_client_secret, scopes)
                state.bearer, state.expires_at = f"oidc/{pid}/{tokens.access_token}", tokens.expires_at
            elif spec.auth == "basic":
                stored = self.store.load(spec.id) or {}
                if after_401:
                    self.store.delete(spec.id)
                    state.error = "session expired: log in again"
                elif stored.get("access_token"):
                    state.bearer, state.expires_at = str(stored["access_token"]), 0.0
            elif spec.auth == "oidc":
                stored = self.store.load(spec.id) or {}
                refresh_token = str(stored.get("refresh_token") or "")
                if not refresh_token:
                    return
                pid, provider, client_id, _ = await self._provider(spec)
                tokens = await oidc.refresh(self.http, provider, client_id, refresh_token,
                                            spec.oidc_client_secret)
                state.bearer, state.expires_at = f"oidc/{pid}/{tokens.access_token}", tokens.expires_at
                state.refreshes += 1
                if tokens.refresh_token != refresh_token:
                    self.store.save(spec.id, {**stored, "refresh_token": tokens.refresh_token})
        except (oidc.OidcError, LoginError, CredentialStoreError) as exc:
            state.error = str(exc)
            self.log.warning("jupyter_eo: could not renew credentials for %s: %s", spec.id, exc)
            if isinstance(exc, oidc.OidcError) and spec.auth == "oidc":
                self.store.delete(spec.id)
        except OpenEOError as exc:  # network fault: keep stored tokens, report, let callers answer
            state.error = exc.message
            raise

    # -- upstream helpers ---------------------------------------------------------------
    async def _basic_token(self, base: str, username: str, password: str,
                           direct: bool = False) -> str:
        raw = base64.b64encode(f"{username}:{password}".encode()).decode()
        code, body = await self.http.call_json(base + "credentials/basic",
                                               headers={"Authorization": f"Basic {raw}"},
                                               timeout=self.timeout, direct=direct)
        if code != 200 or not isinstance(body, dict) or not body.get("access_token"):
            message = body.get("message") if isinstance(body, dict) else None
            raise LoginError(f"basic login failed (HTTP {code}): {message or 'no token'}",
                             403 if code in (401, 403) else 502)
        return str(body["access_token"])

    async def _provider(self, spec: BackendSpec) -> tuple[str, oidc.Provider, str, list[str]]:
        """(provider id, provider endpoints, client id, scopes) for an OIDC backend, cached."""
        if spec.id in self._providers:
            return self._providers[spec.id]
        pid, issuer, client_id, scopes = (spec.oidc_provider_id, spec.oidc_issuer,
                                          spec.oidc_client_id, list(spec.oidc_scopes))
        if not (pid and issuer and client_id):
            code, body = await self.http.call_json(await self.api_root(spec) + "credentials/oidc",
                                                   timeout=self.timeout)
            providers = body.get("providers", []) if isinstance(body, dict) else []
            chosen = next((p for p in providers if isinstance(p, dict)
                           and (not pid or p.get("id") == pid)), None)
            if chosen is None:
                raise LoginError(f"backend {spec.id!r} lists no usable OIDC provider "
                                 f"(HTTP {code})", 502)
            pid = pid or str(chosen.get("id", ""))
            issuer = issuer or str(chosen.get("issuer", ""))
            if not client_id:
                client_id = _device_client(chosen.get("default_clients") or [])
            if scopes == ["openid"] and chosen.get("scopes"):
                scopes = [str(s) for s in chosen["scopes"]]
        if not (pid and issuer and client_id):
            raise LoginError(f"backend {spec.id!r}: OIDC provider, issuer or client id unknown; "
                             "set oidc_provider_id, oidc_issuer and oidc_client_id", 400)
        provider = await oidc.discover(self.http, issuer)
        result = (pid, provider, client_id, scopes)
        self._providers[spec.id] = result
        return result

    # -- logins -------------------------------------------------------------------------
    async def login_basic(self, backend_id: str, username: str, password: str) -> None:
        """Exchange the password for a token once; the password is not kept."""
        spec = self._spec(backend_id)
        if spec.auth != "basic" or spec.local:
            raise LoginError(f"backend {backend_id!r} does not use basic login")
        state = self._state(backend_id)
        try:
            token = await self._basic_token(await self.api_root(spec), username, password)
        except (LoginError, OpenEOError) as exc:  # shown in the sidebar until the next attempt
            state.bearer, state.error = "", str(exc)
            raise
        async with state.lock:
            state.bearer, state.expires_at, state.error = f"basic//{token}", 0.0, ""
            self.store.save(backend_id, {"kind": "basic", "access_token": state.bearer})

    async def login_client_credentials(self, backend_id: str) -> None:
        spec = self._spec(backend_id)
        if spec.auth != "client_credentials":
            raise LoginError(f"backend {backend_id!r} does not use client credentials")
        state = self._state(backend_id)
        async with state.lock:
            state.bearer = ""
            await self._renew(spec, state)
            if not state.bearer:
                raise LoginError(state.error or "client-credentials login failed", 403)
            state.error = ""

    async def start_device_flow(self, backend_id: str) -> dict[str, Any]:
        """Start the OIDC device-code flow; the server polls in the background."""
        spec = self._spec(backend_id)
        if spec.auth != "oidc":
            raise LoginError(f"backend {backend_id!r} does not use OIDC login")
        state = self._state(backend_id)
        if state.task is not None and not state.task.done() and state.pending is not None:
            return state.pending.public()
        try:
            pid, provider, client_id, scopes = await self._provider(spec)
            grant = await oidc.device_authorize(self.http, provider, client_id, scopes,
                                                spec.oidc_client_secret)
        except oidc.OidcError as exc:
            state.error = str(exc)
            raise LoginError(str(exc), 502) from None
        except (LoginError, OpenEOError) as exc:
            state.error = str(exc)
            raise
        state.pending, state.error = grant, ""
        state.task = asyncio.ensure_future(self._poll(spec, state, pid, provider, client_id, grant))
        return grant.public()

    async def _poll(self, spec: BackendSpec, state: _State, pid: str, provider: oidc.Provider,
                    client_id: str, grant: oidc.DeviceGrant) -> None:
        try:
            tokens = await oidc.poll_device_token(self.http, provider, client_id, grant)
        except (oidc.OidcError, OpenEOError) as exc:
            state.error = str(exc)
            self.log.info("jupyter_eo: device login for %s failed: %s", spec.id, exc)
        else:
            async with state.lock:
                state.bearer = f"oidc/{pid}/{tokens.access_token}"
                state.expires_at, state.error = tokens.expires_at, ""
                if tokens.refresh_token:
                    self.store.save(spec.id, {"kind": "oidc", "provider_id": pid,
                                              "refresh_token": tokens.refresh_token})
            self.log.info("jupyter_eo: logged in to %s", spec.id)
        finally:
            if state.pending is grant:
                state.pending = None

    async def wait_login(self, backend_id: str) -> None:
        """Await a running device flow (tests, and callers that want to block)."""
        task = self._state(backend_id).task
        if task is not None:
            await task

    def logout(self, backend_id: str) -> None:
        """Forget every token of ``backend_id`` (memory and disk) and cancel a pending login."""
        self._spec(backend_id)
        state = self._state(backend_id)
        if state.task is not None and not state.task.done():
            state.task.cancel()
        state.bearer, state.expires_at, state.pending, state.error = "", 0.0, None, ""
        self.store.delete(backend_id)

    def close(self) -> None:
        for state in self._states.values():
            if state.task is not None and not state.task.done():
                state.task.cancel()
        if self._own_http:
            self.http.close()
