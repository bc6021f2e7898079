"""The first day on a backend we did not write: openeo-driver's dummy backend behind jupyter_eo,
logins from the sidebar routes and from kernel code, and the notebook workflow of the official
openeo client in a kernel-like child process, every request through the proxy."""
from __future__ import annotations

import json
from pathlib import Path

from tests.remote.flows import (KERNEL_PRELUDE, USER_CODE, WORKFLOW, approve_device, proxy_prefix,
                                 tagged, wait_login)
from tests.support.kernel_process import run_python

async def test_basic_login_from_the_sidebar_route(api, dummy) -> None:
    seen = len(dummy.requests())
    wrong = await api("api/backends/dummy/login", "POST",
                      {"username": "alice", "password": "not-alice-pw"})
    assert wrong.code == 403
    error = json.loads(wrong.body)
    assert error["code"] == "CredentialsInvalid" and "basic login failed" in error["message"]
    assert "not-alice-pw" not in wrong.body.decode()
    state = json.loads((await api("api/backends/dummy/login")).body)
    assert state["state"] in ("logged_out", "error")  # 'error' once the sidebar shows why
    assert (await api("openeo/dummy/me")).code in (401, 403)
    ok = await api("api/backends/dummy/login", "POST",
                   {"username": "alice", "password": "alice123"})
    assert ok.code == 200 and json.loads(ok.body)["state"] == "ready"
    me = await api("openeo/dummy/me")
    assert me.code == 200 and json.loads(me.body)["user_id"] == "alice"
    hits = dummy.requests()[seen:]
    assert [h["path"] for h in hits if h["path"].endswith("/credentials/basic")] == \
        ["/openeo/1.2/credentials/basic"] * 2
    assert hits[-1]["path"] == "/openeo/1.2/me" and hits[-1]["auth"] == "Bearer basic"


async def test_oidc_device_flow_from_the_sidebar_route(api, dummy, oidc,
                                                        eo_remote_config) -> None:
    started = await api("api/backends/dummy-oidc/login", "POST", {})
    assert started.code == 202
    device = json.loads(started.body)["device"]
    assert device["verification_uri"] == oidc.issuer + "/activate"
    assert device["verification_uri_complete"].endswith("user_code=" + device["user_code"])
    userinfo_before = oidc.state.userinfo_calls
    approve_device(oidc, device["user_code"], sub="alice")
    assert (await wait_login(api, "dummy-oidc"))["state"] == "ready"
    me = await api("openeo/dummy-oidc/me")
    assert me.code == 200 and json.loads(me.body)["user_id"] == "alice"
    assert oidc.state.userinfo_calls > userinfo_before  # the dummy checked the token itself
    assert dummy.requests()[-1]["auth"] == "Bearer oidc"
    stored = Path(eo_remote_config["credentials_dir"]) / "dummy-oidc.json"
    assert json.loads(stored.read_text())["refresh_token"] in oidc.state.refresh


async def test_client_credentials_from_the_server_config(api, dummy, oidc) -> None:
    grants = oidc.state.grants.count("client_credentials")
    ok = await api("api/backends/dummy-svc/login", "POST", {})
    assert ok.code == 200 and json.loads(ok.body)["state"] == "ready"
    me = await api("openeo/dummy-svc/me")
    assert me.code == 200 and json.loads(me.body)["user_id"] == "service-bot"
    assert oidc.state.grants.count("client_credentials") > grants


