"""Where the process plaza finds processes: own UDPs, predefined processes, URLs and JSON files.

Loading by URL is safe: only ``http(s)``, at most ``MAX_DOCUMENT_BYTES``, ``FETCH_TIMEOUT`` seconds
in all, the JSON checked by :func:`jupyter_eo.graph.process_doc.process_documents` before use,
nothing executed. In JupyterLab the server fetches (``GET jupyter-eo/api/process-document?url=``,
authenticated with the kernel channel's secret), so its egress proxy settings apply and the
browser never fetches; a URL under the connection's own root is read through the connection (its
login applies); outside Jupyter the kernel fetches directly with the same limits.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import quote, urlsplit

from jupyter_eo.errors import OpenEOError, ProcessGraphInvalid, ProcessGraphNotFound
from jupyter_eo.graph.process_doc import MAX_DOCUMENT_BYTES, process_documents

__all__ = ["ProcessEntry", "FETCH_TIMEOUT", "FETCH_ROUTE", "fetch_documents", "load_source", "load_sources",
           "check_url"]

FETCH_TIMEOUT = 15.0  # seconds for one document, connect + read
FETCH_ROUTE = "jupyter-eo/api/process-document"
DEFAULT_SOURCES = ("user", "backend")


@dataclass
class ProcessEntry:
    """One process the plaza lists: its document and how a call names it.

    ``namespace``: ``"user"`` (own UDP), ``None`` (the backend's predefined process), or the URL
    the document came from. ``path``: the JSON file it came from (no namespace to share).
    ``complete``: False while only the listing's summary is known (the full document is loaded
    on selection).
    """

    document: dict[str, Any]
    origin: str
    namespace: str | None = None
    path: str | None = None
    complete: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return str(self.document.get("id"))

    @property
    def key(self) -> str:
        return f"{self.origin}::{self.id}"


def check_url(url: str) -> str:
    """``url`` if it is an absolute http(s) URL without credentials, else ProcessGraphInvalid."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProcessGraphInvalid(f"Only http(s) URLs can be loaded, not {url[:120]!r}.")
    if parts.username or parts.password:
        raise ProcessGraphInvalid("A URL with a user name or password is not loaded (credentials stay out of URLs).")
    return url.strip()


def _read_limited(response: Any, deadline: float) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > MAX_DOCUMENT_BYTES:
        raise ProcessGraphInvalid(f"The document is larger than {MAX_DOCUMENT_BYTES} bytes.")
    chunks, size = [], 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > MAX_DOCUMENT_BYTES:
            raise ProcessGraphInvalid(f"The document is larger than {MAX_DOCUMENT_BYTES} bytes.")
        if time.monotonic() > deadline:
            raise OpenEOError(f"Loading took longer than {FETCH_TIMEOUT:g} s.", code="RequestTimeout", status=408)
        chunks.append(chunk)
    return b"".join(chunks)


def _http_get(session: Any, url: str, headers: dict[str, str] | None = None) -> bytes:
    deadline = time.monotonic() + FETCH_TIMEOUT
    import requests

    try:
        response = session.get(url, headers=headers or {}, stream=True, timeout=(5, FETCH_TIMEOUT),
                               allow_redirects=False)
    except requests.Timeout:
        raise OpenEOError(f"Loading took longer than {FETCH_TIMEOUT:g} s.", code="RequestTimeout",
                          status=408) from None
    except requests.RequestException as exc:
        raise ProcessGraphNotFound(f"Could not reach {_where(url)}: {type(exc).__name__}.") from None
    with response:
        body = _read_limited(response, deadline)
        if response.status_code != 200:
            message = ""
            try:
                message = json.loads(body).get("message", "")
            except (ValueError, AttributeError):
                pass
            raise ProcessGraphNotFound(f"{_where(url)} answered HTTP {response.status_code}"
                                       f"{': ' + str(message)[:200] if message else ''}.")
    return body


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"[:200]


