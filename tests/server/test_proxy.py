"""The openEO proxy against a recording fake upstream: forwarding, rewriting, stripping, limits."""
from __future__ import annotations

import json
import os

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPResponse

from jupyter_eo.server.channel import ENV_SECRET, SECRET_HEADER
from tests.support.jupyter_api import eo_server_config


@pytest.fixture
def jp_server_config(eo_proxy_config) -> dict:  # type: ignore[no-untyped-def]
    return eo_server_config(eo_proxy_config)


@pytest.fixture
def proxy(jp_serverapp, http_server, jp_http_port, jp_base_url, jp_auth_header):  # type: ignore[no-untyped-def]
    """fetch(raw_path, ...) against {base_url}jupyter-eo/openeo/<raw_path>, token-authenticated."""
    client = AsyncHTTPClient()
    root = f"http://127.0.0.1:{jp_http_port}{jp_base_url}jupyter-eo/openeo/"

    async def fetch(raw_path: str, **kwargs) -> HTTPResponse:  # type: ignore[no-untyped-def]
        headers = {**jp_auth_header, **kwargs.pop("headers", {})}
        return await client.fetch(root + raw_path, headers=headers, raise_error=False,
                                  follow_redirects=False, allow_nonstandard_methods=True, **kwargs)

    fetch.root = root  # type: ignore[attr-defined]
    return fetch


async def test_well_known_and_links_point_back_to_the_proxy(proxy, other_upstream) -> None:
    response = await proxy("open/.well-known/openeo")
    assert response.code == 200
    versions = json.loads(response.body)["versions"]
    assert versions[0]["url"] == proxy.root + "open/"
    capabilities = json.loads((await proxy("open/")).body)
    hrefs = [link["href"] for link in capabilities["links"]]
    assert hrefs[:2] == [proxy.root + "open/", proxy.root + "open/collections"]
    assert hrefs[2] == "https://example.org/x"  # foreign links stay as they are
    assert not any(other_upstream.url in h for h in hrefs)


async def test_methods_query_and_body_are_forwarded(proxy, other_upstream) -> None:
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        body = b'{"a": 1}' if method in ("POST", "PUT", "PATCH") else None
        response = await proxy("open/things/x1?limit=5&q=a%20b", method=method, body=body,
                               headers={"Content-Type": "application/json"})
        assert response.code == 200, method
        echo = json.loads(response.body)
        assert echo == {"method": method, "path": "/things/x1", "query": "limit=5&q=a%20b",
                        "size": len(body or b"")}
    head = await proxy("open/things/x1", method="HEAD")
    assert head.code == 200
    assert [h.method for h in other_upstream.hits][-1] == "HEAD"


async def test_no_jupyter_credential_reaches_the_upstream(proxy, other_upstream, jp_auth_header) -> None:
    secret = os.environ[ENV_SECRET]
    headers = {"Cookie": "_xsrf=abc; username-127-0-0-1=xyz", "X-XSRFToken": "abc",
               SECRET_HEADER: secret, "Referer": "http://evil/", "Origin": "http://evil"}
    response = await proxy("open/anything", method="POST", body=b"{}", headers=headers)
    assert response.code == 200
    hit = other_upstream.hits[-1]
    sent = {k.lower(): v for k, v in hit.headers.items()}
    token = jp_auth_header["Authorization"].split()[-1]
    for name in ("cookie", "x-xsrftoken", SECRET_HEADER.lower(), "authorization", "origin",
                 "referer"):
        assert name not in sent, name
    assert not any(token in v or secret in v for v in sent.values())
    assert sent["user-agent"].startswith("Tornado")  # harmless headers do pass


async def test_set_cookie_is_stripped(proxy) -> None:
    response = await proxy("open/cookie")
    assert response.code == 200
    assert not any("upstream_session" in v for v in response.headers.get_list("Set-Cookie"))


async def test_redirect_to_other_host_is_not_followed(proxy, other_upstream, upstream) -> None:
    evil = upstream.url + "stolen"
    response = await proxy(f"open/redirect-away?to={evil}")
    assert response.code == 302
    assert response.headers["Location"] == evil  # passed to the client, not followed
    assert upstream.hits == []  # the proxy never contacted the other host
    home = await proxy("open/redirect-home")
    assert home.code == 303
    assert home.headers["Location"] == proxy.root + "open/collections?x=1"


async def test_location_and_asset_hrefs_are_rewritten(proxy) -> None:
    created = await proxy("open/jobs", method="POST", body=b"{}")
    assert created.code == 201
    assert created.headers["Location"] == proxy.root + "open/jobs/j1"
    assert created.headers["OpenEO-Identifier"] == "j1"
    results = json.loads((await proxy("open/jobs/j1/results")).body)
    assert results["assets"]["out.tif"]["href"] == proxy.root + "open/jobs/j1/results/out.tif"


async def test_timeout_is_504(proxy) -> None:
    response = await proxy("open/slow?s=3", request_timeout=10)
    assert response.code == 504
    assert json.loads(response.body)["code"] == "GatewayTimeout"


