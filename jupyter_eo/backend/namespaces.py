"""Processes in other namespaces: public process documents fetched safely, named providers refused.

A namespace URL (``https://…/my_udp.json``) is fetched with the same rules as the process plaza
(``jupyter_eo/server/process_fetch.py``), implemented here because the backend cannot import
the server: only ``http(s)`` URLs without credentials, redirects only to ``http(s)``, at most
:data:`MAX_DOCUMENT_BYTES` (the transfer is cut beyond it) and :data:`FETCH_TIMEOUT` seconds,
no cookies or credentials sent, the body must be JSON that passes
:func:`jupyter_eo.graph.process_doc.process_documents`; nothing in it is executed (its graph
is evaluated by the engine like any user's graph). Documents are cached for a short time.
A provider namespace (``namespace="vito"`` or ``process_id="name@vito"``) is not available on
the embedded backend: the error names the namespace and the process.
"""
from __future__ import annotations

import re
import threading
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from jupyter_eo.errors import OpenEOError, ProcessGraphInvalid, ProcessUnsupported
from jupyter_eo.graph.process_doc import MAX_DOCUMENT_BYTES, process_documents

FETCH_TIMEOUT = 15.0  # seconds for the whole transfer
CACHE_SECONDS = 60.0
CACHE_ENTRIES = 64
MAX_REDIRECTS = 3
_URL = re.compile(r"^https?://", re.IGNORECASE)


def is_namespace_url(namespace: Any) -> bool:
    return isinstance(namespace, str) and bool(_URL.match(namespace))


def provider_of(process_id: str, namespace: Any) -> str | None:
    """The provider named by ``name@provider`` or a non-URL, non-user namespace, else None."""
    if isinstance(process_id, str) and "@" in process_id:
        return process_id.rsplit("@", 1)[1] or None
    if isinstance(namespace, str) and namespace and not is_namespace_url(namespace) \
            and namespace not in ("user", "backend", "openeo", "core"):
        return namespace
    return None


def provider_unavailable(process_id: str, provider: str) -> ProcessUnsupported:
    name = process_id.rsplit("@", 1)[0] if "@" in process_id else process_id
    return ProcessUnsupported(
        f"Process {name!r} is published in namespace {provider!r}, which the embedded backend "
        f"does not provide: run it on a backend of {provider!r}, or give the URL of its public "
        "process document as the namespace (it is then fetched and run here).")


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ProcessGraphInvalid("Only absolute http(s) namespace URLs can be loaded.")
    if parts.username or parts.password:
        raise ProcessGraphInvalid("A namespace URL with a user name or password is not loaded.")
    return url


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    max_redirections = MAX_REDIRECTS

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[override]
        check_url(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_HttpOnlyRedirects())


def fetch_bytes(url: str, *, limit: int = MAX_DOCUMENT_BYTES,
                timeout: float = FETCH_TIMEOUT) -> bytes:
    """The body at ``url``: at most ``limit`` bytes within ``timeout`` seconds, else an error."""
    check_url(url)
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url, headers={"Accept": "application/json",
                                                   "User-Agent": "jupyter_eo-backend"})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > limit:
                raise _too_large(url, limit)
            chunks, size = [], 0
            while True:
                if time.monotonic() > deadline:
                    raise OpenEOError(f"Fetching the namespace {url!r} took longer than "
                                      f"{timeout:g} s.", code="ProcessGraphInvalid", status=400)
                chunk = response.read(64 * 1024)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise _too_large(url, limit)
                chunks.append(chunk)
            return b"".join(chunks)
    except OpenEOError:
        raise
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:
            raise ProcessUnsupported(f"The namespace {url!r} redirects to a URL that is not "
                                     "http(s) or too often; it is not followed.") from None
        raise ProcessUnsupported(f"The namespace {url!r} answered HTTP {exc.code}.") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ProcessUnsupported(f"The namespace {url!r} could not be fetched: {reason}.") \
            from None


def _too_large(url: str, limit: int) -> OpenEOError:
    return ProcessGraphInvalid(f"The process document at {url!r} is larger than {limit} bytes.")


class NamespaceDocuments:
    """Fetches and caches public process documents by namespace URL (thread-safe)."""

    def __init__(self, ttl: float = CACHE_SECONDS, entries: int = CACHE_ENTRIES) -> None:
        self.ttl, self.entries = ttl, entries
        self._cache: dict[str, tuple[float, list[dict[str, Any]]]] = {}
        self._lock = threading.Lock()

    def documents(self, url: str) -> list[dict[str, Any]]:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(url)
            if hit is not None and now - hit[0] < self.ttl:
                return hit[1]
        docs = process_documents(fetch_bytes(url))
        with self._lock:
            if len(self._cache) >= self.entries:
                self._cache.pop(min(self._cache, key=lambda k: self._cache[k][0]))
            self._cache[url] = (now, docs)
        return docs

    def find(self, url: str, process_id: str) -> dict[str, Any]:
        """The document of ``process_id`` at ``url`` (a process or a catalogue)."""
        docs = self.documents(url)
        for doc in docs:
            if doc.get("id") == process_id:
                if not isinstance(doc.get("process_graph"), dict):
                    raise ProcessUnsupported(
                        f"The process {process_id!r} at {url!r} has no process graph to run.")
                return doc
        raise ProcessUnsupported(
            f"The namespace {url!r} has no process {process_id!r} "
            f"(it has: {', '.join(sorted(str(d.get('id')) for d in docs)[:20])}).")
