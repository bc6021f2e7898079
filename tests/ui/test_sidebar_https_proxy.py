"""Browser test: an https backend added from the sidebar while the lab reaches the outside only
through a forward proxy (HTTPS_PROXY): discovery, the basic login and the kernel's calls go through
a CONNECT tunnel to the backend, with TLS checked end to end."""
from __future__ import annotations

import asyncio
import json
import os
import ssl
import threading
from typing import Any, Iterator

import pytest
import tornado.httpserver
import tornado.testing
import tornado.web

from tests.server.fakes import Upstream, _UpstreamHandler
from tests.support.forward_proxy import ForwardProxy, forward_proxy
from tests.support.self_signed import self_signed_cert

from .conftest import LabPage, loaded_lab_page, running_lab

pytestmark = pytest.mark.browser
PANEL = "#jupyter-eo-backends"


@pytest.fixture(scope="module")
def tls_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Upstream, str]]:
    """The fake openEO backend of tests/server/fakes.py on https://127.0.0.1:PORT/ (its own
    loop in a thread); yields it and the certificate file that makes it trusted."""
    cert, key = self_signed_cert(tmp_path_factory.mktemp("tls"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    sock, port = tornado.testing.bind_unused_port()
    up = Upstream(url=f"https://127.0.0.1:{port}/")
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    def run() -> None:
        asyncio.set_event_loop(loop)

        async def start() -> None:
            server = tornado.httpserver.HTTPServer(
                tornado.web.Application([(r"/.*", _UpstreamHandler, {"up": up})]),
                ssl_options=context)
            server.add_socket(sock)
            holder["server"] = server

        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10)
    yield up, cert
    loop.call_soon_threadsafe(lambda: (holder["server"].stop(), loop.stop()))
    thread.join(10)


@pytest.fixture(scope="module")
def https_lab(tmp_path_factory: pytest.TempPathFactory, playwright_browser: Any,
              tls_upstream: tuple[Upstream, str]) -> Iterator[tuple[LabPage, ForwardProxy]]:
    _, cert = tls_upstream
    tmp = tmp_path_factory.mktemp("https-lab")
    (tmp / "config").mkdir()
    (tmp / "config" / "jupyter_server_config.json").write_text(json.dumps({"JupyterEOApp": {
        "enable_local_backend": False,
        # http:// targets are not proxied here (only HTTPS_PROXY is set): direct DNS failure
        "backends": {"nodns": {"url": "http://jupyter-eo-test.invalid/", "auth": "basic"}}}}))
    names = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
             "SSL_CERT_FILE")
    with forward_proxy() as proxy:
        saved = {k: os.environ.pop(k, None) for k in names}
        # only HTTPS_PROXY: the kernel's http calls to the lab stay direct
        os.environ.update({"HTTPS_PROXY": proxy.url, "SSL_CERT_FILE": cert})
        try:
            server_cm = running_lab(tmp)
            server = server_cm.__enter__()
        finally:
            for key in names:
                os.environ.pop(key, None)
                if saved[key] is not None:
                    os.environ[key] = saved[key]  # type: ignore[assignment]
        try:
            with loaded_lab_page(playwright_browser, server) as lab:
                yield lab, proxy
        finally:
            server_cm.__exit__(None, None, None)


def _row(lab: LabPage, backend_id: str) -> Any:
    return lab.page.locator(f"{PANEL} .jp-eo-Backend[data-backend-id='{backend_id}']")


def test_https_backend_through_connect_tunnel(https_lab, tls_upstream) -> None:  # type: ignore[no-untyped-def]
    lab, proxy = https_lab
    up, _ = tls_upstream
    port = int(up.url.rstrip("/").rsplit(":", 1)[1])
    lab.page.locator(".jp-SideBar .lm-TabBar-tab[title='openEO backends']").wait_for()
    lab.js("app.shell.activateById('jupyter-eo-backends');")
    add = lab.page.locator(f"{PANEL} .jp-eo-AddBackend")
    url_input = add.locator("input.jp-eo-AddBackend-url")
    url_input.click()
    url_input.press_sequentially(up.url)  # real key presses into the focused field
    assert url_input.input_value() == up.url
    add.locator("button.jp-eo-AddBackend-check").click()
    found = add.locator(".jp-eo-AddBackend-found")
    try:
        found.wait_for(timeout=20_000)
    except Exception:
        raise AssertionError(add.inner_text() + "\n" + str(proxy.requests)) from None
    found.locator("select.jp-eo-AddBackend-auth").select_option("basic")
    found.locator("button.jp-eo-AddBackend-add").click()
    row = _row(lab, "127-0-0-1")
    row.wait_for(timeout=10_000)
    row.locator("button.jp-eo-login").click()
    row.locator("input[name='username']").click()
    lab.page.keyboard.type(up.user[0])
    row.locator("input[name='password']").click()
    lab.page.keyboard.type(up.user[1])
    lab.page.keyboard.press("Enter")
    lab.page.locator(f"{PANEL} .jp-eo-Backend[data-backend-id='127-0-0-1'][data-state='ready']"
                     ).wait_for(timeout=15_000)
    assert "/credentials/basic" in [h.path for h in up.hits]
    path = lab.write_notebook("tls.ipynb", [
        "import jupyter_eo\ncon = jupyter_eo.connect('127-0-0-1')\nme = con.describe_account()"])
    lab.open_notebook(path)
    lab.run_all(path)
    assert lab.kernel_eval(path, "me['user_id']") == "'alice'"
    # the proxy saw only tunnels to the backend: every server-side call went through it
    tunnels = proxy.saw("127.0.0.1", port)
    assert tunnels and all(t.method == "CONNECT" and t.path is None for t in tunnels)
    assert len(tunnels) >= 3  # discovery, login, the kernel's calls (one connection each)


def test_direct_login_to_an_unresolvable_host_shows_why(https_lab) -> None:  # type: ignore[no-untyped-def]
    lab, proxy = https_lab
    lab.page.locator(".jp-SideBar .lm-TabBar-tab[title='openEO backends']").wait_for()
    lab.js("app.shell.activateById('jupyter-eo-backends');")
    row = _row(lab, "nodns")
    row.locator("button.jp-eo-login").click()
    row.locator("input[name='username']").press_sequentially("ada")
    row.locator("input[name='password']").press_sequentially("pw")
    row.locator("input[name='password']").press("Enter")
    error = row.locator(".jp-eo-Backend-error")
    error.wait_for(timeout=15_000)
    assert error.inner_text() == (
        "could not reach http://jupyter-eo-test.invalid/.well-known/openeo: name not resolved")
    assert not [r for r in proxy.requests if r.host == "jupyter-eo-test.invalid"]
