"""``GET jupyter-eo/api/process-document?url=``: a process document or catalogue fetched safely for kernels.

The process plaza loads shared processes through this route, so the server's egress proxy
settings apply and the browser never fetches. Only ``http(s)`` URLs without credentials; at
most ``MAX_DOCUMENT_BYTES`` (the transfer is cut beyond it) and ``FETCH_TIMEOUT`` seconds; no
credentials or cookies are sent; the body must be JSON that passes
:func:`jupyter_eo.graph.process_doc.process_documents`, and only the checked documents are
answered (never the raw body, so nothing else the server can reach is echoed). Errors are
openEO JSON errors.
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from tornado.httpclient import HTTPRequest

from ..errors import OpenEOError, ProcessGraphInvalid, ProcessGraphNotFound
from ..graph.process_doc import MAX_DOCUMENT_BYTES, process_documents
from .base import JupyterEOHandler, eo_authenticated

FETCH_TIMEOUT = 15.0  # seconds, connect + transfer


class _TooLarge(Exception):
    pass


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProcessGraphInvalid("Only absolute http(s) URLs can be loaded.")
    if parts.username or parts.password:
        raise ProcessGraphInvalid("A URL with a user name or password is not loaded.")
    return url


async def fetch_document_bytes(client: Any, url: str, *, limit: int | None = None,
                               timeout: float | None = None) -> bytes:
    """The body at ``url`` (status 200), at most ``limit`` bytes within ``timeout`` seconds
    (default :data:`FETCH_TIMEOUT`)."""
    timeout = timeout or FETCH_TIMEOUT
    limit = limit or MAX_DOCUMENT_BYTES
    chunks: list[bytes] = []
    size = 0

    def on_chunk(chunk: bytes) -> None:
        nonlocal size
        size += len(chunk)
        if size > limit:
            raise _TooLarge()
        chunks.append(chunk)

    def on_header(line: str) -> None:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length" and value.strip().isdigit() and int(value) > limit:
            raise _TooLarge()

    request = HTTPRequest(url, method="GET", headers={"Accept": "application/json"}, follow_redirects=True,
                          max_redirects=3, connect_timeout=timeout, request_timeout=timeout,
                          streaming_callback=on_chunk, header_callback=on_header)
    too_large = OpenEOError(f"The document at {_where(url)} is larger than {limit} bytes.",
                            code="PayloadTooLarge", status=413)
    try:
        response = await client.fetch(request)
    except _TooLarge:
        raise too_large from None
    except OpenEOError:
        if size > limit:
            raise too_large from None
        raise
    if size > limit:
        raise too_large
    if response.code != 200:
        raise ProcessGraphNotFound(f"{_where(url)} answered HTTP {response.code}.")
    return b"".join(chunks)


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"[:200]


class ProcessDocumentHandler(JupyterEOHandler):
    """Fetch, check and answer the process document(s) at ``?url=``."""

    @eo_authenticated
    async def get(self) -> None:
        url = check_url(self.get_query_argument("url", "").strip())
        client = self.settings["jupyter_eo_upstream"]
        body = await fetch_document_bytes(client, url)
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise ProcessGraphInvalid(f"{_where(url)} did not answer JSON ({exc.msg}).") from None
        documents = process_documents(data)
        catalogue = isinstance(data, dict) and "process_graph" not in data and isinstance(data.get("processes"), list)
        self.write_json({"processes": documents} if catalogue else documents[0])