def fetch_documents(url: str, connection: Any = None) -> list[dict[str, Any]]:
    """The checked process documents at ``url`` (one process or a catalogue)."""
    url = check_url(url)
    if connection is not None:
        root = connection.build_url("/")
        if url.startswith(root):  # our backend (maybe through the lab's proxy): its session and login
            return process_documents(_http_get(connection.session, url, _auth_headers(connection)))
    from jupyter_eo.connection import channel_headers, server_url

    import requests

    server = server_url()
    if server:
        body = _http_get(requests.Session(), f"{server}{FETCH_ROUTE}?url={quote(url, safe='')}",
                         channel_headers())
        return process_documents(body)
    with requests.Session() as session:
        session.trust_env = True  # HTTP(S)_PROXY / NO_PROXY as everywhere else
        return process_documents(_http_get(session, url))


def _auth_headers(connection: Any) -> dict[str, str]:
    auth = getattr(connection, "auth", None)
    if auth is None:
        return {}
    import requests

    prepared = requests.Request("GET", connection.build_url("/")).prepare()
    auth(prepared)
    return {k: v for k, v in prepared.headers.items() if k.lower() == "authorization"}


def load_source(source: Any, connection: Any = None) -> list[ProcessEntry]:
    """The entries of one source: ``"user"``, ``"backend"``, a URL, a file path or a document dict."""
    if isinstance(source, dict):
        return [ProcessEntry(doc, origin="given") for doc in process_documents(source)]
    if source == "user":
        if connection is None:
            return []
        listing = connection.get("/process_graphs", expected_status=200).json().get("processes") or []
        return [ProcessEntry(_summary(doc), origin="my processes", namespace="user", complete=False)
                for doc in listing if isinstance(doc, dict) and doc.get("id")]
    if source == "backend":
        if connection is None:
            return []
        return [ProcessEntry(_summary(doc), origin="backend", namespace=None)
                for doc in connection.list_processes() if isinstance(doc, dict) and doc.get("id")]
    text = str(source).strip()
    if text.lower().startswith(("http://", "https://")):
        documents = fetch_documents(text, connection)
        return [ProcessEntry(doc, origin=_where(text), namespace=_namespace_of(doc, text)) for doc in documents]
    if "://" in text:
        raise ProcessGraphInvalid(f"Only http(s) URLs can be loaded, not {text[:120]!r}.")
    path = Path(text).expanduser()
    if not path.is_file():
        raise ProcessGraphNotFound(f"No such process file: {text[:200]}")
    if path.stat().st_size > MAX_DOCUMENT_BYTES:
        raise ProcessGraphInvalid(f"{path.name} is larger than {MAX_DOCUMENT_BYTES} bytes.")
    return [ProcessEntry(doc, origin=path.name, path=str(path)) for doc in process_documents(path.read_bytes())]


def _namespace_of(document: dict[str, Any], url: str) -> str:
    """A catalogue item's own canonical link if it has one, else the URL it was found at."""
    for link in document.get("links") or []:
        href = link.get("href") if isinstance(link, dict) else None
        if link.get("rel") == "canonical" and isinstance(href, str) and href.startswith(("http://", "https://")):
            return href
    return url


def _summary(document: dict[str, Any]) -> dict[str, Any]:
    keep = ("id", "summary", "description", "categories", "parameters", "returns", "links", "deprecated",
            "experimental")
    return {k: document[k] for k in keep if k in document}


def load_sources(sources: Iterable[Any] | None, connection: Any = None) -> tuple[list[ProcessEntry], list[str]]:
    """All entries of ``sources`` (default: own UDPs, then predefined processes) and one error
    message per source that could not be loaded (the others still load)."""
    entries: list[ProcessEntry] = []
    errors: list[str] = []
    for source in (DEFAULT_SOURCES if sources is None else sources):
        try:
            entries.extend(load_source(source, connection))
        except OpenEOError as exc:
            errors.append(f"{str(source)[:120]}: {exc.message}")
        except Exception as exc:  # a remote backend's listing failed: say so, keep the rest
            errors.append(f"{str(source)[:120]}: {getattr(exc, 'message', None) or exc}")
    return entries, errors


def complete(entry: ProcessEntry, connection: Any) -> ProcessEntry:
    """The entry with its full document (own UDPs are listed without their process graph)."""
    if entry.complete or connection is None:
        return entry
    described = connection.user_defined_process(entry.id).describe()
    entry.document = process_documents(described)[0]
    entry.complete = True
    return entry
