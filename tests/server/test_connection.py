"""jupyter_eo.connect outside the proxy: the channel session and the standalone embedded backend."""
from __future__ import annotations

import http.server
import json
import os
import stat
import threading
from pathlib import Path
from typing import Iterator

import pytest

from jupyter_eo import connection
from jupyter_eo.server.channel import ENV_SECRET, ENV_URL, SECRET_HEADER
from tests.support.kernel_process import KERNEL_PRELUDE, tagged


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[tuple[str, dict]] = []
    redirect_to = ""

    def do_GET(self) -> None:  # noqa: N802
        type(self).seen.append((self.path, dict(self.headers)))
        if self.path.startswith("/base/jupyter-eo/openeo/local/away") and self.redirect_to:
            self.send_response(302)
            self.send_header("Location", self.redirect_to)
            self.end_headers()
            return
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
        pass


@pytest.fixture
def two_hosts() -> Iterator[tuple[str, str]]:
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder) for _ in range(2)]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for t in threads:
        t.start()
    _Recorder.seen = []
    yield tuple(f"http://127.0.0.1:{s.server_address[1]}/" for s in servers)  # type: ignore[misc]
    for s in servers:
        s.shutdown()
        s.server_close()


def test_secret_goes_only_to_the_proxy(two_hosts) -> None:
    server, other = two_hosts
    prefix = server + "base/jupyter-eo/openeo/local/"
    session = connection._channel_session(prefix, {SECRET_HEADER: "s3cret"})
    session.get(prefix + "collections")
    session.get(server + "base/api/contents")  # same host, outside the proxy
    session.get(other + "x", headers={SECRET_HEADER: "s3cret"})
    session.get(prefix + "../../api/contents")
    _Recorder.redirect_to = other + "landing"
    session.get(prefix + "away")
    headers = [(path, h.get(SECRET_HEADER)) for path, h in _Recorder.seen]
    assert headers[0] == ("/base/jupyter-eo/openeo/local/collections", "s3cret")
    assert all(value is None for _, value in headers[1:3])
    assert ("/base/jupyter-eo/openeo/local/away", "s3cret") in headers
    assert ("/landing", None) in headers  # followed by the client, without the secret
    assert not any(value and path.startswith(("/landing", "/x", "/base/api"))
                   for path, value in headers)


def test_browser_url_is_origin_relative(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_URL, "http://127.0.0.1:8888/user/a/")
    url = connection.proxy_url("local") + "services/s1/tiles/{z}/{x}/{y}"
    assert connection.browser_url(url) == "/user/a/jupyter-eo/openeo/local/services/s1/tiles/{z}/{x}/{y}"


def test_other_backends_need_jupyter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_URL, raising=False)
    monkeypatch.delenv(ENV_SECRET, raising=False)
    with pytest.raises(RuntimeError, match="only reachable from a Jupyter kernel"):
        connection.connect("cdse")
    with pytest.raises(ValueError):
        connection.connect("../x")


def test_standalone_backend_is_started_reused_and_stopped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, eo_cache_dir: str) -> None:
    monkeypatch.delenv(ENV_URL, raising=False)
    monkeypatch.delenv(ENV_SECRET, raising=False)
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("JUPYTER_EO_CACHE_DIR", eo_cache_dir)
    try:
        con = connection.connect("local")
        assert "SENTINEL2_L2A" in con.list_collection_ids()
        assert con.describe_account()["user_id"] == "local"
        state = tmp_path / "data" / "jupyter_eo" / "standalone-state" / "standalone.json"
        assert stat.S_IMODE(state.stat().st_mode) == 0o600
        assert stat.S_IMODE(state.parent.stat().st_mode) == 0o700
        first = json.loads(state.read_text())
        again = connection.connect("local")  # reuses the running backend
        assert again.list_collection_ids() == con.list_collection_ids()
        assert json.loads(state.read_text())["pid"] == first["pid"]
    finally:
        stopped = connection.stop_standalone()
    assert stopped
    with pytest.raises(OSError):
        os.kill(first["pid"], 0)


# -- authenticate_*() on a proxied connection: delegated to the server's login ---------------
@pytest.fixture
def jp_server_config(eo_proxy_config) -> dict:  # type: ignore[no-untyped-def]
    return {"ServerApp": {"jpserver_extensions": {"jupyter_eo": True}},
            "JupyterEOApp": eo_proxy_config}


