"""The configured openEO backends: validated specs by id and their public (secret-free) view."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

AUTH_KINDS = ("none", "basic", "oidc", "client_credentials")
LOCAL_ID = "local"
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class BackendConfigError(ValueError):
    """A backend entry in the configuration is invalid (message names the entry, never secrets)."""


@dataclass
class BackendSpec:
    """One backend: where it is, how users authenticate, and OIDC client settings.

    ``url`` is the backend's API root (or its well-known root). For ``auth="oidc"`` the
    device-code flow is used with ``oidc_client_id``; ``client_credentials`` uses
    ``oidc_client_id`` + ``oidc_client_secret`` (a service account set by the host).
    ``oidc_issuer``/``oidc_provider_id`` default to the backend's first ``/credentials/oidc`` entry.
    """

    id: str
    url: str
    title: str = ""
    auth: str = "none"
    oidc_provider_id: str = ""
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = field(default="", repr=False)
    oidc_scopes: list[str] = field(default_factory=lambda: ["openid"])
    local: bool = False
    user: bool = False  # added by the user from the sidebar (removable), not by the admin

    @property
    def base(self) -> str:
        """The URL prefix every proxied request must stay under (ends with '/')."""
        return self.url if self.url.endswith("/") else self.url + "/"

    def public_view(self) -> dict[str, Any]:
        """What browsers and kernels may see: no secrets, no loopback URL of the local child."""
        view: dict[str, Any] = {"id": self.id, "title": self.title or self.id, "auth": self.auth,
                                "local": self.local, "user": self.user}
        if not self.local:
            view["url"] = self.url
        return view


def parse_backend(backend_id: str, entry: Any) -> BackendSpec:
    """Validate one configuration entry ``{url, title, auth, oidc_*}``."""
    if not isinstance(backend_id, str) or not _ID_RE.match(backend_id):
        raise BackendConfigError(f"backend id {backend_id!r} must match {_ID_RE.pattern}")
    if backend_id == LOCAL_ID:
        raise BackendConfigError("backend id 'local' is reserved for the embedded backend")
    if not isinstance(entry, dict):
        raise BackendConfigError(f"backend {backend_id!r}: expected a dict")
    known = {"url", "title", "auth", "oidc_provider_id", "oidc_issuer", "oidc_client_id",
             "oidc_client_secret", "oidc_scopes"}
    unknown = set(entry) - known
    if unknown:
        raise BackendConfigError(f"backend {backend_id!r}: unknown keys {sorted(unknown)}")
    url = str(entry.get("url", ""))
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BackendConfigError(f"backend {backend_id!r}: url must be http(s)://host/...")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise BackendConfigError(f"backend {backend_id!r}: url must not carry query, fragment "
                                 "or user info")
    auth = str(entry.get("auth", "none"))
    if auth not in AUTH_KINDS:
        raise BackendConfigError(f"backend {backend_id!r}: auth must be one of {AUTH_KINDS}")
    if auth == "client_credentials" and not (entry.get("oidc_client_id")
                                             and entry.get("oidc_client_secret")):
        raise BackendConfigError(f"backend {backend_id!r}: client_credentials needs "
                                 "oidc_client_id and oidc_client_secret")
    scopes = entry.get("oidc_scopes", ["openid"])
    if isinstance(scopes, str):
        scopes = scopes.split()
    return BackendSpec(
        id=backend_id, url=url, title=str(entry.get("title", "")), auth=auth,
        oidc_provider_id=str(entry.get("oidc_provider_id", "")),
        oidc_issuer=str(entry.get("oidc_issuer", "")),
        oidc_client_id=str(entry.get("oidc_client_id", "")),
        oidc_client_secret=str(entry.get("oidc_client_secret", "")),
        oidc_scopes=[str(s) for s in scopes],
    )


class BackendRegistry:
    """All configured backends by id; the ``local`` entry's URL is filled in by the supervisor."""

    def __init__(self, config: dict[str, Any], *, local_enabled: bool = True,
                 local_title: str = "Embedded backend (offline)") -> None:
        self._specs: dict[str, BackendSpec] = {}
        if local_enabled:
            self._specs[LOCAL_ID] = BackendSpec(id=LOCAL_ID, url="http://127.0.0.1/",
                                                title=local_title, auth="basic", local=True)
        for backend_id, entry in (config or {}).items():
            self._specs[backend_id] = parse_backend(backend_id, entry)

    def get(self, backend_id: str) -> BackendSpec | None:
        return self._specs.get(backend_id)

    def add_user_backend(self, spec: BackendSpec) -> None:
        """Register a user's own backend; ids of configured backends cannot be taken."""
        current = self._specs.get(spec.id)
        if current is not None and not current.user:
            raise BackendConfigError(f"backend id {spec.id!r} is taken by a configured backend")
        spec.user = True
        self._specs[spec.id] = spec

    def remove_user_backend(self, backend_id: str) -> BackendSpec:
        """Unregister a user's own backend (configured ones cannot be removed)."""
        spec = self._specs.get(backend_id)
        if spec is None or not spec.user:
            raise BackendConfigError(f"backend {backend_id!r} was not added by the user")
        return self._specs.pop(backend_id)

    def ids(self) -> list[str]:
        return list(self._specs)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._specs.values())

    def public_view(self) -> list[dict[str, Any]]:
        """The list served by ``GET jupyter-eo/api/backends`` (without per-user state)."""
        return [spec.public_view() for spec in self._specs.values()]
