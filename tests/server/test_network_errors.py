"""Network faults at login and in the proxy are clear openEO JSON errors (502/504 with a human
message), never a 500 or a traceback; the backend's state then carries the message (sidebar)."""
from __future__ import annotations

import json
import logging
import socket
import time

import pytest

from tests.support.jupyter_api import eo_api, eo_server_config
UNRESOLVABLE = "http://jupyter-eo-test.invalid/"


@pytest.fixture
def closed_port():  # type: ignore[no-untyped-def]
    """A loopback port that is bound (so nobody else takes it) but not listening: refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture
def silent_port():  # type: ignore[no-untyped-def]
    """A loopback port that accepts connections (kernel backlog) but never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture
def jp_server_config(upstream, closed_port, silent_port, tmp_path) -> dict:  # type: ignore[no-untyped-def]
    closed = f"http://127.0.0.1:{closed_port}/"
    return eo_server_config({
        "backends": {
            "nodns": {"url": UNRESOLVABLE, "auth": "basic"},
            "refused": {"url": closed, "auth": "basic"},
            "silent": {"url": f"http://127.0.0.1:{silent_port}/", "auth": "basic"},
            "nodnsoidc": {"url": UNRESOLVABLE, "auth": "oidc"},
            # the backend answers, its OIDC provider does not
            "badissuer": {"url": upstream.url, "auth": "oidc", "oidc_provider_id": "x",
                          "oidc_issuer": closed + "oidc", "oidc_client_id": "c"},
            "svcrefused": {"url": upstream.url, "auth": "client_credentials",
                           "oidc_provider_id": "x", "oidc_issuer": closed + "oidc",
                           "oidc_client_id": "svc", "oidc_client_secret": "s3cret"},
        },
        "enable_local_backend": False,
        "credentials_dir": str(tmp_path / "creds"),
        "proxy_connect_timeout": 1.0,
        "proxy_request_timeout": 1.0,
    })


@pytest.fixture
def api(jp_serverapp, http_server, jp_http_port, jp_base_url, jp_auth_header):  # type: ignore[no-untyped-def]
    return eo_api(jp_http_port, jp_base_url, jp_auth_header, request_timeout=30)


PASSWORD = {"username": "alice", "password": "pw-never-logged"}


def _no_traceback(caplog) -> None:  # type: ignore[no-untyped-def]
    text = "\n".join(r.getMessage() + (str(r.exc_info) if r.exc_info else "")
                     for r in caplog.records)
    assert "Traceback" not in text and "Unhandled" not in text
    assert not any(r.exc_info for r in caplog.records if r.levelno >= logging.WARNING)
    assert "pw-never-logged" not in text


@pytest.mark.parametrize(("backend_id", "body", "status", "message"), [
    ("nodns", PASSWORD, 502,
     "could not reach http://jupyter-eo-test.invalid/.well-known/openeo: name not resolved"),
    ("refused", PASSWORD, 502, "could not reach http://127.0.0.1:{closed}/.well-known/openeo: "
                               "connection refused"),
    ("silent", PASSWORD, 504, "could not reach http://127.0.0.1:{silent}/.well-known/openeo: "
                              "no answer within 1 s"),
    ("nodnsoidc", {}, 502,
     "could not reach http://jupyter-eo-test.invalid/.well-known/openeo: name not resolved"),
    ("badissuer", {}, 502, "could not reach http://127.0.0.1:{closed}/oidc/.well-known/"
                           "openid-configuration: connection refused"),
    ("svcrefused", {}, 502, "could not reach http://127.0.0.1:{closed}/oidc/.well-known/"
                            "openid-configuration: connection refused"),
])
async def test_login_network_fault_is_a_clear_json_error(
        api, caplog, closed_port, silent_port, backend_id, body, status, message) -> None:
    caplog.set_level(logging.INFO)
    started = time.monotonic()
    answer = await api(f"api/backends/{backend_id}/login", "POST", body)
    elapsed = time.monotonic() - started
    payload = json.loads(answer.body)
    expected = message.format(closed=closed_port, silent=silent_port)
    assert (answer.code, payload["message"]) == (status, expected)
    assert payload["code"] == ("GatewayTimeout" if status == 504 else "BadGateway")
    assert elapsed < 5, f"took {elapsed:.1f} s with a 1 s timeout"
    _no_traceback(caplog)
    if backend_id != "svcrefused":  # the sidebar's list shows why
        listed = json.loads((await api("api/backends")).body)["backends"]
        view = next(b for b in listed if b["id"] == backend_id)
        assert view["state"] == "error" and view["error"] == expected


async def test_proxy_network_faults_are_clear_json_errors(api, caplog, closed_port,
                                                          silent_port) -> None:
    caplog.set_level(logging.INFO)
    nodns = await api("openeo/nodns/collections")
    assert nodns.code == 502
    assert json.loads(nodns.body)["message"] == (
        "could not reach http://jupyter-eo-test.invalid/collections: name not resolved")
    refused = await api("openeo/refused/collections?limit=1&bbox=1,2,3,4")
    body = json.loads(refused.body)
    assert refused.code == 502 and body["code"] == "BadGateway"
    # the query (which may hold parameters) is not repeated in the message
    assert body["message"] == (f"could not reach http://127.0.0.1:{closed_port}/collections: "
                               "connection refused")
    silent = await api("openeo/silent/collections")
    assert silent.code == 504
    assert json.loads(silent.body)["message"] == (
        f"could not reach http://127.0.0.1:{silent_port}/collections: no answer within 1 s")
    _no_traceback(caplog)