@pytest.fixture
def kernel_env(jp_serverapp, http_server, tmp_path: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Environment of a kernel the server launched: its channel plus an empty openeo config."""
    home = tmp_path / "kernel-openeo-config"
    home.mkdir()
    assert os.environ.get(ENV_URL) and os.environ.get(ENV_SECRET)
    return {"OPENEO_CONFIG_HOME": str(home), "OPENEO_AUTH_CONFIG_HOME": str(home)}


async def test_kernel_authenticate_oidc_runs_the_device_flow_on_the_server(
        kernel_env, upstream, oidc_provider, eo_proxy_config) -> None:  # type: ignore[no-untyped-def]
    from tests.support.kernel_process import run_in_ipykernel

    code = KERNEL_PRELUDE + """
con = record(jupyter_eo.connect("fakeoidc"))
assert con.authenticate_oidc(max_poll_time=30) is con
print("ME " + json.dumps(con.describe_account()))
con.authenticate_oidc()  # already logged in on the server: returns at once
print("SENT " + json.dumps(sent))
print("FILES " + json.dumps(files()))
print("AUTH " + json.dumps(type(con.auth).__name__))
"""
    prompts: list[dict] = []

    def on_message(msg: dict) -> None:
        data = msg["content"].get("data", {})
        if "user code" in data.get("text/plain", ""):
            prompts.append(data)
            oidc_provider.approve_all()  # the user approves in the browser

    out = await run_in_ipykernel(code, env=kernel_env, on_message=on_message, timeout=90)
    text = "".join(m["content"]["text"] for m in out.messages if m["msg_type"] == "stream")
    assert out.reply.get("status") == "ok", text + json.dumps(out.messages[-1:], default=str)
    # the prompt went to the notebook output as a rich display, then was updated
    assert len(prompts) == 1 and len(oidc_provider.devices) == 1
    assert oidc_provider.url + "/activate?code=USER-" in prompts[0]["text/plain"]
    assert "<a href=" in prompts[0]["text/html"] and "USER-" in prompts[0]["text/html"]
    updates = [m for m in out.messages if m["msg_type"] == "update_display_data"]
    assert "Logged in to 'fakeoidc'" in updates[-1]["content"]["data"]["text/plain"]
    assert tagged(text, "ME") == [{"user_id": "alice"}]
    # the kernel sent no token, only to the proxy, and wrote no token anywhere
    sent = tagged(text, "SENT")[0]
    prefix = os.environ[ENV_URL] + "jupyter-eo/openeo/fakeoidc/"
    assert sent and all(url.startswith(prefix) and auth is None for url, auth in sent)
    assert tagged(text, "FILES") == [{}]
    assert tagged(text, "AUTH") == ["NullAuth"]
    # the tokens are the server's: injected upstream, refresh token in the server's store
    me_hits = [h for h in upstream.hits if h.path == "/me"]
    assert me_hits and me_hits[-1].headers["Authorization"].startswith("Bearer oidc/fake/acc-")
    stored = json.loads((Path(eo_proxy_config["credentials_dir"]) / "fakeoidc.json").read_text())
    assert stored["refresh_token"] in oidc_provider.refresh
    everything = json.dumps(out.messages, default=str)
    for token in oidc_provider.access | oidc_provider.refresh | set(oidc_provider.devices):
        assert token not in everything


async def test_kernel_basic_login_is_delegated_with_clear_errors(
        kernel_env, upstream) -> None:  # type: ignore[no-untyped-def]
    from tests.support.kernel_process import run_python

    code = KERNEL_PRELUDE + """
from jupyter_eo.kernel_login import DelegatedLoginError
con = record(jupyter_eo.connect("fakebasic"))
try:
    con.authenticate_basic("alice", "not-the-password-xyz")
except DelegatedLoginError as exc:
    print("ERROR " + json.dumps(str(exc)))
try:
    con.authenticate_oidc()
except DelegatedLoginError as exc:
    print("ERROR " + json.dumps(str(exc)))
con.authenticate_basic("alice", "wonderland-pw")
print("ME " + json.dumps(con.describe_account()))
print("SENT " + json.dumps(sent))
print("FILES " + json.dumps(files()))
"""
    run = await run_python(code, env=kernel_env, timeout=60)
    assert run.returncode == 0, run.stderr
    wrong, oidc = tagged(run.stdout, "ERROR")
    assert wrong.startswith("[403] CredentialsInvalid: basic login failed") and "fakebasic" in wrong
    assert "authenticate_basic(username, password)" in oidc and "sidebar" in oidc
    assert "not-the-password-xyz" not in run.stdout + run.stderr
    assert tagged(run.stdout, "ME") == [{"user_id": "alice"}]
    assert all(auth is None for _, auth in tagged(run.stdout, "SENT")[0])
    assert tagged(run.stdout, "FILES") == [{}]
    assert upstream.hits[-1].headers["Authorization"].startswith("Bearer basic//tok-")


async def test_kernel_client_credentials_and_flows_that_cannot_be_delegated(
        kernel_env, upstream, oidc_provider) -> None:  # type: ignore[no-untyped-def]
    from tests.support.kernel_process import run_python

    code = KERNEL_PRELUDE + """
import warnings
from openeo.rest import OpenEoApiError
from jupyter_eo.kernel_login import DelegatedLoginError
warnings.simplefilter("ignore")
service = record(jupyter_eo.connect("service"))
service.authenticate_oidc_client_credentials()
print("ME " + json.dumps(service.describe_account()))
print("OPEN " + json.dumps(jupyter_eo.connect("open").authenticate_oidc().backend_id))
attempts = [
    lambda: jupyter_eo.connect("fakeoidc").authenticate_oidc_client_credentials("me", "s3"),
    lambda: jupyter_eo.connect("fakeoidc").authenticate_oidc(client_secret="s3"),
    lambda: jupyter_eo.connect("fakeoidc").authenticate_oidc_access_token("tok"),
    lambda: jupyter_eo.connect("fakebasic").authenticate_oidc_refresh_token(refresh_token="r"),
    lambda: jupyter_eo.connect("nope").authenticate_oidc(),
]
for attempt in attempts:
    try:
        attempt()
        print("ERROR " + json.dumps("no error"))
    except (DelegatedLoginError, OpenEoApiError) as exc:
        print("ERROR " + json.dumps(str(exc)))
print("SENT " + json.dumps(sent))
print("FILES " + json.dumps(files()))
"""
    run = await run_python(code, env=kernel_env, timeout=60)
    assert run.returncode == 0, run.stderr
    assert tagged(run.stdout, "ME") == [{"user_id": "alice"}]
    assert tagged(run.stdout, "OPEN") == ["open"]
    assert oidc_provider.grants and set(oidc_provider.grants) == {"client_credentials"}
    cc, secret, access, refresh, unknown = tagged(run.stdout, "ERROR")
    for message in (cc, secret, access):
        assert "keeps credentials on the Jupyter server" in message
        assert "connection.authenticate_oidc()" in message and "sidebar" in message
    assert "authenticate_oidc_access_token()" in access
    assert "set up by the administrator (auth 'client_credentials'" in cc
    assert "authenticate_basic(username, password)" in refresh
    assert unknown.startswith("[404] NotFound") and "'nope'" in unknown
    assert all(auth is None for _, auth in tagged(run.stdout, "SENT")[0])
    assert tagged(run.stdout, "FILES") == [{}]


async def test_kernel_device_login_not_approved_in_time_says_so(
        kernel_env, oidc_provider) -> None:  # type: ignore[no-untyped-def]
    from tests.support.kernel_process import run_python

    code = KERNEL_PRELUDE + """
import time
from jupyter_eo.kernel_login import DelegatedLoginError
con = jupyter_eo.connect("fakeoidc")
shown = []
started = time.monotonic()
try:
    con.authenticate_oidc(max_poll_time=1, display=shown.append)
except DelegatedLoginError as exc:
    print("ERROR " + json.dumps([str(exc), time.monotonic() - started, shown]))
"""
    run = await run_python(code, env=kernel_env, timeout=60)
    assert run.returncode == 0, run.stderr
    [(message, elapsed, shown)] = tagged(run.stdout, "ERROR")
    assert message == ("the device login for 'fakeoidc' was not approved within 1 s; run "
                       "authenticate_oidc() again to get a new code")
    assert 1 <= elapsed < 10
    assert len(shown) == 1 and "enter the user code 'USER-" in shown[0]  # display= honoured


async def test_connect_with_auth_type_logs_in_on_the_server(
        kernel_env, upstream, oidc_provider) -> None:  # type: ignore[no-untyped-def]
    from tests.support.kernel_process import run_python

    code = KERNEL_PRELUDE + """
import warnings
warnings.simplefilter("error")  # logging in at connect: no 'not logged in' warning
con = record(jupyter_eo.connect("fakebasic", auth_type="basic",
                                auth_options={"username": "alice", "password": "wonderland-pw"}))
print("ME " + json.dumps(con.describe_account()))
try:
    jupyter_eo.connect("fakebasic", auth_type="bearer")
except ValueError as exc:
    print("ERROR " + json.dumps(str(exc)))
print("SENT " + json.dumps(sent))
"""
    run = await run_python(code, env=kernel_env, timeout=60)
    assert run.returncode == 0, run.stderr
    assert tagged(run.stdout, "ME") == [{"user_id": "alice"}]
    assert tagged(run.stdout, "ERROR") == ["unknown auth_type 'bearer' (use 'basic' or 'oidc')"]
    assert all(auth is None for _, auth in tagged(run.stdout, "SENT")[0])
    assert upstream.hits[-1].headers["Authorization"].startswith("Bearer basic//tok-")
