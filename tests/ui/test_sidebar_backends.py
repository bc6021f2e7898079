"""Browser tests: a user adds a backend from the sidebar by its well-known root URL, logs in (a wrong
password first: the server's message stays visible), and the notebook lists and previews it; logins
to an unresolvable host and to a closed port show a clear message. The lab runs with HTTP_PROXY /
HTTPS_PROXY set to a loopback forward proxy, which must see every login call."""
from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from jupyter_eo.server.supervisor import child_env, serve_command
from tests.support.forward_proxy import ForwardProxy, forward_proxy

from .conftest import LabPage, loaded_lab_page, running_lab

pytestmark = pytest.mark.browser
PANEL = "#jupyter-eo-backends"
USER, PASSWORD = "ada", "correct-horse-battery"
UNRESOLVABLE = "http://jupyter-eo-test.invalid/"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def embedded_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The embedded backend started standalone (`jupyter-eo serve`), one basic-auth user; its
    well-known root URL (``http://127.0.0.1:PORT``, no path) is what the user types."""
    tmp = tmp_path_factory.mktemp("embedded")
    port = _free_port()
    log_path = tmp / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(serve_command(tmp / "data", ["--port", str(port)]),
                                env=child_env(USER, PASSWORD), stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    root = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, log_path.read_text()
            try:
                with urllib.request.urlopen(root + "/.well-known/openeo", timeout=2):  # noqa: S310
                    break
            except OSError:
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.3)
        yield root
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


@pytest.fixture(scope="module")
def closed_port() -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture(scope="module")
def egress() -> Iterator[ForwardProxy]:
    with forward_proxy() as proxy:
        yield proxy


@pytest.fixture(scope="module")
def backends_lab(tmp_path_factory: pytest.TempPathFactory, playwright_browser: Any,
                 embedded_backend: str, closed_port: int,
                 egress: ForwardProxy) -> Iterator[LabPage]:
    import json

    tmp = tmp_path_factory.mktemp("backends-lab")
    (tmp / "config").mkdir()
    (tmp / "config" / "jupyter_server_config.json").write_text(json.dumps({"JupyterEOApp": {
        "enable_local_backend": False,
        "proxy_connect_timeout": 5.0,
        "backends": {"nodns": {"url": UNRESOLVABLE, "title": "No DNS", "auth": "basic"},
                     "closed": {"url": f"http://127.0.0.1:{closed_port}/", "title": "Closed",
                                "auth": "basic"}}}}))
    saved = {k: os.environ.get(k) for k in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
                                           "http_proxy", "https_proxy", "no_proxy")}
    for key in saved:
        os.environ.pop(key, None)
    os.environ["HTTP_PROXY"] = os.environ["HTTPS_PROXY"] = egress.url
    os.environ["NO_PROXY"] = "localhost"  # the browser's own lab traffic is not proxied anyway
    try:
        server_cm = running_lab(tmp)
        server = server_cm.__enter__()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    try:
        with loaded_lab_page(playwright_browser, server) as lab:
            yield lab
    finally:
        server_cm.__exit__(None, None, None)


def _open_panel(lab: LabPage) -> None:
    lab.page.locator(".jp-SideBar .lm-TabBar-tab[title='openEO backends']").wait_for()
    lab.js("app.shell.activateById('jupyter-eo-backends');")


def _row(lab: LabPage, backend_id: str) -> Any:
    return lab.page.locator(f"{PANEL} .jp-eo-Backend[data-backend-id='{backend_id}']")


def _basic_login(lab: LabPage, backend_id: str, user: str, password: str) -> None:
    _row(lab, backend_id).locator("button.jp-eo-login").click()
    form = _row(lab, backend_id).locator("form.jp-eo-BasicForm")
    form.locator("input[name='username']").click()
    lab.page.keyboard.type(user)
    form.locator("input[name='password']").click()
    lab.page.keyboard.type(password)
    lab.page.keyboard.press("Enter")


