"""The same first day behind an egress forward proxy (HTTP_PROXY/HTTPS_PROXY set for the
server): every server-side call to the dummy backend and the OIDC provider goes through it,
kernel code still only talks to the Jupyter server."""
from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from tests.remote.flows import (KERNEL_PRELUDE, USER_CODE, WORKFLOW, approve_device, proxy_prefix,
                                 tagged, wait_login)
from tests.support.forward_proxy import ForwardProxy
from tests.support.kernel_process import run_python


@pytest.fixture
def jp_server_config(eo_remote_config: dict, egress: ForwardProxy) -> dict:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_eo": True}},
            "JupyterEOApp": eo_remote_config}


def _port(url: str) -> int:
    return int(re.match(r"https?://127\.0\.0\.1:(\d+)", url).group(1))  # type: ignore[union-attr]


async def test_logins_and_kernel_workflow_through_the_forward_proxy(
        api, dummy, oidc, egress, kernel_env, jp_http_port, tmp_path) -> None:  # type: ignore[no-untyped-def]
    seen = len(dummy.requests())
    # sidebar routes: basic (wrong, then right), OIDC device flow, client credentials
    wrong = await api("api/backends/dummy/login", "POST", {"username": "alice", "password": "x"})
    assert wrong.code == 403 and json.loads(wrong.body)["code"] == "CredentialsInvalid"
    started = await api("api/backends/dummy-oidc/login", "POST", {})
    assert started.code == 202, started.body
    approve_device(oidc, json.loads(started.body)["device"]["user_code"])
    assert (await wait_login(api, "dummy-oidc"))["state"] == "ready"
    assert json.loads((await api("openeo/dummy-oidc/me")).body)["user_id"] == "alice"
    assert (await api("api/backends/dummy-svc/login", "POST", {})).code == 200
    assert json.loads((await api("openeo/dummy-svc/me")).body)["user_id"] == "service-bot"
    # kernel code: basic login delegated, the whole workflow
    run = await run_python(WORKFLOW, env={**kernel_env, "OUT_DIR": str(tmp_path)}, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    assert tagged(run.stdout, "JOB")[0][1] == "finished"
    assert tagged(run.stdout, "ASSET") == ["II*\x00dummy job output"]
    sent = tagged(run.stdout, "SENT")[0]
    assert sent and all(url.startswith(proxy_prefix("dummy")) and auth is None
                        for url, auth in sent)
    # every request the dummy received went through the forward proxy ...
    dummy_port, oidc_port = _port(dummy.url), _port(oidc.issuer)
    received = Counter((h["method"], h["path"] + (f"?{h['query']}" if h["query"] else ""))
                       for h in dummy.requests()[seen:])
    forwarded = Counter((r.method, r.path) for r in egress.saw("127.0.0.1", dummy_port))
    assert received and received == forwarded
    assert ("POST", "/openeo/1.2/result") in forwarded
    # ... and so did the server's calls to the OIDC provider
    to_oidc = {r.path for r in egress.saw("127.0.0.1", oidc_port)}
    assert {"/.well-known/openid-configuration", "/device", "/token"} <= to_oidc
    # kernels reach the Jupyter server directly (loopback channel), never via the proxy
    assert egress.saw("127.0.0.1", jp_http_port) == []


async def test_kernel_authenticate_oidc_through_the_forward_proxy(
        api, dummy, oidc, egress, kernel_env) -> None:  # type: ignore[no-untyped-def]
    code = KERNEL_PRELUDE + """
con = record(jupyter_eo.connect("dummy-oidc"))
con.authenticate_oidc(max_poll_time=60)
emit("ME", con.describe_account()["user_id"])
emit("FILES", files())
"""

    def on_line(line: str) -> None:
        match = USER_CODE.search(line)
        if match:
            approve_device(oidc, match.group(1))

    before = len(egress.saw("127.0.0.1", _port(oidc.issuer)))
    run = await run_python(code, env=kernel_env, on_line=on_line, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    assert tagged(run.stdout, "ME") == ["alice"]
    assert tagged(run.stdout, "FILES") == [{}]
    polled = [r.path for r in egress.saw("127.0.0.1", _port(oidc.issuer))[before:]]
    assert "/device" in polled and "/token" in polled


class TestHttpsBackend:
    """An https backend (like CDSE) given by its well-known root, behind HTTPS_PROXY: the server
    tunnels with CONNECT, TLS end to end; logins and kernel code work unchanged."""

    @pytest.fixture
    def eo_remote_config(self, dummy_tls, tmp_path) -> dict:  # type: ignore[no-untyped-def]
        return {"backends": {"tls": {"url": dummy_tls.url, "auth": "basic"},
                             "tls-oidc": {"url": dummy_tls.url, "auth": "oidc"}},
                "enable_local_backend": False,
                "credentials_dir": str(tmp_path / "credentials" / "me")}

    async def test_https_backend_through_a_connect_tunnel(
            self, api, dummy_tls, oidc, egress, kernel_env, jp_http_port) -> None:  # type: ignore[no-untyped-def]
        seen = len(dummy_tls.requests())
        wrong = await api("api/backends/tls/login", "POST", {"username": "bob", "password": "x"})
        assert wrong.code == 403 and json.loads(wrong.body)["code"] == "CredentialsInvalid"
        code = KERNEL_PRELUDE + """
con = record(jupyter_eo.connect("tls"))
con.authenticate_basic("bob", "BOB!!!")
emit("ME", con.describe_account()["user_id"])
emit("COLLECTIONS", con.list_collection_ids())
oidc_con = record(jupyter_eo.connect("tls-oidc"))
oidc_con.authenticate_oidc(max_poll_time=60)
emit("OIDC_ME", oidc_con.describe_account()["user_id"])
emit("SENT", sent)
"""

        def on_line(line: str) -> None:
            match = USER_CODE.search(line)
            if match:
                approve_device(oidc, match.group(1), sub="carol")

        run = await run_python(code, env=kernel_env, on_line=on_line, timeout=120)
        assert run.returncode == 0, run.stderr[-3000:]
        assert tagged(run.stdout, "ME") == ["bob"] and tagged(run.stdout, "OIDC_ME") == ["carol"]
        assert "S2_FOOBAR" in tagged(run.stdout, "COLLECTIONS")[0]
        prefixes = (proxy_prefix("tls"), proxy_prefix("tls-oidc"))
        assert all(url.startswith(prefixes) and auth is None
                   for url, auth in tagged(run.stdout, "SENT")[0])
        # the dummy served them over TLS; the forward proxy saw only CONNECT tunnels to it
        assert len(dummy_tls.requests()) > seen
        to_dummy = egress.saw("127.0.0.1", _port(dummy_tls.url))
        assert to_dummy and {(r.method, r.path) for r in to_dummy} == {("CONNECT", None)}
        assert egress.saw("127.0.0.1", jp_http_port) == []
