"""Backends users add from the sidebar: discovery, validation, per-user file (0600), add/remove routes."""
from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import OpenEOError
from .backends import BackendConfigError, BackendRegistry, BackendSpec, parse_backend
from .base import JupyterEOHandler, eo_authenticated
from .credentials import CredentialStoreError, TokenStore
from .discovery import BackendInfo, discover

FILE_NAME = "backends"  # -> backends.json in the user's directory
USER_AUTH = ("none", "basic", "oidc")  # client_credentials needs a secret: admins only
USER_KEYS = ("url", "title", "auth", "oidc_provider_id", "oidc_client_id")
MAX_USER_BACKENDS = 50


class UserBackendsForbidden(OpenEOError):
    """Backend-specific: the administrator does not allow user-added backends."""

    code = "UserBackendsDisabled"
    status = 403


def _bad(message: str) -> OpenEOError:
    return OpenEOError(message, code="BadRequest", status=400)


def check_url(url: Any) -> str:
    """A backend URL as parse_backend accepts it (http(s), host, no query/user info)."""
    if not isinstance(url, str) or not url.strip():
        raise _bad("Give the backend's URL (https://...).")
    try:
        return parse_backend("check", {"url": url.strip()}).url
    except BackendConfigError as exc:
        raise _bad(str(exc).replace("backend 'check': ", "")) from None


def suggest_id(url: str, taken: set[str]) -> str:
    """A readable id from the URL's host (``openeo.dataspace.copernicus.eu`` -> ``openeo-dataspace-copernicus-eu``)."""
    host = urlsplit(url).hostname or "backend"
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", host).strip("-")[:56] or "backend"
    candidate, n = base, 2
    while candidate in taken or candidate == "local":
        candidate, n = f"{base}-{n}", n + 1
    return candidate


class UserBackendStore:
    """The user's own backends in ``<dir>/backends.json`` (directory 0700, file 0600, atomic)."""

    def __init__(self, root: Path, *, enabled: bool = True,
                 log: logging.Logger | None = None) -> None:
        self.store = TokenStore(root)
        self.enabled = enabled
        self.log = log or logging.getLogger(__name__)

    def entries(self) -> dict[str, dict[str, Any]]:
        try:
            data = self.store.load(FILE_NAME) or {}
        except CredentialStoreError as exc:
            self.log.warning("jupyter_eo: user backends not loaded: %s", exc)
            return {}
        backends = data.get("backends")
        return backends if isinstance(backends, dict) else {}

    def load_into(self, registry: BackendRegistry) -> None:
        """Register the saved backends (skipped when disabled; bad entries logged, skipped)."""
        if not self.enabled:
            return
        for backend_id, entry in self.entries().items():
            try:
                registry.add_user_backend(self._spec(backend_id, entry))
            except (BackendConfigError, OpenEOError) as exc:
                self.log.warning("jupyter_eo: skipping saved backend %r: %s", backend_id, exc)

    @staticmethod
    def _spec(backend_id: str, entry: Any) -> BackendSpec:
        if not isinstance(entry, dict):
            raise BackendConfigError(f"backend {backend_id!r}: expected a dict")
        clean = {k: entry[k] for k in USER_KEYS if k in entry}
        if clean.get("auth", "none") not in USER_AUTH:
            raise BackendConfigError(f"backend {backend_id!r}: auth must be one of {USER_AUTH}")
        return parse_backend(backend_id, clean)

    def add(self, registry: BackendRegistry, backend_id: str, entry: dict[str, Any]) -> BackendSpec:
        if not self.enabled:
            raise UserBackendsForbidden("Adding backends is disabled by the administrator.")
        entries = self.entries()
        if len(entries) >= MAX_USER_BACKENDS and backend_id not in entries:
            raise _bad(f"At most {MAX_USER_BACKENDS} own backends can be added.")
        try:
            spec = self._spec(backend_id, entry)
            registry.add_user_backend(spec)
        except BackendConfigError as exc:
            raise OpenEOError(str(exc), code="BadRequest", status=409 if "taken" in str(exc)
                              else 400) from None
        entries[backend_id] = {k: entry[k] for k in USER_KEYS if k in entry}
        self.store.save(FILE_NAME, {"backends": entries})
        return spec

    def remove(self, registry: BackendRegistry, backend_id: str) -> None:
        if not self.enabled:
            raise UserBackendsForbidden("Removing backends is disabled by the administrator.")
        try:
            registry.remove_user_backend(backend_id)
        except BackendConfigError as exc:
            raise OpenEOError(str(exc), code="BadRequest", status=403) from None
        entries = self.entries()
        entries.pop(backend_id, None)
        self.store.save(FILE_NAME, {"backends": entries})


def entry_from_request(body: dict[str, Any], info: BackendInfo) -> dict[str, Any]:
    """The saved entry: the user's choices, defaults from what the backend advertises."""
    auth = body.get("auth") or ("oidc" if "oidc" in info.auth_methods else
                                "basic" if "basic" in info.auth_methods else "none")
    if auth not in USER_AUTH:
        raise _bad(f"auth must be one of {USER_AUTH}.")
    entry: dict[str, Any] = {"url": info.url, "auth": auth,
                             "title": str(body.get("title") or info.title or "")[:200]}
    provider = body.get("oidc_provider_id")
    if auth == "oidc":
        ids = [p["id"] for p in info.oidc_providers]
        if provider and provider not in ids:
            raise _bad(f"The backend lists no OIDC provider {provider!r} (it lists {ids}).")
        entry["oidc_provider_id"] = provider or (ids[0] if ids else "")
    return entry


class DiscoverHandler(JupyterEOHandler):
    """``POST {"url"}``: what the URL leads to (API version, title, auth methods, OIDC
    providers), nothing saved. Network faults are 502/504 openEO errors."""

    @eo_authenticated
    async def post(self) -> None:
        body = _json_body(self)
        url = check_url(body.get("url"))
        info = await discover(self.settings["jupyter_eo_upstream"], url)
        self.write_json(info.public())


def _json_body(handler: JupyterEOHandler) -> dict[str, Any]:
    try:
        body = json.loads(handler.request.body or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise _bad("The request body must be a JSON object.")
    return body


async def add_from_request(handler: JupyterEOHandler) -> BackendSpec:
    """``POST jupyter-eo/api/backends {"url", "id"?, "title"?, "auth"?, "oidc_provider_id"?}``."""
    store: UserBackendStore | None = handler.settings.get("jupyter_eo_user_backends")
    if store is None or not store.enabled:
        raise UserBackendsForbidden("Adding backends is disabled by the administrator.")
    body = _json_body(handler)
    url = check_url(body.get("url"))
    info = await discover(handler.settings["jupyter_eo_upstream"], url)
    registry: BackendRegistry = handler.settings["jupyter_eo_backends"]
    backend_id = body.get("id") or suggest_id(url, set(registry.ids()))
    if not isinstance(backend_id, str):
        raise _bad("id must be a string.")
    return store.add(registry, backend_id, entry_from_request(body, info))


def remove_from_request(handler: JupyterEOHandler, backend_id: str) -> None:
    store: UserBackendStore = handler.settings["jupyter_eo_user_backends"]
    store.remove(handler.settings["jupyter_eo_backends"], backend_id)
    handler.settings["jupyter_eo_credentials"].forget(backend_id)