def test_add_backend_by_well_known_root_log_in_and_preview(
        backends_lab: LabPage, embedded_backend: str, egress: ForwardProxy) -> None:
    lab = backends_lab
    _open_panel(lab)
    add = lab.page.locator(f"{PANEL} .jp-eo-AddBackend")
    url_input = add.locator("input.jp-eo-AddBackend-url")
    url_input.click()
    url_input.press_sequentially(embedded_backend)  # the well-known root: no /openeo/1.2 path
    assert url_input.input_value() == embedded_backend
    add.locator("button.jp-eo-AddBackend-check").click()
    found = add.locator(".jp-eo-AddBackend-found")
    found.wait_for(timeout=20_000)
    assert "openEO API 1.2" in found.locator(".jp-eo-AddBackend-version").inner_text()
    found.locator("select.jp-eo-AddBackend-auth").select_option("basic")
    found.locator("button.jp-eo-AddBackend-add").click()
    backend_id = "127-0-0-1"
    _row(lab, backend_id).wait_for(timeout=10_000)
    assert _row(lab, backend_id).get_attribute("data-state") == "logged_out"

    # a wrong password: the server's message stays on the row (issue 13, item 6)
    _basic_login(lab, backend_id, USER, "wrong-password")
    error = _row(lab, backend_id).locator(".jp-eo-Backend-error")
    error.wait_for(timeout=10_000)
    assert error.inner_text().startswith("basic login failed (HTTP 403)")
    lab.page.locator(f"{PANEL} button.jp-eo-refresh").click()  # a refresh keeps it
    lab.page.wait_for_function(
        f"() => document.querySelector(\"{PANEL} .jp-eo-Backend[data-backend-id='{backend_id}'] "
        ".jp-eo-Backend-error\")?.textContent.startsWith('basic login failed')")

    _basic_login(lab, backend_id, USER, PASSWORD)
    _row(lab, backend_id).and_(lab.page.locator("[data-state='ready']")).wait_for(
        timeout=15_000)
    assert _row(lab, backend_id).locator(".jp-eo-Backend-error").count() == 0
    assert PASSWORD not in lab.page.content()
    port = int(embedded_backend.rsplit(":", 1)[1])
    seen = [r.path for r in egress.saw("127.0.0.1", port)]
    assert "/.well-known/openeo" in seen, seen
    assert any(p.endswith("/credentials/basic") for p in seen), seen

    path = lab.write_notebook("added.ipynb", [
        "import jupyter_eo\n"
        f"con = jupyter_eo.connect('{backend_id}')\n"
        "ids = con.list_collection_ids()\n"
        "cube = con.load_collection('SENTINEL2_L2A', spatial_extent={'west': 11.30, "
        "'south': 46.49, 'east': 11.32, 'north': 46.50}, temporal_extent=['2023-06-01', "
        "'2023-06-20'], bands=['B04', 'B08'])\n"
        "png = cube.ndvi().max_time().linear_scale_range(-1, 1, 0, 255)"
        ".save_result('PNG').download()\n"
        "from IPython.display import Image\n"
        "Image(png)",
    ])
    lab.open_notebook(path)
    lab.run_all(path)
    outputs = lab.cell_outputs_text(path, 0)
    assert "Error" not in outputs, outputs
    assert lab.kernel_eval(path, "'SENTINEL2_L2A' in ids") == "True"
    assert lab.kernel_eval(path, "png[:8] == b'\\x89PNG\\r\\n\\x1a\\n'") == "True"
    image = lab.cell_locator(path, 0).locator(".jp-OutputArea-output img")
    image.wait_for(timeout=10_000)
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    # the kernel's calls went through the lab's proxy, which used the egress proxy
    assert any(r.path.endswith("/result") for r in egress.saw("127.0.0.1", port))

    # the user's own backend can be removed again (the administrator's have no Remove button)
    assert _row(lab, "nodns").locator("button.jp-eo-remove").count() == 0
    _row(lab, backend_id).locator("button.jp-eo-remove").click()
    _row(lab, backend_id).wait_for(state="detached", timeout=10_000)
    listed = [b["id"] for b in lab.server.api("jupyter-eo/api/backends")["backends"]]
    assert listed == ["nodns", "closed"]


