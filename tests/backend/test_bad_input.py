"""Bad input gets the right openEO error (4xx, JSON) within 1 s, and the server keeps serving."""
from __future__ import annotations

import http.client
import json
import time
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlparse

import pytest
import requests

from backend_testlib import PASSWORD, USER, make_config
from jupyter_eo.backend.limits import Limits
from jupyter_eo.backend.testing import serve_in_thread

LIMITS = Limits(max_pixels=20_000, sync_timeout_s=30)  # default body/graph limits


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_in_thread(make_config(tmp_path_factory.mktemp("bad"), limits=LIMITS)) as url:
        yield url


@pytest.fixture(scope="module")
def auth(base: str) -> dict[str, str]:
    token = requests.get(base + "credentials/basic", auth=(USER, PASSWORD)).json()["access_token"]
    return {"Authorization": f"Bearer basic//{token}"}


def load(**arguments: Any) -> dict:
    args = {"id": "TEST_S2", "spatial_extent": None, "temporal_extent": None, **arguments}
    return {"process_id": "load_collection", "arguments": args}


ATTEMPTS = 3  # a slow answer is measured again: one scheduling stall of a loaded machine
#              (2 cores shared with other jobs) is not the backend's latency; a backend that
#              really needs a second or more fails every attempt


def answered_within_1s(send: Callable[[], Any], check: Callable[[Any], None]) -> None:
    """``send()`` answers correctly (``check``) every time, and within 1 s (best of up to
    ATTEMPTS tries; the request is encoded before the clock starts)."""
    timings = []
    for _ in range(ATTEMPTS):
        started = time.monotonic()
        answer = send()
        timings.append(time.monotonic() - started)
        check(answer)
        if timings[-1] < 1.0:
            return
    raise AssertionError(f"no answer within 1 s: {', '.join(f'{t:.2f}' for t in timings)} s")


def graph_body(graph: Any) -> bytes:
    return json.dumps({"process": {"process_graph": graph}}).encode()


def post_body(base: str, auth: dict, body: bytes, path: str = "result") -> requests.Response:
    return requests.post(base + path, headers={**auth, "Content-Type": "application/json"},
                         data=body, timeout=10)


def openeo_error(status: int, code: str) -> Callable[[requests.Response], None]:
    def check(response: requests.Response) -> None:
        body = response.json()
        assert (response.status_code, body.get("code")) == (status, code), body
        assert body["message"] and body["id"]
    return check


def still_up(base: str, auth: dict) -> None:
    assert requests.get(base + "me", headers=auth, timeout=5).status_code == 200


def chain(n: int) -> dict:
    graph = {"n0": {"process_id": "add", "arguments": {"x": 1, "y": 1}}}
    for i in range(1, n):
        graph[f"n{i}"] = {"process_id": "add", "arguments": {"x": {"from_node": f"n{i - 1}"},
                                                             "y": 1}}
    graph[f"n{n - 1}"]["result"] = True
    return graph


