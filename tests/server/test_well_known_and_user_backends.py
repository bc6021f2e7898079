"""A backend given by its well-known root works for logins (basic, OIDC); users add and remove their
own backends (discovered title, versions, auth methods, OIDC providers; saved 0600 per user)."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import tornado.httpserver
import tornado.testing
import tornado.web

from jupyter_eo.server.discovery import choose_version
from tests.server.fakes import Upstream, _UpstreamHandler
from tests.support.jupyter_api import eo_api, eo_server_config, wait_login

API = "openeo/1.2/"


class _WellKnown(tornado.web.RequestHandler):
    def initialize(self, root: list[str]) -> None:
        self.root = root

    def get(self) -> None:
        base = self.root[0]
        self.write({"versions": [
            {"url": base + "openeo/1.1/", "api_version": "1.1.0", "production": True},
            {"url": base + API, "api_version": "1.2.0", "production": True},
            {"url": base + "openeo/1.3/", "api_version": "1.3.0-rc.1", "production": False},
            {"url": base + "openeo/2.0/", "api_version": "2.0.0", "production": True},
        ]})


class _UnderApi(_UpstreamHandler):
    """The fake openEO API of tests/server/fakes.py, served under /openeo/1.2/."""

    def prepare(self) -> None:
        self.request.path = "/" + self.request.path[len("/" + API):]


@pytest.fixture
def rooted(jp_asyncio_loop, oidc_provider):  # type: ignore[no-untyped-def]
    """An openEO backend addressed as http://host:port (well-known root, API under /openeo/1.2/)."""
    sock, port = tornado.testing.bind_unused_port()
    root = f"http://127.0.0.1:{port}/"
    up = Upstream(oidc=oidc_provider, url=root + API)
    app = tornado.web.Application([
        (r"/\.well-known/openeo", _WellKnown, {"root": [root]}),
        (r"/openeo/1\.2/.*", _UnderApi, {"up": up}),
    ])

    async def make() -> tornado.httpserver.HTTPServer:
        server = tornado.httpserver.HTTPServer(app)
        server.add_socket(sock)
        return server

    server = jp_asyncio_loop.run_until_complete(make())
    up.root = root  # type: ignore[attr-defined]
    yield up
    server.stop()


@pytest.fixture
def user_dir(tmp_path) -> Path:  # type: ignore[no-untyped-def]
    return tmp_path / "user-backends" / "me"


@pytest.fixture
def allow_user_backends() -> bool:
    return True


@pytest.fixture
def jp_server_config(rooted, tmp_path, user_dir, allow_user_backends) -> dict:  # type: ignore[no-untyped-def]
    return eo_server_config({
        "backends": {"rootbasic": {"url": rooted.root, "auth": "basic"},
                     "rootoidc": {"url": rooted.root, "auth": "oidc"}},
        "enable_local_backend": False,
        "credentials_dir": str(tmp_path / "creds"),
        "user_backends_dir": str(user_dir),
        "allow_user_backends": allow_user_backends,
    })


@pytest.fixture
def api(jp_serverapp, http_server, jp_http_port, jp_base_url, jp_auth_header):  # type: ignore[no-untyped-def]
    return eo_api(jp_http_port, jp_base_url, jp_auth_header)


def test_choose_version_prefers_highest_production_1x() -> None:
    versions = [{"url": "http://h/a/", "api_version": "1.0.1"},
                {"url": "http://h/b/", "api_version": "1.2.0", "production": True},
                {"url": "http://h/c/", "api_version": "1.10.0", "production": False},
                {"url": "http://h/d/", "api_version": "2.0.0", "production": True},
                {"url": "javascript:x", "api_version": "1.9.0"}]
    assert choose_version(versions)["url"] == "http://h/b/"
    assert choose_version([versions[2]])["url"] == "http://h/c/"  # only non-production: take it
    assert choose_version([versions[3]]) is None


async def test_basic_login_with_a_well_known_root(api, rooted) -> None:
    answer = await api("api/backends/rootbasic/login", "POST",
                       {"username": "alice", "password": "wonderland-pw"})
    assert answer.code == 200, answer.body
    assert json.loads(answer.body)["state"] == "ready"
    # only requests under /openeo/1.2/ reach the fake API (recorded without that prefix)
    assert "/credentials/basic" in [h.path for h in rooted.hits]
    # the proxy keeps the URL as given: the client's /.well-known/openeo, then the API
    me = await api(f"openeo/rootbasic/{API}me")
    assert me.code == 200 and json.loads(me.body) == {"user_id": "alice"}
    wk = json.loads((await api("openeo/rootbasic/.well-known/openeo")).body)
    assert any(v["url"].endswith(f"/jupyter-eo/openeo/rootbasic/{API}") for v in wk["versions"])


