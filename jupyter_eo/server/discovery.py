"""Backend discovery: well-known root or API root -> chosen API version, title, auth methods, OIDC providers."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from ..errors import OpenEOError
from .upstream_client import UpstreamClient


class DiscoveryFailed(OpenEOError):
    """Backend-specific: no openEO API was found at the given URL."""

    code = "BackendNotFound"
    status = 502


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", text)[:3]) or (0,)


def choose_version(versions: list[Any]) -> dict[str, Any] | None:
    """The highest production 1.x entry of a ``/.well-known/openeo`` list (``production``
    defaults to true, as the openeo client reads it); else the highest 1.x; else None."""
    usable = [v for v in versions if isinstance(v, dict) and isinstance(v.get("url"), str)
              and urlsplit(v["url"]).scheme in ("http", "https")
              and _version_key(str(v.get("api_version", "")))[0] == 1]
    production = [v for v in usable if v.get("production", True) is not False]
    pool = production or usable
    return max(pool, key=lambda v: _version_key(str(v.get("api_version")))) if pool else None


def as_base(url: str) -> str:
    return url if url.endswith("/") else url + "/"


@dataclass
class BackendInfo:
    """What a URL leads to (for the sidebar's "add backend" and for logins)."""

    url: str
    api_root: str
    api_version: str = ""
    versions: list[dict[str, Any]] = field(default_factory=list)
    title: str = ""
    description: str = ""
    auth_methods: list[str] = field(default_factory=list)
    oidc_providers: list[dict[str, Any]] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        return asdict(self)


async def find_api_root(client: UpstreamClient, url: str) -> tuple[str, str, list[dict[str, Any]]]:
    """(API root ending in '/', its api_version, the well-known versions list) for ``url``,
    which may be a well-known root (``https://host``) or an API root."""
    base = as_base(url)
    code, body = await client.call_json(urljoin(base, ".well-known/openeo"))
    if code == 200 and isinstance(body, dict) and isinstance(body.get("versions"), list):
        chosen = choose_version(body["versions"])
        versions = [{"url": str(v.get("url")), "api_version": str(v.get("api_version", "")),
                     "production": v.get("production", True) is not False}
                    for v in body["versions"] if isinstance(v, dict)]
        if chosen is not None:
            return as_base(str(chosen["url"])), str(chosen.get("api_version", "")), versions
    code, body = await client.call_json(base)
    if code == 200 and isinstance(body, dict) and "api_version" in body:
        return base, str(body.get("api_version", "")), []
    raise DiscoveryFailed(f"no openEO API found at {url} (/.well-known/openeo and the URL "
                          f"itself answered no openEO document; last HTTP {code})")


def _provider_view(provider: dict[str, Any]) -> dict[str, Any]:
    clients = provider.get("default_clients") or []
    device = any(any(str(g).startswith("urn:ietf:params:oauth:grant-type:device_code")
                     for g in (c.get("grant_types") or []))
                 for c in clients if isinstance(c, dict))
    return {"id": str(provider.get("id", "")), "title": str(provider.get("title", ""))[:200],
            "issuer": str(provider.get("issuer", "")), "device_flow": device}


async def discover(client: UpstreamClient, url: str) -> BackendInfo:
    """Everything the sidebar shows before a backend is added."""
    root, version, versions = await find_api_root(client, url)
    info = BackendInfo(url=url, api_root=root, api_version=version, versions=versions)
    code, caps = await client.call_json(root)
    if code == 200 and isinstance(caps, dict):
        info.title = str(caps.get("title") or "")[:200]
        info.description = str(caps.get("description") or "")[:500]
        info.api_version = str(caps.get("api_version") or version)
        paths = {str(e.get("path", "")).rstrip("/") for e in caps.get("endpoints") or []
                 if isinstance(e, dict)}
        info.auth_methods = [m for m in ("basic", "oidc") if f"/credentials/{m}" in paths]
    # not every backend lists its credentials endpoints: ask them (public calls)
    code, body = await client.call_json(root + "credentials/oidc")
    providers = body.get("providers", []) if code == 200 and isinstance(body, dict) else []
    info.oidc_providers = [_provider_view(p) for p in providers if isinstance(p, dict)]
    if info.oidc_providers and "oidc" not in info.auth_methods:
        info.auth_methods.append("oidc")
    if "basic" not in info.auth_methods:
        code, _ = await client.call_json(root + "credentials/basic")
        if code in (401, 403):  # exists, wants a password
            info.auth_methods.insert(0, "basic")
    return info
