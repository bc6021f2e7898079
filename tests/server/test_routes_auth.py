"""Every method of every route in the extension's route table refuses anonymous and XSRF-less calls."""
from __future__ import annotations

import re
from http.cookies import SimpleCookie

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from jupyter_eo.server.routes import ROUTES

METHODS = ("get", "post", "put", "patch", "delete", "head")
UNSAFE = {"post", "put", "patch", "delete"}


def _sample_path(pattern: str) -> str:
    """A concrete path for a route pattern: every regex group becomes a plausible value."""
    path = re.sub(r"\(\?P<[^>]+>[^)]*\)", "local", pattern)
    path = re.sub(r"\([^)]*\)", "local", path)
    return path.replace("\\", "").rstrip("$").lstrip("^")


def _route_methods() -> list[tuple[str, str]]:
    pairs = []
    for pattern, cls in ROUTES:
        for method in METHODS:
            impl = getattr(cls, method, None)
            if impl is None:
                continue
            # only methods the handler really implements (tornado's base raises 405)
            if getattr(impl, "__qualname__", "").startswith("RequestHandler."):
                continue
            pairs.append((_sample_path(pattern), method.upper()))
    return pairs


ROUTE_METHODS = _route_methods()


def test_route_table_is_not_empty() -> None:
    assert ROUTE_METHODS, "the extension exposes no routes?"


@pytest.mark.parametrize(("path", "method"), ROUTE_METHODS)
async def test_anonymous_request_is_refused(path: str, method: str, jp_serverapp, http_server,
                                            jp_http_port: int, jp_base_url: str) -> None:
    url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}{path}"
    body = b"{}" if method in {"POST", "PUT", "PATCH"} else None
    client = AsyncHTTPClient()
    with pytest.raises(HTTPClientError) as err:
        await client.fetch(url, method=method, body=body, follow_redirects=False,
                           allow_nonstandard_methods=True)
    assert err.value.code == 403, f"{method} {path} answered {err.value.code} to an anonymous call"


@pytest.mark.parametrize(("path", "method"),
                         [pm for pm in ROUTE_METHODS if pm[1].lower() in UNSAFE])
async def test_cookie_post_without_xsrf_is_refused(path: str, method: str, jp_serverapp, http_server,
                                                   jp_http_port: int, jp_base_url: str,
                                                   jp_auth_header: dict) -> None:
    client = AsyncHTTPClient()
    base = f"http://127.0.0.1:{jp_http_port}{jp_base_url}"
    # a token-authenticated page view makes the server set its login cookie
    first = await client.fetch(base + "api/status", headers=jp_auth_header)
    cookies = SimpleCookie()
    for header in first.headers.get_list("Set-Cookie"):
        cookies.load(header)
    assert cookies, "expected a login cookie after token authentication"
    cookie_header = "; ".join(f"{k}={v.value}" for k, v in cookies.items() if "xsrf" not in k)
    with pytest.raises(HTTPClientError) as err:
        await client.fetch(base + path, method=method, body=b"{}",
                           headers={"Cookie": cookie_header}, allow_nonstandard_methods=True)
    assert err.value.code == 403


def test_some_route_accepts_unsafe_methods() -> None:
    """The XSRF test above must have something to check."""
    assert any(m.lower() in UNSAFE for _, m in ROUTE_METHODS)
