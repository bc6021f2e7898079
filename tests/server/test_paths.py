"""Property tests: the upstream URL built by the proxy never leaves the backend's base URL."""
from __future__ import annotations

import posixpath
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_eo.server.paths import ProxyPathInvalid, Rewriter, is_under, upstream_url

BASES = ["http://127.0.0.1:8080/", "https://openeo.example.org/openeo/1.2/",
         "http://[::1]:9000/api/v1"]

# raw request paths: percent escapes, separators, dots and unicode look-alikes mixed in
_PIECES = st.sampled_from(["a", "b", "collections", ".", "..", "/", "//", "\\", "%2f", "%2F",
                           "%2e", "%2E%2E", "%5c", "%3f", "?", "#", "%23", "@", ":", "%40",
                           "%25", "%252f", "%00", "%0a", "\uff0e", "%EF%BC%8E", "\u2024",
                           "%E2%80%A4", "\uff0f", "%EF%BC%8F", " ", "~", "evil.com", "http:",
                           "%", "%zz", ";", "=", "&"])
RAW_PATHS = st.one_of(st.lists(_PIECES, max_size=12).map("".join),
                      st.text(max_size=40))
QUERIES = st.one_of(st.just(""), st.lists(_PIECES, max_size=6).map("".join), st.text(max_size=20))


def _assert_under(url: str, base: str) -> None:
    u, b = urlsplit(url), urlsplit(base)
    assert (u.scheme, u.netloc) == (b.scheme, b.netloc)
    assert not u.fragment
    base_path = b.path if b.path.endswith("/") else b.path + "/"
    decoded = unquote(u.path)
    assert decoded.startswith(base_path)
    assert "\\" not in decoded
    assert posixpath.normpath(decoded).startswith(base_path.rstrip("/"))
    assert ".." not in decoded.split("/") and "." not in decoded.split("/")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(BASES), raw=RAW_PATHS, query=QUERIES)
def test_built_url_stays_under_the_base(base: str, raw: str, query: str) -> None:
    try:
        url = upstream_url(base, raw, query)
    except ProxyPathInvalid as exc:
        assert exc.status == 400 and exc.code == "ProxyPathInvalid"
        return
    _assert_under(url, base)
    assert is_under(url, base if base.endswith("/") else base + "/")


@pytest.mark.parametrize("raw", ["collections", "collections/SENTINEL2_L2A", ".well-known/openeo",
                                 "jobs/j-1/results", "files/dir/my%20file.tif", "", "processes/",
                                 "services/s1/tiles/3/4/2"])
def test_ordinary_openeo_paths_pass(raw: str) -> None:
    url = upstream_url("https://openeo.example.org/openeo/1.2/", raw, "limit=10")
    assert url == f"https://openeo.example.org/openeo/1.2/{raw}?limit=10"


def test_rewriter_maps_only_upstream_urls() -> None:
    rw = Rewriter("http://127.0.0.1:5/api/", "http://lab/jupyter-eo/openeo/x/")
    assert rw.url("http://127.0.0.1:5/api/jobs") == "http://lab/jupyter-eo/openeo/x/jobs"
    assert rw.url("http://127.0.0.1:5/api") == "http://lab/jupyter-eo/openeo/x/"
    assert rw.url("http://127.0.0.1:5/apix/jobs") == "http://127.0.0.1:5/apix/jobs"
    assert rw.url("http://127.0.0.1:55/api/jobs") == "http://127.0.0.1:55/api/jobs"
    assert rw.location("../../other", "http://127.0.0.1:5/api/jobs/j1") == "http://127.0.0.1:5/other"
    assert rw.location("j2", "http://127.0.0.1:5/api/jobs/j1") == \
        "http://lab/jupyter-eo/openeo/x/jobs/j2"
    assert rw.json({"a": ["http://127.0.0.1:5/api/x", 1, None]}) == \
        {"a": ["http://lab/jupyter-eo/openeo/x/x", 1, None]}
    assert rw.link_header('<http://127.0.0.1:5/api/jobs?page=2>; rel="next"') == \
        '<http://lab/jupyter-eo/openeo/x/jobs?page=2>; rel="next"'