async def test_wrong_password_message_stays_in_the_backend_state(api, rooted) -> None:
    answer = await api("api/backends/rootbasic/login", "POST",
                       {"username": "alice", "password": "nope"})
    body = json.loads(answer.body)
    assert answer.code == 403 and body["code"] == "CredentialsInvalid"
    assert body["message"] == "basic login failed (HTTP 403): bad credentials"
    listed = json.loads((await api("api/backends")).body)["backends"]
    view = next(b for b in listed if b["id"] == "rootbasic")
    assert (view["state"], view["error"]) == ("error", body["message"])


async def test_oidc_login_with_a_well_known_root(api, rooted, oidc_provider) -> None:
    started = await api("api/backends/rootoidc/login", "POST", {})
    assert started.code == 202, started.body
    oidc_provider.approve_all()
    state = await wait_login(api, "rootoidc")
    assert state["state"] == "ready", state
    me = await api(f"openeo/rootoidc/{API}me")
    assert me.code == 200, me.body


async def test_discover_reports_versions_title_auth_and_providers(api, rooted) -> None:
    answer = await api("api/discover", "POST", {"url": rooted.root})
    info = json.loads(answer.body)
    assert answer.code == 200, info
    assert info["api_root"] == rooted.root + API and info["api_version"] == "1.2.0"
    assert [v["api_version"] for v in info["versions"]] == ["1.1.0", "1.2.0", "1.3.0-rc.1",
                                                            "2.0.0"]
    assert info["title"] == "fake"
    assert info["oidc_providers"] == [{"id": "fake", "title": "Fake",
                                       "issuer": rooted.oidc.url, "device_flow": True}]
    # the API root itself works too
    direct = json.loads((await api("api/discover", "POST", {"url": rooted.root + API})).body)
    assert direct["api_root"] == rooted.root + API


@pytest.mark.parametrize(("body", "status"), [
    ({}, 400), ({"url": "ftp://x/"}, 400), ({"url": "http://u:p@h/"}, 400),
    ({"url": "http://jupyter-eo-test.invalid/"}, 502),
])
async def test_discover_bad_input(api, body, status) -> None:
    answer = await api("api/discover", "POST", body)
    assert answer.code == status, answer.body
    assert set(json.loads(answer.body)) >= {"code", "message"}


async def test_user_adds_logs_in_and_removes_a_backend(api, rooted, user_dir) -> None:
    added = await api("api/backends", "POST", {"url": rooted.root, "auth": "basic"})
    view = json.loads(added.body)
    assert added.code == 201, view
    assert (view["id"], view["title"], view["auth"], view["user"]) == (
        "127-0-0-1", "fake", "basic", True)
    saved = user_dir / "backends.json"
    assert stat.S_IMODE(os.stat(saved).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(user_dir).st_mode) == 0o700
    assert json.loads(saved.read_text())["backends"]["127-0-0-1"]["url"] == rooted.root
    login = await api("api/backends/127-0-0-1/login", "POST",
                      {"username": "alice", "password": "wonderland-pw"})
    assert login.code == 200, login.body
    me = await api(f"openeo/127-0-0-1/{API}me")
    assert me.code == 200
    # admin backends cannot be removed, nor taken over
    assert (await api("api/backends/rootbasic", "DELETE")).code == 403
    taken = await api("api/backends", "POST", {"url": rooted.root, "id": "rootbasic"})
    assert taken.code == 409
    removed = await api("api/backends/127-0-0-1", "DELETE")
    assert removed.code == 204
    ids = [b["id"] for b in json.loads((await api("api/backends")).body)["backends"]]
    assert ids == ["rootbasic", "rootoidc"]
    assert json.loads(saved.read_text())["backends"] == {}
    assert (await api(f"openeo/127-0-0-1/{API}me")).code == 404


async def test_user_backends_survive_a_restart(api, rooted, user_dir, jp_serverapp) -> None:
    added = await api("api/backends", "POST", {"url": rooted.root, "id": "mine"})
    assert added.code == 201
    assert json.loads(added.body)["auth"] == "oidc"  # advertised: OIDC preferred
    from jupyter_eo.server.backends import BackendRegistry
    from jupyter_eo.server.user_backends import UserBackendStore

    fresh = BackendRegistry({}, local_enabled=False)
    UserBackendStore(user_dir).load_into(fresh)
    assert fresh.get("mine").user and fresh.get("mine").url == rooted.root


@pytest.mark.parametrize("allow_user_backends", [False])
async def test_admin_can_forbid_user_backends(api, rooted, allow_user_backends) -> None:
    listed = json.loads((await api("api/backends")).body)
    assert listed["allow_user_backends"] is False
    answer = await api("api/backends", "POST", {"url": rooted.root})
    assert answer.code == 403 and json.loads(answer.body)["code"] == "UserBackendsDisabled"
    assert rooted.hits == []  # refused before any discovery
