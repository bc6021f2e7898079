"""Server-side HTTP honours HTTP(S)_PROXY / NO_PROXY (and the traitlets), checked through a real
loopback forward proxy: proxied calls, basic and OIDC logins go through it; NO_PROXY is respected."""
from __future__ import annotations

import json
import ssl
from pathlib import Path

import pytest
import tornado.httpserver
import tornado.testing
import tornado.web
from tornado.httpclient import HTTPRequest

from jupyter_eo.server.egress import ProxyConfig, bypasses
from jupyter_eo.server.upstream_client import UpstreamClient
from tests.support.forward_proxy import forward_proxy
from tests.support.jupyter_api import eo_api, eo_server_config, wait_login
from tests.support.self_signed import self_signed_cert

PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY",
             "http_proxy", "https_proxy", "no_proxy", "all_proxy")


@pytest.fixture
def fwd_proxy():  # type: ignore[no-untyped-def]
    with forward_proxy() as proxy:
        yield proxy


@pytest.fixture
def proxy_env(monkeypatch, fwd_proxy):  # type: ignore[no-untyped-def]
    """The environment of an institutional hub: every egress through the forward proxy."""
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", fwd_proxy.url)
    monkeypatch.setenv("HTTPS_PROXY", fwd_proxy.url)
    return fwd_proxy


@pytest.fixture
def jp_server_config(eo_proxy_config, proxy_env) -> dict:  # type: ignore[no-untyped-def]
    # proxy_env first: the app reads the environment when the server starts
    return eo_server_config(eo_proxy_config)


@pytest.fixture
def api(jp_serverapp, http_server, jp_http_port, jp_base_url, jp_auth_header):  # type: ignore[no-untyped-def]
    return eo_api(jp_http_port, jp_base_url, jp_auth_header)


def _port(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1].split("/")[0])


async def test_proxied_calls_and_basic_login_go_through_the_forward_proxy(
        api, upstream, proxy_env) -> None:
    port = _port(upstream.url)
    login = await api("api/backends/fakebasic/login", "POST",
                      {"username": "alice", "password": "wonderland-pw"})
    assert login.code == 200, login.body
    me = await api("openeo/fakebasic/me")
    assert me.code == 200 and json.loads(me.body) == {"user_id": "alice"}
    seen = {(r.method, r.path) for r in proxy_env.saw("127.0.0.1", port)}
    # discovery, the password exchange and the proxied call: all in absolute-URI form
    assert ("GET", "/.well-known/openeo") in seen
    assert ("GET", "/credentials/basic") in seen
    assert ("GET", "/me") in seen
    assert all(r.target.startswith(f"http://127.0.0.1:{port}/")
               for r in proxy_env.saw("127.0.0.1", port))


async def test_oidc_device_login_and_token_calls_go_through_the_forward_proxy(
        api, upstream, oidc_provider, proxy_env) -> None:
    started = await api("api/backends/fakeoidc/login", "POST", {})
    assert started.code == 202, started.body
    oidc_provider.approve_all()
    state = await wait_login(api, "fakeoidc")
    assert state["state"] == "ready", state
    oidc_port = _port(oidc_provider.url)
    paths = {r.path for r in proxy_env.saw("127.0.0.1", oidc_port)}
    assert {"/oidc/.well-known/openid-configuration", "/oidc/device", "/oidc/token"} <= paths
    assert ("GET", "/credentials/oidc") in {(r.method, r.path) for r in
                                           proxy_env.saw("127.0.0.1", _port(upstream.url))}