async def test_request_body_cap_is_413_and_big_responses_stream(proxy, other_upstream) -> None:
    hits = len(other_upstream.hits)
    too_big = await proxy("open/files/big.bin", method="PUT", body=b"x" * 2_500_000)
    assert too_big.code == 413
    assert len(other_upstream.hits) == hits
    ok = await proxy("open/files/ok.bin", method="PUT", body=b"y" * 1_500_000)
    assert ok.code == 200 and json.loads(ok.body)["size"] == 1_500_000
    big = await proxy("open/big?n=3000000")
    assert big.code == 200 and len(big.body) == 3_000_000
    assert big.body[:512] == bytes(range(256)) * 2
    assert big.headers["Content-Type"] == "application/octet-stream"


async def test_upstream_openeo_errors_pass_through(proxy) -> None:
    response = await proxy("open/error")
    assert response.code == 400
    assert json.loads(response.body) == {"id": "e1", "code": "ProcessGraphInvalid",
                                         "message": "bad graph"}


async def test_unknown_backend_is_404(proxy, upstream, other_upstream) -> None:
    response = await proxy("nope/collections")
    assert response.code == 404
    assert json.loads(response.body)["code"] == "NotFound"


ESCAPES = [
    "open/..%2f..%2fetc/passwd",
    "open/%2e%2e/%2e%2e/x",
    "open/a/../../x",
    "open//evil.example/x",
    "open/%2Fevil.example/x",
    "open/a%3Fx=1",
    "open/a%23frag",
    "open/@evil.example/x",
    "open/a@b",
    "open/a\\..\\x",
    "open/a%5c..%5cx",
    "open/%EF%BC%8E%EF%BC%8E/x",  # fullwidth dots
    "open/%E2%80%A4%E2%80%A4/x",  # one-dot leaders
    "open/a/%252e%252e/x",  # double encoding
    "open/a%00b",
    "open/./x",
    "open/a//b",
    "open%2f..%2fother/x",
    "..%2fopen/x",
]


@pytest.mark.parametrize("raw", ESCAPES)
async def test_path_escapes_are_400_without_upstream_hits(proxy, raw, upstream,
                                                          other_upstream) -> None:
    response = await proxy(raw)
    assert response.code == 400, (raw, response.code, response.body)
    assert json.loads(response.body)["code"] == "ProxyPathInvalid"
    assert upstream.hits == [] and other_upstream.hits == []


async def test_client_disconnect_mid_stream_aborts_the_upstream(proxy, jp_http_port, jp_base_url,
                                                                jp_auth_header,
                                                                other_upstream) -> None:
    import asyncio

    reader, writer = await asyncio.open_connection("127.0.0.1", jp_http_port)
    writer.write((f"GET {jp_base_url}jupyter-eo/openeo/open/big?n=200000000 HTTP/1.1\r\n"
                  f"Host: 127.0.0.1:{jp_http_port}\r\n"
                  f"Authorization: {jp_auth_header['Authorization']}\r\n\r\n").encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    await reader.readexactly(100_000)
    writer.close()  # gone after 100 kB of 200 MB
    for _ in range(100):
        if other_upstream.aborted:
            break
        await asyncio.sleep(0.05)
    # backpressure: the proxy read only a little ahead of the client, then hung up upstream
    assert other_upstream.aborted and other_upstream.aborted[0] < 50_000_000
    response = await proxy("open/things")
    assert response.code == 200


async def test_upstream_failure_mid_stream_is_not_a_complete_response(proxy) -> None:
    from tornado.simple_httpclient import HTTPStreamClosedError

    # the proxy's 1 s timeout hits after the headers went out: the client sees a cut body,
    # never a clean end of a truncated file
    with pytest.raises(HTTPStreamClosedError):
        await proxy("open/trickle", request_timeout=10)
    assert (await proxy("open/things")).code == 200


async def test_gate_queues_then_answers_429_and_503() -> None:
    import asyncio

    from jupyter_eo.errors import InfrastructureBusy
    from jupyter_eo.server.proxy import Gate, TooManyRequests

    gate = Gate(limit=1, max_queued=1, timeout=0.2)
    outcomes: list[str] = []

    async def request(hold: float) -> None:
        try:
            async with gate:
                await asyncio.sleep(hold)
                outcomes.append("ok")
        except TooManyRequests as exc:
            outcomes.append(str(exc.status))
        except InfrastructureBusy as exc:
            outcomes.append(str(exc.status))

    first = asyncio.ensure_future(request(0.5))
    await asyncio.sleep(0.01)
    await asyncio.gather(request(0), request(0))  # one waits (then 503), one is refused (429)
    await first
    assert sorted(outcomes) == ["429", "503", "ok"]
    await request(0)  # the slot is free again
    assert outcomes[-1] == "ok"


async def test_json_over_the_rewrite_limit_streams_unchanged(proxy, other_upstream) -> None:
    response = await proxy("open/bigjson")
    assert response.code == 200 and len(response.body) > 200_000
    body = json.loads(response.body)
    assert body["values"][-1] == 59_999
    assert body["self"] == other_upstream.url + "bigjson"  # too big to rewrite: passed as is
    small = json.loads((await proxy("open/jobs/j1/results")).body)
    assert small["links"][0]["href"].startswith(proxy.root)