CASES = {
    "unknown process": ({"x": {"process_id": "frobnicate", "arguments": {}, "result": True}},
                        400, "ProcessUnsupported"),
    "wrong argument type": ({"l": load(bands="B04"), "x": {"process_id": "reduce_dimension",
                             "arguments": {"data": {"from_node": "l"}, "dimension": 12,
                                           "reducer": None}, "result": True}},
                            400, "ProcessParameterInvalid"),
    "unknown collection": ({"l": {**load(), "result": True} | {"arguments": {
        "id": "NOPE", "spatial_extent": None, "temporal_extent": None}}}, 404,
        "CollectionNotFound"),
    "unknown band": ({"l": {**load(bands=["B99"]), "result": True}}, 400,
                     "ProcessParameterInvalid"),
    "cyclic graph": ({"a": {"process_id": "add", "arguments": {"x": {"from_node": "b"}, "y": 1}},
                      "b": {"process_id": "add", "arguments": {"x": {"from_node": "a"}, "y": 1},
                            "result": True}}, 400, "ProcessGraphInvalid"),
    "dangling reference": ({"a": {"process_id": "add", "arguments": {
        "x": {"from_node": "zz"}, "y": 1}, "result": True}}, 400, "ProcessGraphInvalid"),
    "5,000-node chain": (chain(5_000), 400, "ProcessGraphComplexity"),
    "oversized extent": ({"l": {**load(), "result": True}}, 413, "PayloadTooLarge"),
    "missing graph": ({}, 400, "ProcessGraphMissing"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_graph(base: str, auth: dict, name: str) -> None:
    graph, status, code = CASES[name]
    body = graph_body(graph)
    answered_within_1s(lambda: post_body(base, auth, body), openeo_error(status, code))
    still_up(base, auth)


def test_huge_graph_is_rejected_fast(base: str, auth: dict) -> None:
    graph = {f"n{i}": {"process_id": "add", "arguments": {"x": i, "y": 1}}
             for i in range(100_000)}
    graph["n0"]["result"] = True
    body = graph_body(graph)
    for path in ("result", "jobs"):
        answered_within_1s(lambda: post_body(base, auth, body, path),
                           openeo_error(400, "ProcessGraphComplexity"))
    still_up(base, auth)


def test_malformed_and_oversized_bodies(base: str, auth: dict) -> None:
    def rejected(response: requests.Response) -> None:
        assert response.status_code == 400, response.request.body[:20]
        assert response.json()["code"] in ("BadRequest", "ProcessGraphComplexity",
                                           "ProcessGraphMissing")

    for payload in (b"{not json", b"", b"[" * 100_000 + b"]" * 100_000, b"\xff\xfe"):
        answered_within_1s(lambda: post_body(base, auth, payload), rejected)
    big = b'{"process": {"process_graph": {}}, "pad": "' + b"x" * (17 * 1024 * 1024) + b'"}'
    answered_within_1s(lambda: post_body(base, auth, big), openeo_error(413, "PayloadTooLarge"))
    still_up(base, auth)


def test_validation_reports_errors_without_failing(base: str, auth: dict) -> None:
    response = requests.post(base + "validation", headers=auth, json={"process_graph": {
        "x": {"process_id": "frobnicate", "arguments": {}, "result": True}}})
    assert response.status_code == 200
    assert [e["code"] for e in response.json()["errors"]] == ["ProcessUnsupported"]
    response = requests.post(base + "validation", headers=auth,
                             json={"process_graph": CASES["cyclic graph"][0]})
    assert [e["code"] for e in response.json()["errors"]] == ["ProcessGraphInvalid"]


def raw_request(base: str, method: str, path: str, headers: dict, body: bytes | None = None
                ) -> tuple[int, dict]:
    """Send ``path`` byte-exact (no client-side normalisation of ``..``)."""
    url = urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


@pytest.mark.parametrize("path", [
    "/files/..%2F..%2F..%2Fetc%2Fpasswd", "/files/%2e%2e/%2e%2e/backend.sqlite",
    "/files/a/../../../x", "/files/%2Fetc%2Fpasswd", "/files/a%00b", "/files/..\\..\\x",
])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_path_traversal(base: str, auth: dict, path: str, method: str) -> None:
    def refused(answer: tuple[int, dict]) -> None:
        status, body = answer
        assert (status, body.get("code")) in ((400, "FilePathInvalid"), (404, "NotFound")), body

    answered_within_1s(lambda: raw_request(base, method, path, auth,
                                           b"data" if method == "PUT" else None), refused)
    still_up(base, auth)


def test_files_round_trip_and_isolation(base: str, auth: dict, tmp_path: Path) -> None:
    response = requests.put(base + "files/sub/dir/data.txt", headers=auth, data=b"hello")
    assert response.status_code == 200 and response.json()["path"] == "sub/dir/data.txt"
    assert requests.get(base + "files/sub/dir/data.txt", headers=auth).content == b"hello"
    listed = requests.get(base + "files", headers=auth).json()["files"]
    assert [f["path"] for f in listed] == ["sub/dir/data.txt"]
    bob = requests.get(base + "credentials/basic", auth=("bob", "bob-pw")).json()["access_token"]
    bob_auth = {"Authorization": f"Bearer basic//{bob}"}
    assert requests.get(base + "files", headers=bob_auth).json()["files"] == []
    missing = requests.get(base + "files/sub/dir/data.txt", headers=bob_auth)
    assert missing.status_code == 404 and missing.json()["code"] == "FileNotFound"
    assert requests.delete(base + "files/sub/dir/data.txt", headers=auth).status_code == 204
    assert requests.get(base + "files", headers=auth).json()["files"] == []


def test_auth_errors(base: str) -> None:
    for headers, status, code in (
            ({}, 401, "AuthenticationRequired"),
            ({"Authorization": "Bearer basic//not-a-token"}, 403, "TokenInvalid"),
            ({"Authorization": "Bearer oidc/x/y"}, 403, "AuthenticationSchemeInvalid"),
            ({"Authorization": "Basic Zm9vOmJhcg=="}, 403, "AuthenticationSchemeInvalid")):
        response = requests.get(base + "jobs", headers=headers)
        assert (response.status_code, response.json()["code"]) == (status, code)
        assert "not-a-token" not in response.text
    response = requests.get(base + "credentials/basic", auth=(USER, "wrong"))
    assert (response.status_code, response.json()["code"]) == (403, "CredentialsInvalid")
    response = requests.get(base + "no/such/endpoint")
    assert (response.status_code, response.json()["code"]) == (404, "NotFound")