async def test_unreachable_target_through_the_proxy_is_a_clear_502(
        api, jp_serverapp, proxy_env) -> None:
    registry = jp_serverapp.web_app.settings["jupyter_eo_backends"]
    from jupyter_eo.server.backends import parse_backend

    spec = parse_backend("gone", {"url": "http://jupyter-eo-test.invalid/", "auth": "none"})
    registry._specs["gone"] = spec
    answer = await api("openeo/gone/collections")
    body = json.loads(answer.body)
    assert answer.code == 502, body
    assert body["code"] == "BadGateway"
    assert body["message"].startswith("could not reach http://jupyter-eo-test.invalid/collections")
    proxy_env.wait_for(lambda r: r.host == "jupyter-eo-test.invalid" and r.status == 502)


@pytest.fixture
def no_proxy_env(monkeypatch, proxy_env):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.0/8")
    return proxy_env


async def test_no_proxy_is_respected(no_proxy_env, eo_proxy_config, upstream, jp_configurable_serverapp,
                                     ) -> None:
    app = jp_configurable_serverapp(config={"ServerApp": {"jpserver_extensions": {"jupyter_eo": True}},
                                            "JupyterEOApp": eo_proxy_config})
    eo = [e for e in app.extension_manager.extension_apps["jupyter_eo"]][0]
    client = eo.upstream
    assert client.proxies.no_proxy == "localhost,127.0.0.0/8"
    code, body = await client.call_json(upstream.url + ".well-known/openeo")
    assert code == 200 and body["versions"]
    # the request completed: a proxied one would have been recorded before it was forwarded
    assert no_proxy_env.saw("127.0.0.1", _port(upstream.url)) == []


async def test_traitlet_overrides_the_environment(proxy_env, eo_proxy_config, upstream,
                                                  jp_configurable_serverapp) -> None:
    config = {**eo_proxy_config, "http_proxy": "", "https_proxy": ""}  # '' = direct
    app = jp_configurable_serverapp(config={"ServerApp": {"jpserver_extensions": {"jupyter_eo": True}},
                                            "JupyterEOApp": config})
    eo = list(app.extension_manager.extension_apps["jupyter_eo"])[0]
    code, _ = await eo.upstream.call_json(upstream.url + "me")
    assert code == 401
    assert proxy_env.requests == []
    with forward_proxy() as other:
        config = {**eo_proxy_config, "http_proxy": other.url}
        assert ProxyConfig.from_environment(http=other.url).proxy_for(upstream.url) is not None
        client = UpstreamClient(ProxyConfig.from_environment(http=config["http_proxy"]))
        try:
            code, _ = await client.call_json(upstream.url + "me")
        finally:
            client.close()
        assert code == 401
        assert [r.path for r in other.saw("127.0.0.1", _port(upstream.url))] == ["/me"]


# -- https through a CONNECT tunnel ------------------------------------------------------------
class _Hello(tornado.web.RequestHandler):
    def get(self) -> None:
        self.write({"tls": True, "path": self.request.path})


