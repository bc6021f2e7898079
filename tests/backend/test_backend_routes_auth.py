"""Every method of every route of the embedded backend refuses anonymous calls unless the spec makes it public."""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from jupyter_eo.backend.routes import ROUTES

METHODS = ("get", "post", "put", "patch", "delete", "head")
SPEC = Path(__file__).resolve().parents[1] / "data" / "openapi.yaml"
UNADVERTISED_PUBLIC = {("/.well-known/openeo", "GET"),  # version discovery, public per spec
                       # links to UDPs their owner made public (handlers/public_processes.py)
                       ("/public/process_graphs/([^/]+)/([^/]+)", "GET"),
                       ("/public/process_graphs/([^/]+)", "GET")}


def _public_operations() -> set[tuple[str, str]]:
    """(openEO path, METHOD) pairs whose spec security allows anonymous calls."""
    spec = yaml.safe_load(SPEC.read_text("utf-8"))
    public = set()
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            if method in METHODS and {} in (op.get("security", spec.get("security")) or [{}]):
                public.add((path, method.upper()))
    return public


PUBLIC = _public_operations()


def _sample_path(pattern: str) -> str:
    path = re.sub(r"\(\\d\+\)", "1", pattern)
    path = re.sub(r"\([^)]*\)", "sample", path)
    return path.replace("\\", "")


def _route_methods() -> list[tuple[str, str, bool]]:
    """(sample path, METHOD, public?) for each method a handler really implements."""
    rows = []
    for route in ROUTES:
        for method in METHODS:
            impl = getattr(route.handler, method, None)
            qualname = getattr(impl, "__qualname__", "")
            if impl is None or qualname.startswith(("RequestHandler.", "StaticFileHandler.")):
                continue
            key = (route.openeo_path or route.pattern.replace("\\", ""), method.upper())
            rows.append((_sample_path(route.pattern), method.upper(),
                         key in PUBLIC or key in UNADVERTISED_PUBLIC))
    return rows


ROUTE_METHODS = _route_methods()


def _call(url: str, method: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    body = b"{}" if method in {"POST", "PUT", "PATCH"} else None
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_public_operations_come_from_the_spec() -> None:
    public = sorted((p, m) for p, m, is_public in ROUTE_METHODS if is_public)
    assert ("/", "GET") in public and ("/processes", "GET") in public
    assert ("/result", "POST") not in public and ("/credentials/basic", "GET") not in public
    assert ("/collections", "GET") in public and ("/jobs", "GET") not in public
    assert len(ROUTE_METHODS) > 40


@pytest.mark.parametrize(("path", "method", "public"), ROUTE_METHODS)
def test_anonymous_call_is_refused_unless_public(server: str, path: str, method: str,
                                                 public: bool) -> None:
    status, body = _call(server.rstrip("/") + path, method)
    if public:
        assert status != 401 and status < 500, f"{method} {path} is public per the openEO spec"
        return
    assert status == 401, f"{method} {path} answered {status} to an anonymous call"
    if method != "HEAD":
        assert json.loads(body)["code"] == "AuthenticationRequired"


@pytest.mark.parametrize(("path", "method", "public"), ROUTE_METHODS)
def test_invalid_token_is_refused_unless_public(server: str, path: str, method: str,
                                                public: bool) -> None:
    headers = {"Authorization": "Bearer basic//not-a-valid-token"}
    status, body = _call(server.rstrip("/") + path, method, headers)
    if public:  # a public endpoint may ignore or reject a bad token, but never crash
        assert status < 500, f"{method} {path} answered {status}"
        return
    # openEO: TokenInvalid is 403; /credentials/basic refuses a bearer scheme (also 403)
    assert status == 403, f"{method} {path} answered {status} to an invalid token"
    if method != "HEAD":
        assert json.loads(body)["code"] in {"TokenInvalid", "AuthenticationSchemeInvalid"}


@pytest.mark.parametrize("pattern", sorted({r.pattern for r in ROUTES}))
def test_methods_a_route_does_not_implement_are_refused(server: str, pattern: str) -> None:
    implemented = {m for p, m, _ in ROUTE_METHODS if p == _sample_path(pattern)}
    advertised = {m for r in ROUTES if r.pattern == pattern for m in r.methods}
    assert implemented == advertised, f"{pattern}: implements {implemented}, lists {advertised}"
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        if method not in implemented:
            status, body = _call(server.rstrip("/") + _sample_path(pattern), method)
            assert status in (401, 405), f"{method} {pattern} answered {status}"
            assert json.loads(body)["code"] in {"MethodNotAllowed", "AuthenticationRequired"}