async def test_kernel_workflow_against_the_dummy_goes_through_the_proxy(
        api, dummy, kernel_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    seen = len(dummy.requests())
    run = await run_python(WORKFLOW, env={**kernel_env, "OUT_DIR": str(tmp_path)}, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    assert tagged(out, "ME") == ["alice"]
    assert {"S2_FOOBAR", "SENTINEL1_GRD", "ESA_WORLDCOVER_10M_2020_V1"} <= \
        set(tagged(out, "COLLECTIONS")[0])
    # the dummy "computes" by naming the graph it ran: band math reached it intact
    download = tagged(out, "DOWNLOAD")[0]
    assert download.startswith("GTiff:save_result(")
    job_id, status = tagged(out, "JOB")[0]
    assert status == "finished"
    prefix = proxy_prefix("dummy")
    assets = tagged(out, "ASSETS")[0]
    assert "output.tiff" in assets
    assert assets["output.tiff"] == f"{prefix}jobs/{job_id}/results/assets/output.tiff"
    assert tagged(out, "ASSET") == ["II*\x00dummy job output"]
    assert job_id in tagged(out, "JOBS")[0]
    assert "ndvi_max_e2e" in tagged(out, "UDPS")[0]
    assert tagged(out, "UDP") == ["NDVI max"]
    # every request of the kernel went to the proxy, without credentials of its own
    sent = tagged(out, "SENT")[0]
    assert len(sent) > 10
    assert [url for url, _ in sent if not url.startswith(prefix)] == []
    assert [auth for _, auth in sent if auth is not None] == []
    assert tagged(out, "FILES") == [{}]
    # and reached the dummy with the server's token (the graph really went there)
    hits = dummy.requests()[seen:]
    assert any(h["method"] == "POST" and h["path"] == "/openeo/1.2/result" for h in hits)
    assert any(h["path"] == f"/openeo/1.2/jobs/{job_id}/results/assets/output.tiff"
               for h in hits)
    # (capabilities and discovery are public: read before the kernel's authenticate_basic)
    authed = [h for h in hits if h["path"] != "/openeo/1.2/" and not h["path"].endswith(
        ("/credentials/basic", "/.well-known/openeo"))]
    assert authed and {h["auth"] for h in authed} == {"Bearer basic"}, [h for h in authed if h["auth"] != "Bearer basic"]


async def test_kernel_authenticate_oidc_is_delegated_to_the_server(
        api, dummy, oidc, kernel_env, eo_remote_config) -> None:  # type: ignore[no-untyped-def]
    code = KERNEL_PRELUDE + """
con = record(jupyter_eo.connect("dummy-oidc"))
con.authenticate_oidc(max_poll_time=60)
emit("ME", con.describe_account()["user_id"])
con.authenticate_oidc()  # logged in on the server: returns at once, no new prompt
emit("SENT", sent)
emit("FILES", files())
"""
    approved: list[str] = []

    def on_line(line: str) -> None:
        match = USER_CODE.search(line)
        if match:
            approve_device(oidc, match.group(1), sub="alice")
            approved.append(match.group(1))

    devices_before = len(oidc.state.grants)
    run = await run_python(code, env=kernel_env, on_line=on_line, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    assert len(approved) == 1
    assert f"visit {oidc.issuer}/activate?user_code={approved[0]}" in run.stdout
    assert tagged(run.stdout, "ME") == ["alice"]
    assert oidc.state.grants[devices_before:].count(
        "urn:ietf:params:oauth:grant-type:device_code") == 1
    sent = tagged(run.stdout, "SENT")[0]
    assert sent and all(url.startswith(proxy_prefix("dummy-oidc")) and auth is None
                        for url, auth in sent)
    assert tagged(run.stdout, "FILES") == [{}]
    stored = Path(eo_remote_config["credentials_dir"]) / "dummy-oidc.json"
    refresh = json.loads(stored.read_text())["refresh_token"]
    assert refresh in oidc.state.refresh and refresh not in run.stdout + run.stderr
    assert dummy.requests()[-1]["auth"] == "Bearer oidc"


async def test_user_adds_the_dummy_by_its_well_known_root_and_uses_it(
        api, dummy, kernel_env) -> None:  # type: ignore[no-untyped-def]
    found = await api("api/discover", "POST", {"url": dummy.url.rstrip("/")})
    assert found.code == 200
    info = json.loads(found.body)
    assert info["api_root"] == dummy.api_url and info["api_version"] == "1.2.0"
    assert {"basic", "oidc"} <= set(info["auth_methods"])
    assert [p["id"] for p in info["oidc_providers"]] == ["loop"]
    added = await api("api/backends", "POST", {"url": dummy.url, "id": "mine", "auth": "basic"})
    assert added.code == 201, added.body
    assert json.loads(added.body)["state"] == "logged_out"
    listed = json.loads((await api("api/backends")).body)["backends"]
    assert "mine" in [b["id"] for b in listed]
    code = KERNEL_PRELUDE + """
from jupyter_eo.kernel_login import DelegatedLoginError
con = record(jupyter_eo.connect("mine"))
try:
    con.authenticate_basic("alice", "wrong")
except DelegatedLoginError as exc:
    emit("ERROR", str(exc))
con.authenticate_basic("alice", "alice123")
emit("ME", con.describe_account()["user_id"])
emit("COLLECTIONS", con.list_collection_ids())
emit("SENT", sent)
"""
    run = await run_python(code, env=kernel_env, timeout=60)
    assert run.returncode == 0, run.stderr[-3000:]
    [error] = tagged(run.stdout, "ERROR")
    assert error.startswith("[403] CredentialsInvalid: ") and "'mine'" in error
    assert tagged(run.stdout, "ME") == ["alice"]
    assert "S2_FOOBAR" in tagged(run.stdout, "COLLECTIONS")[0]
    assert all(url.startswith(proxy_prefix("mine")) and auth is None
               for url, auth in tagged(run.stdout, "SENT")[0])
    removed = await api("api/backends/mine", "DELETE")
    assert removed.code == 204
    assert (await api("api/backends/mine/login")).code == 404


async def test_admin_backend_given_by_its_well_known_root(api, dummy, kernel_env) -> None:  # type: ignore[no-untyped-def]
    wrong = await api("api/backends/dummy-root/login", "POST",
                      {"username": "bob", "password": "bob123"})
    assert wrong.code == 403 and json.loads(wrong.body)["code"] == "CredentialsInvalid"
    ok = await api("api/backends/dummy-root/login", "POST",
                   {"username": "bob", "password": "BOB!!!"})
    assert ok.code == 200, ok.body
    code = KERNEL_PRELUDE + """
con = record(jupyter_eo.connect("dummy-root"))
emit("ROOT", con.root_url)
emit("ME", con.describe_account()["user_id"])
emit("SENT", sent)
"""
    run = await run_python(code, env=kernel_env, timeout=60)
    assert run.returncode == 0, run.stderr[-3000:]
    prefix = proxy_prefix("dummy-root")
    assert tagged(run.stdout, "ROOT") == [prefix + "openeo/1.2/"]
    assert tagged(run.stdout, "ME") == ["bob"]
    assert all(url.startswith(prefix) and auth is None
               for url, auth in tagged(run.stdout, "SENT")[0])


async def test_kernel_authenticate_oidc_denied_by_the_user_is_a_clear_error(
        api, dummy, oidc, kernel_env) -> None:  # type: ignore[no-untyped-def]
    code = KERNEL_PRELUDE + """
from jupyter_eo.kernel_login import DelegatedLoginError
con = jupyter_eo.connect("dummy-oidc")
try:
    con.authenticate_oidc(max_poll_time=60)
except DelegatedLoginError as exc:
    emit("ERROR", str(exc))
"""

    def on_line(line: str) -> None:
        match = USER_CODE.search(line)
        if match:
            approve_device(oidc, match.group(1), deny=True)

    run = await run_python(code, env=kernel_env, on_line=on_line, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    assert tagged(run.stdout, "ERROR") == [
        "login to 'dummy-oidc' failed on the Jupyter server: device login failed: "
        "access_denied: the user denied the request"]
    state = json.loads((await api("api/backends/dummy-oidc/login")).body)
    assert state["state"] == "error" and "access_denied" in state["error"]