async def test_https_goes_through_a_connect_tunnel_with_tls_end_to_end(tmp_path) -> None:
    cert, key = self_signed_cert(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    sock, port = tornado.testing.bind_unused_port()
    server = tornado.httpserver.HTTPServer(tornado.web.Application([(r"/.*", _Hello)]),
                                           ssl_options=server_ctx)
    server.add_socket(sock)
    client_ctx = ssl.create_default_context(cafile=cert)
    try:
        with forward_proxy() as proxy:
            client = UpstreamClient(ProxyConfig(https=proxy.url))
            try:
                response = await client.fetch(HTTPRequest(
                    f"https://127.0.0.1:{port}/openeo/1.2/", ssl_options=client_ctx,
                    request_timeout=10))
            finally:
                client.close()
            assert response.code == 200
            assert json.loads(response.body) == {"tls": True, "path": "/openeo/1.2/"}
            tunnel = proxy.wait_for(lambda r: r.port == port)
            assert (tunnel.method, tunnel.target, tunnel.path) == ("CONNECT", f"127.0.0.1:{port}",
                                                                   None)
            # the proxy only relays: a certificate the client does not trust still fails
            client = UpstreamClient(ProxyConfig(https=proxy.url))
            try:
                with pytest.raises(Exception) as err:
                    await client.fetch(HTTPRequest(f"https://127.0.0.1:{port}/",
                                                   request_timeout=10))
            finally:
                client.close()
            assert getattr(err.value, "code", "") == "BadGateway"
            assert "TLS" in str(err.value)
    finally:
        server.stop()


async def test_proxy_refusing_the_tunnel_is_named_in_the_error() -> None:
    with forward_proxy(require_auth="user:pw") as proxy:
        client = UpstreamClient(ProxyConfig(https=proxy.url))
        try:
            with pytest.raises(Exception) as err:
                await client.fetch(HTTPRequest("https://127.0.0.1:9/x", request_timeout=5))
        finally:
            client.close()
        assert err.value.status == 502  # type: ignore[attr-defined]
        assert f"refused CONNECT 127.0.0.1:9 (HTTP 407" in str(err.value)
        # with the credentials in the proxy URL the tunnel is accepted (then the target refuses)
        authed = proxy.url.replace("http://", "http://user:pw@")
        client = UpstreamClient(ProxyConfig(https=authed))
        try:
            with pytest.raises(Exception) as err:
                await client.fetch(HTTPRequest("https://127.0.0.1:9/x", request_timeout=5))
        finally:
            client.close()
        assert "HTTP 502" in str(err.value) and "pw" not in str(err.value)
        assert proxy.requests[-1].proxy_authorization.startswith("Basic ")


@pytest.mark.parametrize(("entries", "host", "port", "expected"), [
    ("example.org", "example.org", 443, True),
    ("example.org", "api.example.org", 443, True),
    (".example.org", "api.example.org", 443, True),
    ("example.org", "badexample.org", 443, False),
    ("10.0.0.0/8", "10.1.2.3", 80, True),
    ("10.0.0.0/8", "11.1.2.3", 80, False),
    ("127.0.0.1", "127.0.0.1", 8080, True),
    ("host.test:8080", "host.test", 8080, True),
    ("host.test:8080", "host.test", 443, False),
    ("*", "anything.test", 1, True),
    ("", "anything.test", 1, False),
])
def test_no_proxy_matching(entries: str, host: str, port: int, expected: bool) -> None:
    assert bypasses(entries, host, port) is expected


def test_proxy_config_from_environment_prefers_lower_case_and_hides_passwords() -> None:
    env = {"HTTPS_PROXY": "http://upper:1", "https_proxy": "http://u:secret@lower:3128",
           "NO_PROXY": "a.test"}
    config = ProxyConfig.from_environment(env)
    assert config.proxy_for("https://x.test/").host == "lower"
    assert config.proxy_for("https://a.test/") is None
    assert config.proxy_for("http://x.test/") is None  # no HTTP_PROXY
    assert "secret" not in json.dumps(config.public())
    with pytest.raises(ValueError, match="socks5"):
        ProxyConfig.from_environment({"HTTPS_PROXY": "socks5://h:1080"})


async def test_status_names_the_egress_proxy_without_credentials(monkeypatch, eo_proxy_config,
                                                                 jp_configurable_serverapp) -> None:
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://user:s3cret@proxy.test:3128")
    monkeypatch.setenv("NO_PROXY", ".intranet.test")
    app = jp_configurable_serverapp(config={"ServerApp": {"jpserver_extensions": {"jupyter_eo": True}},
                                            "JupyterEOApp": eo_proxy_config})
    eo = list(app.extension_manager.extension_apps["jupyter_eo"])[0]
    assert eo.upstream.proxies.public() == {"http": "", "https": "http://proxy.test:3128",
                                            "no_proxy": ".intranet.test"}


async def test_status_route_reports_the_egress_proxy(api, proxy_env) -> None:
    status = json.loads((await api("api/status")).body)
    assert status["egress_proxy"] == {"http": proxy_env.url, "https": proxy_env.url,
                                      "no_proxy": ""}
