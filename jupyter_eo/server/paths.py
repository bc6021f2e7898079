"""Proxy URL safety: upstream URLs that never leave the backend's base, and rewriting back to the proxy."""
from __future__ import annotations

import re
import unicodedata
from typing import Any, Callable
from urllib.parse import quote, unquote, unquote_plus, urljoin, urlsplit

from ..errors import OpenEOError

# Encoded characters that would change the URL structure once decoded upstream.
_FORBIDDEN_ENCODED = re.compile(r"%(2f|5c|3f|23|25|40|0[0-9a-f]|1[0-9a-f]|7f)", re.IGNORECASE)
_RAW_ALLOWED = re.compile(r"^[A-Za-z0-9\-._~!$&'()*+,;=:%/]*$")
_QUERY_ALLOWED = re.compile(r"^[A-Za-z0-9\-._~!$&'()*+,;=:%/?@\[\]|^{}`\"<> ]*$")
_SEGMENT_SAFE = "-._~!$&'()*+,;=:"


class ProxyPathInvalid(OpenEOError):
    """Backend-specific error: the proxied path could escape the backend's base URL."""

    code = "ProxyPathInvalid"
    status = 400


def _invalid(reason: str) -> ProxyPathInvalid:
    return ProxyPathInvalid(f"Invalid path for the openEO proxy: {reason}.")


def safe_subpath(raw_path: str) -> str:
    """Validate the raw (percent-encoded) path below a backend and return it re-encoded.

    Refused: encoded '/', '\\', '?', '#', '%', '@' or control characters; raw backslashes,
    '@' or anything outside RFC 3986 path characters; empty segments ('//'); '.' and '..'
    segments, also in Unicode disguises (NFKC) or with trailing dots/spaces.
    """
    if not _RAW_ALLOWED.match(raw_path):
        raise _invalid("characters outside the allowed set")
    if _FORBIDDEN_ENCODED.search(raw_path):
        raise _invalid("encoded separator, query, percent or control character")
    try:
        decoded = unquote(raw_path, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise _invalid("not UTF-8") from None
    if decoded.startswith("/"):
        raise _invalid("absolute or protocol-relative path")
    segments = decoded.split("/")
    out = []
    for index, segment in enumerate(segments):
        if segment == "":
            if index == len(segments) - 1:
                out.append("")  # trailing slash
                continue
            raise _invalid("empty path segment")
        folded = unicodedata.normalize("NFKC", segment)
        if any(ch in folded for ch in "/\\?#@%") or any(unicodedata.category(ch) in ("Cc", "Cf")
                                                          for ch in folded):
            raise _invalid("separator in disguise")
        if folded.strip(". \t") == "":
            raise _invalid("dot segment")
        out.append(quote(segment, safe=_SEGMENT_SAFE))
    return "/".join(out)


#: Query parameters that authenticate to Jupyter itself: never forwarded upstream.
JUPYTER_QUERY_PARAMS = frozenset({"token", "_xsrf"})


def strip_jupyter_params(raw_query: str) -> str:
    """``raw_query`` without Jupyter's own credentials (``token``, ``_xsrf``; also encoded)."""
    kept = [part for part in raw_query.split("&")
            if part and unquote_plus(part.split("=", 1)[0]) not in JUPYTER_QUERY_PARAMS]
    return "&".join(kept)


def safe_query(raw_query: str) -> str:
    """The raw query string without Jupyter's credentials; refused when it holds fragments or
    control characters."""
    if not raw_query:
        return ""
    if "#" in raw_query or not _QUERY_ALLOWED.match(raw_query):
        raise _invalid("query string with forbidden characters")
    return strip_jupyter_params(raw_query).replace(" ", "%20")


def is_under(url: str, base: str) -> bool:
    """True when ``url`` has the base's scheme and authority and a path below the base's path."""
    u, b = urlsplit(url), urlsplit(base)
    if (u.scheme, u.netloc) != (b.scheme, b.netloc) or u.fragment:
        return False
    base_path = b.path if b.path.endswith("/") else b.path + "/"
    path = unquote(u.path)
    if "\\" in path:
        return False
    if not path.startswith(base_path):
        return path + "/" == base_path
    segments = path[len(base_path):].split("/")
    return all(s not in (".", "..") for s in segments) and "" not in segments[:-1]


def upstream_url(base: str, raw_path: str, raw_query: str = "") -> str:
    """``base`` + validated path (+ query); raises :class:`ProxyPathInvalid` otherwise."""
    if not base.endswith("/"):
        base += "/"
    url = base + safe_subpath(raw_path)
    query = safe_query(raw_query)
    if query:
        url += "?" + query
    if not is_under(url, base):
        raise _invalid("resolves outside the backend")
    return url


class Rewriter:
    """Maps absolute URLs under the upstream base to the same path under the proxy base."""

    def __init__(self, upstream_base: str, proxy_base: str) -> None:
        self.upstream = upstream_base if upstream_base.endswith("/") else upstream_base + "/"
        self.proxy = proxy_base if proxy_base.endswith("/") else proxy_base + "/"

    def url(self, value: str) -> str:
        if value == self.upstream[:-1]:
            return self.proxy
        if value.startswith(self.upstream):
            return self.proxy + value[len(self.upstream):]
        return value

    def location(self, value: str, request_url: str) -> str:
        """A Location header: resolved against the upstream request, then mapped when under it."""
        return self.url(urljoin(request_url, value))

    def json(self, data: Any) -> Any:
        """Every string in a JSON document that is an upstream URL becomes a proxy URL."""
        return _walk(data, self.url)

    def link_header(self, value: str) -> str:
        return re.sub(r"<([^>]*)>", lambda m: f"<{self.url(m.group(1))}>", value)


def _walk(data: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(data, str):
        return fn(data) if "://" in data else data
    if isinstance(data, list):
        return [_walk(item, fn) for item in data]
    if isinstance(data, dict):
        return {key: _walk(value, fn) for key, value in data.items()}
    return data
