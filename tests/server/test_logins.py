"""Login flows run on the server against the fake upstream and fake OIDC provider."""
from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path

import pytest
from tornado.httpclient import AsyncHTTPClient

from tests.support.jupyter_api import eo_api, eo_server_config, wait_login


@pytest.fixture
def jp_server_config(eo_proxy_config) -> dict:  # type: ignore[no-untyped-def]
    return eo_server_config(eo_proxy_config)


@pytest.fixture
def api(jp_serverapp, http_server, jp_http_port, jp_base_url, jp_auth_header):  # type: ignore[no-untyped-def]
    return eo_api(jp_http_port, jp_base_url, jp_auth_header, follow_redirects=False)


def _auth(upstream) -> str:  # type: ignore[no-untyped-def]
    return upstream.hits[-1].headers.get("Authorization", "")


async def test_backends_list_is_public_view(api, oidc_provider) -> None:
    body = json.loads((await api("api/backends")).body)
    ids = [b["id"] for b in body["backends"]]
    assert ids == ["fakebasic", "open", "fakeoidc", "service"]
    text = json.dumps(body)
    assert oidc_provider.client_secret not in text and "secret" not in text
    states = {b["id"]: b["state"] for b in body["backends"]}
    assert states == {"fakebasic": "logged_out", "open": "ready", "fakeoidc": "logged_out",
                      "service": "ready"}


async def test_device_flow_login_refresh_and_logout(api, upstream, oidc_provider,
                                                    eo_proxy_config) -> None:
    started = await api("api/backends/fakeoidc/login", "POST", {})
    assert started.code == 202
    view = json.loads(started.body)
    assert view["state"] == "pending"
    device = view["device"]
    assert device["user_code"].startswith("USER-")
    assert device["verification_uri"] == oidc_provider.url + "/activate"
    assert "device_code" not in json.dumps(view)
    assert (await api("openeo/fakeoidc/me")).code == 401  # not yet approved
    oidc_provider.approve_all()
    assert (await wait_login(api, "fakeoidc"))["state"] == "ready"
    me = await api("openeo/fakeoidc/me")
    assert me.code == 200
    first = _auth(upstream)
    assert first.startswith("Bearer oidc/fake/acc-")
    # refresh token on disk, 0600
    stored = Path(eo_proxy_config["credentials_dir"]) / "fakeoidc.json"
    assert stored.stat().st_mode & 0o777 == 0o600
    assert json.loads(stored.read_text())["refresh_token"].startswith("ref-")
    # the access token dies: concurrent requests renew it exactly once
    oidc_provider.access.clear()
    refreshes = oidc_provider.grants.count("refresh_token")
    results = await asyncio.gather(*[api("openeo/fakeoidc/me") for _ in range(8)])
    assert [r.code for r in results] == [200] * 8
    assert oidc_provider.grants.count("refresh_token") == refreshes + 1
    assert _auth(upstream) != first
    # logout wipes memory and disk
    out = await api("api/backends/fakeoidc/login", "DELETE")
    assert json.loads(out.body)["state"] == "logged_out"
    assert not stored.exists()
    assert (await api("openeo/fakeoidc/me")).code == 401
    assert "Authorization" not in upstream.hits[-1].headers


async def test_client_credentials_login(api, upstream, oidc_provider) -> None:
    me = await api("openeo/service/me")
    assert me.code == 200
    assert _auth(upstream).startswith("Bearer oidc/fake/acc-")
    assert oidc_provider.grants == ["client_credentials"]
    oidc_provider.access.clear()  # expired: a new grant, transparently
    assert (await api("openeo/service/me")).code == 200
    assert oidc_provider.grants == ["client_credentials", "client_credentials"]


async def test_token_reaches_only_its_backend(api, upstream, other_upstream) -> None:
    ok = await api("api/backends/fakebasic/login", "POST",
                   {"username": "alice", "password": "wonderland-pw"})
    assert ok.code == 200 and json.loads(ok.body)["state"] == "ready"
    assert (await api("openeo/fakebasic/me")).code == 200
    token = _auth(upstream)
    assert token.startswith("Bearer basic//tok-")
    assert (await api("openeo/open/me")).code == 401
    assert all("Authorization" not in h.headers for h in other_upstream.hits)
    assert all(token.split("//")[1] not in json.dumps(h.headers) for h in other_upstream.hits)


