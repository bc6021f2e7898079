"""Browser test: sidebar log in / log out against loopback fakes (basic form, OIDC device code)."""
from __future__ import annotations

import asyncio
import json
import threading
from typing import Any, Iterator

import pytest

from tests.server.fakes import OidcState, Upstream, start_oidc, start_upstream

from .conftest import LabPage, loaded_lab_page, running_lab

pytestmark = pytest.mark.browser
PANEL = "#jupyter-eo-backends"


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[Upstream, OidcState]]:
    """The fake upstream and OIDC provider, served from their own loop in a thread."""
    loop = asyncio.new_event_loop()
    started: dict[str, Any] = {}

    def run() -> None:
        asyncio.set_event_loop(loop)
        oidc, oidc_server = start_oidc(loop)
        up, up_server = start_upstream(loop, oidc)
        started.update(oidc=oidc, up=up, servers=[oidc_server, up_server])
        ready.set()
        loop.run_forever()

    ready = threading.Event()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10)
    yield started["up"], started["oidc"]

    def stop() -> None:
        for server in started["servers"]:
            server.stop()
        loop.stop()

    loop.call_soon_threadsafe(stop)
    thread.join(10)


@pytest.fixture(scope="module")
def login_lab(tmp_path_factory: pytest.TempPathFactory, playwright_browser: Any,
              fakes) -> Iterator[LabPage]:  # type: ignore[no-untyped-def]
    up, _ = fakes
    tmp = tmp_path_factory.mktemp("login-lab")
    (tmp / "config").mkdir()
    (tmp / "config" / "jupyter_server_config.json").write_text(json.dumps({"JupyterEOApp": {
        "enable_local_backend": False,
        "backends": {"fakebasic": {"url": up.url, "title": "Fake basic", "auth": "basic"},
                     "fakeoidc": {"url": up.url, "title": "Fake OIDC", "auth": "oidc"}}}}))
    with running_lab(tmp) as server:
        with loaded_lab_page(playwright_browser, server) as lab:
            yield lab


def _row(lab: LabPage, backend_id: str) -> Any:
    return lab.page.locator(f"{PANEL} .jp-eo-Backend[data-backend-id='{backend_id}']")


def _open_panel(lab: LabPage) -> None:
    lab.page.locator(".jp-SideBar .lm-TabBar-tab[title='openEO backends']").wait_for()
    lab.js("app.shell.activateById('jupyter-eo-backends');")


def _wait_state(lab: LabPage, backend_id: str, state: str, timeout_ms: int = 15_000) -> None:
    lab.page.locator(f"{PANEL} .jp-eo-Backend[data-backend-id='{backend_id}']"
                     f"[data-state='{state}']").wait_for(timeout=timeout_ms)


def test_basic_login_form_and_logout(login_lab: LabPage, fakes) -> None:  # type: ignore[no-untyped-def]
    lab = login_lab
    _open_panel(lab)
    _wait_state(lab, "fakebasic", "logged_out")
    row = _row(lab, "fakebasic")
    row.locator("button.jp-eo-login").click()
    _row(lab, "fakebasic").locator("input[name='username']").fill("alice")
    _row(lab, "fakebasic").locator("input[name='password']").fill("wonderland-pw")
    _row(lab, "fakebasic").locator("form button[type='submit']").click()
    _wait_state(lab, "fakebasic", "ready")
    assert "wonderland-pw" not in lab.page.content()
    storage = lab.js("return JSON.stringify(Object.assign({}, localStorage, sessionStorage));")
    up, _ = fakes
    assert not any(token in storage or token in lab.page.content() for token in up.basic_tokens)
    _row(lab, "fakebasic").locator("button.jp-eo-logout").click()
    _wait_state(lab, "fakebasic", "logged_out")


def test_device_code_prompt_then_kernel_uses_backend(login_lab: LabPage, fakes) -> None:  # type: ignore[no-untyped-def]
    lab = login_lab
    up, oidc = fakes
    _open_panel(lab)
    _wait_state(lab, "fakeoidc", "logged_out")
    _row(lab, "fakeoidc").locator("button.jp-eo-login").click()
    _wait_state(lab, "fakeoidc", "pending")
    device = _row(lab, "fakeoidc").locator(".jp-eo-Device")
    code = device.locator(".jp-eo-Device-code").inner_text()
    assert code.startswith("USER-")
    link = device.locator("a.jp-eo-Device-link")
    assert link.inner_text() == oidc.url + "/activate"
    assert link.get_attribute("href") == oidc.url + "/activate?code=" + code
    assert not any(dc in lab.page.content() for dc in oidc.devices)  # device code stays server-side
    oidc.approve_all()  # the user approves on the provider's page
    _wait_state(lab, "fakeoidc", "ready")
    path = lab.write_notebook("oidc.ipynb", [
        "import jupyter_eo\ncon = jupyter_eo.connect('fakeoidc')\nme = con.describe_account()"])
    lab.open_notebook(path)
    lab.run_all(path)
    assert lab.kernel_eval(path, "me['user_id']") == "'alice'"
    assert lab.kernel_eval(path, "con.root_url.endswith('/jupyter-eo/openeo/fakeoidc/')") == "True"
    assert up.hits[-1].headers["Authorization"].startswith("Bearer oidc/fake/acc-")