@pytest.mark.parametrize(("backend_id", "reason"), [
    ("nodns", r"could not reach http://jupyter-eo-test\.invalid/\.well-known/openeo: egress "
              r"proxy http://127\.0\.0\.1:\d+ answered HTTP 502 Bad Gateway \(name not resolved\)"),
    ("closed", r"could not reach http://127\.0\.0\.1:\d+/\.well-known/openeo: egress proxy "
               r"http://127\.0\.0\.1:\d+ answered HTTP 502 Bad Gateway \(connection refused\)"),
])
def test_login_to_an_unreachable_backend_shows_why(backends_lab: LabPage, egress: ForwardProxy,
                                                   backend_id: str, reason: str) -> None:
    lab = backends_lab
    _open_panel(lab)
    started = time.monotonic()
    _basic_login(lab, backend_id, USER, PASSWORD)
    error = _row(lab, backend_id).locator(".jp-eo-Backend-error")
    error.wait_for(timeout=15_000)
    assert time.monotonic() - started < 10
    assert re.fullmatch(reason, error.inner_text()), error.inner_text()
    assert _row(lab, backend_id).get_attribute("data-state") == "error"


def test_add_form_shows_discovery_errors(backends_lab: LabPage) -> None:
    lab = backends_lab
    _open_panel(lab)
    add = lab.page.locator(f"{PANEL} .jp-eo-AddBackend")
    url = add.locator("input.jp-eo-AddBackend-url")
    url.fill("")
    url.click()
    url.press_sequentially("http://jupyter-eo-test.invalid")
    assert url.input_value() == "http://jupyter-eo-test.invalid"
    add.locator("button.jp-eo-AddBackend-check").click()
    error = add.locator(".jp-eo-AddBackend-error")
    lab.page.wait_for_function(
        f"() => document.querySelector('{PANEL} .jp-eo-AddBackend-error').textContent.length > 0",
        timeout=15_000)
    assert error.inner_text().startswith(
        "could not reach http://jupyter-eo-test.invalid/.well-known/openeo")


def test_map_has_a_basemap_without_the_embedded_backend(backends_lab: LabPage) -> None:
    """The lab runs with enable_local_backend=False: tiles come from the server extension."""
    lab = backends_lab
    path = lab.write_notebook("map.ipynb", [
        "from jupyter_eo.widgets import AOIMap\nm = AOIMap(zoom=3)\nm"])
    lab.open_notebook(path)
    lab.run_all(path)
    assert lab.kernel_eval(path, "m.basemap.url") == repr(
        f"{lab.server.base_url}jupyter-eo/basemap/{{z}}/{{x}}/{{y}}.png")
    tile = lab.page.locator(".jp-OutputArea-output .leaflet-container img.leaflet-tile-loaded")
    tile.first.wait_for(timeout=60_000)
    src = tile.first.get_attribute("src")
    assert "/jupyter-eo/basemap/3/" in src, src
    assert tile.first.evaluate("img => img.complete && img.naturalWidth === 256")


def test_a_refresh_keeps_what_is_typed_in_the_login_form(backends_lab: LabPage) -> None:
    """The panel refreshes itself (on show, while a device login is pending, after any action):
    a half-typed user name keeps its text, focus and caret, and typing goes on."""
    lab = backends_lab
    _open_panel(lab)
    _row(lab, "nodns").locator("button.jp-eo-login").click()
    user = _row(lab, "nodns").locator("form.jp-eo-BasicForm input[name='username']")
    user.click()
    lab.page.keyboard.type("ad")
    with lab.page.expect_response(lambda r: r.url.split("?")[0].endswith("/jupyter-eo/api/backends")
                                  and r.request.method == "GET"):
        lab.js("[...app.shell.widgets('left')].find(w => w.id === 'jupyter-eo-backends')"
               ".refresh();")
    # the list was rebuilt from that answer: wait until the rebuilt row holds the form again
    lab.page.wait_for_function(
        f"() => document.querySelector(\"{PANEL} .jp-eo-Backend[data-backend-id='nodns'] "
        "form.jp-eo-BasicForm input[name='username']\") === document.activeElement")
    lab.page.keyboard.type("a")
    assert user.input_value() == "ada"
    lab.page.keyboard.press("Tab")
    lab.page.keyboard.type("pw")
    assert _row(lab, "nodns").locator("input[name='password']").input_value() == "pw"
