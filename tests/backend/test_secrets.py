"""No password or bearer token of the embedded backend reaches its logs (at DEBUG) or its error bodies."""
from __future__ import annotations

import base64
import logging

import pytest
import requests

from backend_testlib import PASSWORD, USER

BAD_PASSWORD = "not-the-password-q7"


def _basic(user: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def test_no_secret_in_logs_or_error_bodies(server: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="jupyter_eo")  # the job runner sets it to INFO
    caplog.set_level(logging.DEBUG, logger="tornado")
    bodies: list[bytes] = []

    def call(method: str, path: str, **kwargs: object) -> requests.Response:
        response = requests.request(method, server + path, timeout=60, **kwargs)  # type: ignore[arg-type]
        if path != "credentials/basic" or response.status_code != 200:
            bodies.append(response.content)
        return response

    assert call("GET", "credentials/basic", headers=_basic(USER, BAD_PASSWORD)).status_code == 403
    assert call("GET", "credentials/basic", headers=_basic("nobody", PASSWORD)).status_code == 403
    assert call("GET", "me", headers=_basic(USER, PASSWORD)).status_code == 403  # wrong scheme
    token = call("GET", "credentials/basic", headers=_basic(USER, PASSWORD)).json()["access_token"]
    good = {"Authorization": f"Bearer basic//{token}"}
    assert call("GET", "me", headers=good).status_code == 200
    for wrong in (f"Bearer basic//{token}x", f"Bearer oidc/x/{token}", f"Token {token}"):
        assert call("GET", "me", headers={"Authorization": wrong}).status_code == 403
    failing = {"process": {"process_graph": {"a": {"process_id": "no_such_process",
                                                   "arguments": {"x": 1}, "result": True}}}}
    assert call("POST", "result", headers=good, json=failing).status_code == 400
    assert call("POST", "validation", headers=good, json=failing).status_code == 200
    assert call("POST", "jobs", headers=good, data=b"{not json").status_code == 400
    assert call("GET", "jobs/unknown-job", headers=good).status_code == 404

    logs = caplog.text
    assert "GET /me" in logs and "POST /result" in logs, "the request log was not captured"
    for secret in (PASSWORD, BAD_PASSWORD, token):
        assert secret not in logs, "a secret leaked into the backend log"
    for body in bodies:  # no response but the token's own issuance carries a secret
        for secret in (PASSWORD, BAD_PASSWORD, token[:20]):
            assert secret.encode() not in body, body[:300]
