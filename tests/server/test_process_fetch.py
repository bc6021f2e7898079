"""The server's process-document route: http(s) only, size and time limits, JSON checked, clear errors."""
from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import tornado.web
from tornado.httpclient import HTTPClientError
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from jupyter_eo.server import process_fetch
from jupyter_eo.server.channel import ENV_SECRET, SECRET_HEADER

UDPS = Path(__file__).resolve().parents[1] / "data" / "udps"


class _Doc(tornado.web.RequestHandler):
    def get(self, name: str) -> None:
        self.seen_auth = self.request.headers.get("Authorization")
        if self.seen_auth or self.request.headers.get("Cookie"):
            self.set_status(400)
            self.finish("credentials were forwarded")
            return
        self.finish((UDPS / f"{name}.json").read_bytes())


class _Big(tornado.web.RequestHandler):
    async def get(self) -> None:  # no Content-Length: the limit must cut the stream
        chunk = b" " * (256 * 1024)
        for _ in range(16):
            self.write(chunk)
            await self.flush()


class _Slow(tornado.web.RequestHandler):
    async def get(self) -> None:
        await asyncio.sleep(5)
        self.finish("{}")


class _Text(tornado.web.RequestHandler):
    def get(self, kind: str) -> None:
        bodies = {"notjson": "<html>not json</html>", "badid": json.dumps({"id": "no spaces allowed",
                                                                           "process_graph": {}}),
                  "missing": None}
        if bodies[kind] is None:
            self.set_status(404)
            self.finish("{}")
            return
        self.finish(bodies[kind])


@pytest.fixture
def origin(jp_asyncio_loop) -> str:  # type: ignore[no-untyped-def]
    app = tornado.web.Application([(r"/doc/(\w+)\.json", _Doc), (r"/big", _Big), (r"/slow", _Slow),
                                   (r"/text/(\w+)", _Text)])
    sock, port = bind_unused_port()
    server = HTTPServer(app)
    server.add_sockets([sock])
    yield f"http://127.0.0.1:{port}"
    server.stop()


async def _fetch(jp_fetch, url: str, **headers: str) -> tuple[int, dict]:
    try:
        response = await jp_fetch("jupyter-eo", "api", "process-document", params={"url": url},
                                  headers=headers or None)
        return response.code, json.loads(response.body)
    except HTTPClientError as err:
        return err.code, json.loads(err.response.body)


async def test_single_process_and_catalogue_are_checked_and_answered(jp_fetch, origin: str) -> None:
    code, body = await _fetch(jp_fetch, f"{origin}/doc/ndvi_threshold_composite.json")
    assert code == 200 and body["id"] == "ndvi_threshold_composite"
    assert body == json.loads((UDPS / "ndvi_threshold_composite.json").read_text()) | {"parameters": body["parameters"]}
    code, body = await _fetch(jp_fetch, f"{origin}/doc/plaza_catalogue.json")
    assert code == 200 and [p["id"] for p in body["processes"]] == ["band_quantile_composite", "radar_cross_ratio"]
    assert set(body) == {"processes"}  # only checked documents, not the raw body


async def test_kernel_code_uses_the_route_with_the_channel_secret(jp_fetch, origin: str) -> None:
    code, body = await _fetch(jp_fetch, f"{origin}/doc/plaza_catalogue.json",
                              Authorization="", **{SECRET_HEADER: os.environ[ENV_SECRET]})
    assert code == 200 and len(body["processes"]) == 2


@pytest.mark.parametrize(("url", "status", "code", "words"), [
    ("file:///etc/passwd", 400, "ProcessGraphInvalid", "http(s)"),
    ("ftp://example.org/x.json", 400, "ProcessGraphInvalid", "http(s)"),
    ("http://user:pw@127.0.0.1/x.json", 400, "ProcessGraphInvalid", "password"),
    ("not a url", 400, "ProcessGraphInvalid", "http(s)"),
])
async def test_refused_urls(jp_fetch, url: str, status: int, code: str, words: str) -> None:
    got, body = await _fetch(jp_fetch, url)
    assert (got, body["code"]) == (status, code)
    assert words in body["message"]
    assert "pw" not in body["message"]


async def test_bad_documents_are_clear_errors(jp_fetch, origin: str) -> None:
    code, body = await _fetch(jp_fetch, f"{origin}/text/notjson")
    assert (code, body["code"]) == (400, "ProcessGraphInvalid") and "JSON" in body["message"]
    assert "<html>" not in body["message"]  # the body is never echoed
    code, body = await _fetch(jp_fetch, f"{origin}/text/badid")
    assert (code, body["code"]) == (400, "ProcessGraphInvalid") and "'id'" in body["message"]
    code, body = await _fetch(jp_fetch, f"{origin}/text/missing")
    assert (code, body["code"]) == (404, "ProcessGraphNotFound") and "HTTP 404" in body["message"]


async def test_size_limit_cuts_the_transfer(jp_fetch, origin: str, monkeypatch) -> None:
    monkeypatch.setattr(process_fetch, "MAX_DOCUMENT_BYTES", 1024 * 1024)
    started = time.monotonic()
    code, body = await _fetch(jp_fetch, f"{origin}/big")
    assert (code, body["code"]) == (413, "PayloadTooLarge")
    assert time.monotonic() - started < 5


async def test_time_limit(jp_fetch, origin: str, monkeypatch) -> None:
    monkeypatch.setattr(process_fetch, "FETCH_TIMEOUT", 0.5)
    started = time.monotonic()
    code, body = await _fetch(jp_fetch, f"{origin}/slow")
    assert code == 504 and body["code"]
    assert time.monotonic() - started < 3