async def test_basic_login_keeps_no_password_and_logs_no_secret(
        api, upstream, oidc_provider, eo_proxy_config, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    # an in-process backend's job runner sets the package logger to INFO; look at DEBUG too
    caplog.set_level(logging.DEBUG, logger="jupyter_eo")
    bad = await api("api/backends/fakebasic/login", "POST",
                    {"username": "alice", "password": "not-the-password-xyz"})
    assert bad.code == 403
    assert b"not-the-password-xyz" not in bad.body
    assert json.loads(bad.body)["code"] == "CredentialsInvalid"
    good = await api("api/backends/fakebasic/login", "POST",
                     {"username": "alice", "password": "wonderland-pw"})
    assert good.code == 200
    await api("openeo/fakebasic/me")
    await api("openeo/service/me")
    started = await api("api/backends/fakeoidc/login", "POST", {})
    oidc_provider.approve_all()
    await wait_login(api, "fakeoidc")
    await api("openeo/fakeoidc/me")
    assert started.code == 202
    # kernel-channel requests, also ones ending in 5xx (whose headers Jupyter logs in part)
    from jupyter_eo.server.channel import ENV_SECRET, SECRET_HEADER

    kernel_secret = os.environ[ENV_SECRET]
    for path in ("openeo/fakebasic/slow?s=3", "openeo/fakebasic/me", "api/backends"):
        answer = await AsyncHTTPClient().fetch(api.root + path, headers={
            SECRET_HEADER: kernel_secret}, raise_error=False, request_timeout=10)
        assert answer.code in (200, 504)
    secrets_seen = {"wonderland-pw", "not-the-password-xyz", oidc_provider.client_secret,
                    kernel_secret}
    secrets_seen |= upstream.basic_tokens | oidc_provider.access | oidc_provider.refresh
    secrets_seen |= set(oidc_provider.devices)
    store = Path(eo_proxy_config["credentials_dir"])
    on_disk = "".join(p.read_text() for p in store.iterdir())
    assert "wonderland-pw" not in on_disk
    logs = caplog.text
    assert logs  # DEBUG logging really was captured
    for secret in secrets_seen:
        assert secret not in logs, "a secret leaked into the logs"
    bodies = [(await api("api/backends")).body, (await api("api/status")).body]
    for body in bodies:
        for secret in secrets_seen:
            assert secret.encode() not in body


async def test_login_errors_are_openeo_errors(api) -> None:
    missing = await api("api/backends/nope/login", "POST", {})
    assert missing.code == 404 and json.loads(missing.body)["code"] == "NotFound"
    bad = await api("api/backends/fakebasic/login", "POST", {"username": "alice"})
    assert bad.code == 400 and json.loads(bad.body)["code"] == "BadRequest"
    garbage = await api("api/backends/fakebasic/login", "POST", "not an object")
    assert garbage.code == 400


async def test_connect_in_a_kernel_warns_when_logged_out(api, upstream) -> None:
    import warnings

    import jupyter_eo

    def connect_and_ask():  # type: ignore[no-untyped-def]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            con = jupyter_eo.connect("fakebasic")
            return con.root_url, [str(w.message) for w in caught]

    root, messages = await asyncio.to_thread(connect_and_ask)
    assert root.endswith("/jupyter-eo/openeo/fakebasic/")
    assert any("Not logged in to openEO backend 'fakebasic'" in m for m in messages)
    await api("api/backends/fakebasic/login", "POST",
              {"username": "alice", "password": "wonderland-pw"})
    _, messages = await asyncio.to_thread(connect_and_ask)
    assert not any("Not logged in" in m for m in messages)


async def test_revoked_refresh_token_ends_the_login(api, upstream, oidc_provider,
                                                    eo_proxy_config) -> None:
    await api("api/backends/fakeoidc/login", "POST", {})
    oidc_provider.approve_all()
    assert (await wait_login(api, "fakeoidc"))["state"] == "ready"
    oidc_provider.access.clear()
    oidc_provider.refresh.clear()  # the provider revoked the whole session
    response = await api("openeo/fakeoidc/me")
    assert response.code == 401  # the upstream's own answer, passed through
    assert json.loads(response.body)["code"] == "AuthenticationRequired"
    state = json.loads((await api("api/backends/fakeoidc/login")).body)
    assert state["state"] == "error" and "refresh failed" in state["error"]
    assert not (Path(eo_proxy_config["credentials_dir"]) / "fakeoidc.json").exists()
