"""Browser test harness: a real `jupyter lab` subprocess and Chromium driven by Python Playwright.

Fixtures (server and browser shared by the tests/ui package, one fresh page per test):

* ``lab_server`` -> :class:`LabServer` (``url`` with base_url, ``token``, ``root_dir``, ``base_url``).
* ``browser_context`` -> a Playwright context already logged in to the lab (cookie set).
* ``lab`` -> :class:`LabPage`: a page on ``/lab?reset`` with helpers (``write_notebook``,
  ``open_notebook``, ``run_all``, ``run_cell``, ``wait_kernel_idle``, ``cell_sources``,
  ``cell_outputs_text``, ``execute_in_kernel``, ``kernel_eval``, ``screenshot``, ``js``). ``lab.page`` is the raw Playwright page.

Nothing is installed here: ``make chromium`` provides /usr/bin/chromium and ``make setup`` the
built labextension. Mark browser tests ``@pytest.mark.browser``. On failure a screenshot goes to
``test-artifacts/<test name>.png``. Every process started here is killed at teardown.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("JUPYTER_EO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    "--disable-dev-shm-usage",
]
SERVER_START_TIMEOUT_S = 90
LAB_LOAD_TIMEOUT_MS = 90_000
KERNEL_TIMEOUT_MS = 60_000

# JupyterLab settings for tests: no news / update checks (no network), no dialogs.
SETTINGS_OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _descendants(pid: int) -> list[int]:
    try:
        import psutil

        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except Exception:  # noqa: BLE001 - process already gone, or psutil missing
        return []


def _kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@dataclass
class LabServer:
    """A running ``jupyter lab`` started for the tests."""

    url: str  # http://127.0.0.1:PORT{base_url}
    token: str
    root_dir: Path
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(repr=False, default_factory=dict)

    def log(self) -> str:
        """The server's combined stdout/stderr so far (for assertion messages)."""
        return self.log_path.read_text(errors="replace")

    def api(self, path: str) -> Any:
        """GET ``{url}{path}`` with the token; parsed JSON."""
        req = urllib.request.Request(self.url + path.lstrip("/"),
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback only
            return json.loads(resp.read())


def _start_lab(tmp: Path, base_url: str = "/", page_config: dict[str, Any] | None = None) -> LabServer:
    """Start ``jupyter lab``; ``page_config`` goes to the temp config dir (e.g. disabledExtensions).

    The free port is found before the server binds it, so another process may take it in
    between; that start is retried on a new port (at most 3 attempts)."""
    for attempt in range(3):
        try:
            return _start_lab_once(tmp, base_url, page_config)
        except _PortTaken:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


class _PortTaken(RuntimeError):
    """jupyter lab exited because its port was taken after we picked it."""


def _start_lab_once(tmp: Path, base_url: str, page_config: dict[str, Any] | None) -> LabServer:
    root = tmp / "root"
    config_dir, data_dir, runtime_dir, settings = (tmp / n for n in ("config", "data", "runtime", "settings"))
    for d in (root, config_dir, data_dir, runtime_dir, settings):
        d.mkdir(parents=True, exist_ok=True)
    (settings / "overrides.json").write_text(json.dumps(SETTINGS_OVERRIDES))
    if page_config:
        (config_dir / "labconfig").mkdir(exist_ok=True)
        (config_dir / "labconfig" / "page_config.json").write_text(json.dumps(page_config))
    token = secrets.token_hex(16)
    port = _free_port()
    env = dict(os.environ)
    env.update({
        "JUPYTER_CONFIG_DIR": str(config_dir),
        "JUPYTER_DATA_DIR": str(data_dir),
        "JUPYTER_RUNTIME_DIR": str(runtime_dir),
        "IPYTHONDIR": str(tmp / "ipython"),
        "MPLCONFIGDIR": str(tmp / "mpl"),
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p),
        "JUPYTER_EO_TESTING": "1",
    })
    env.pop("JUPYTER_EO_SERVER_URL", None)
    env.pop("JUPYTER_EO_KERNEL_SECRET", None)
    cmd = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", f"--ServerApp.token={token}", f"--ServerApp.base_url={base_url}",
        f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
        f"--LabApp.app_settings_dir={settings}", f"--LabApp.workspaces_dir={tmp / 'workspaces'}",
        f"--LabApp.user_settings_dir={tmp / 'user-settings'}",
        "--ServerApp.terminals_enabled=False",
    ]
    log_path = tmp / "lab.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    server = LabServer(f"http://127.0.0.1:{port}{base_url}", token, root, base_url, proc, log_path, env)
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            if "already in use" in server.log():
                raise _PortTaken(server.log())
            raise RuntimeError(f"jupyter lab exited with {proc.returncode}:\n{server.log()}")
        try:
            server.api("api/status")
            return server
        except OSError:
            time.sleep(0.3)
    _stop_lab(server)
    raise RuntimeError(f"jupyter lab did not start in {SERVER_START_TIMEOUT_S}s:\n{server.log()}")


def _stop_lab(server: LabServer) -> None:
    """SIGTERM the server (it shuts its kernels down), then SIGKILL anything left over."""
    children = _descendants(server.process.pid)
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)
    _kill(children + _descendants(server.process.pid))


@contextlib.contextmanager
def running_lab(tmp: Path, base_url: str = "/", page_config: dict[str, Any] | None = None) -> Iterator[LabServer]:
    """Context manager form of the lab server, for tests needing a differently configured one."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} missing: run `make chromium`")
    server = _start_lab(tmp, base_url=base_url, page_config=page_config)
    try:
        yield server
    finally:
        _stop_lab(server)


@pytest.fixture(scope="package")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """A real ``jupyter lab`` on a free port with temporary root, config, data and settings dirs."""
    with running_lab(tmp_path_factory.mktemp("lab")) as server:
        yield server


@pytest.fixture(scope="package")
def _playwright_browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def logged_in_context(browser: Any, server: LabServer) -> Any:
    """A new browser context with the auth cookie of ``server`` (close it when done)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(f"{server.url}login?token={server.token}")  # the token login sets the cookie
    page.close()
    return context


@pytest.fixture(scope="package")
def playwright_browser(_playwright_browser: Any) -> Any:
    """The shared Chromium (for tests that need their own context, e.g. another lab server)."""
    return _playwright_browser


@pytest.fixture(scope="package")
def browser_context(_playwright_browser: Any, lab_server: LabServer) -> Iterator[Any]:
    """A browser context logged in to ``lab_server``."""
    context = logged_in_context(_playwright_browser, lab_server)
    try:
        yield context
    finally:
        context.close()


class LabPage:
    """A JupyterLab page plus helpers that talk to ``window.jupyterapp``."""

    def __init__(self, page: Any, server: LabServer) -> None:
        self.page = page
        self.server = server
        self.console: list[str] = []
        page.on("console", lambda msg: self.console.append(f"{msg.type}: {msg.text}"))
        page.on("pageerror", lambda err: self.console.append(f"pageerror: {err}"))

    # -- generic ---------------------------------------------------------------------------
    def js(self, body: str, arg: Any = None) -> Any:
        """Evaluate ``body`` (a JS function body using ``app`` and ``arg``) in the page."""
        return self.page.evaluate(f"async (arg) => {{ const app = window.jupyterapp; {body} }}", arg)

    def load(self) -> None:
        """Open ``/lab?reset`` and wait until the application is restored."""
        self.page.goto(f"{self.server.url}lab?reset", timeout=LAB_LOAD_TIMEOUT_MS)
        self.page.wait_for_function("() => window.jupyterapp && window.jupyterapp.restored",
                                    timeout=LAB_LOAD_TIMEOUT_MS)
        self.page.evaluate("() => window.jupyterapp.restored")

    def screenshot(self, name: str) -> Path:
        """Save a PNG of the page to ``test-artifacts/<name>.png``."""
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    # -- notebooks -------------------------------------------------------------------------
    def write_notebook(self, name: str, cells: list[str]) -> str:
        """Write a notebook of code cells into the server's root dir; returns its path."""
        import nbformat

        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
        target = self.server.root_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
        return name

    _PANEL = """
        const panel = [...app.shell.widgets('main')].find(w => w.context && w.context.path === arg.path
            && w.content && w.content.model);
        if (!panel) { throw new Error('notebook not open: ' + arg.path); }
    """

    def open_notebook(self, path: str) -> None:
        """Open ``path`` in the Notebook editor and wait for its kernel to be idle."""
        self.js("await app.commands.execute('docmanager:open', {path: arg.path, factory: 'Notebook'});",
                {"path": path})
        self.page.wait_for_function(
            """(path) => [...window.jupyterapp.shell.widgets('main')].some(
                w => w.context && w.context.path === path && w.content && w.content.model
                && w.sessionContext.isReady)""", arg=path, timeout=KERNEL_TIMEOUT_MS)
        self.wait_kernel_idle(path)

    def wait_kernel_idle(self, path: str, timeout_ms: int = KERNEL_TIMEOUT_MS) -> None:
        """Wait until the notebook's kernel is idle and no cell is queued or running."""
        self.page.wait_for_function(
            """(path) => {
                const panel = [...window.jupyterapp.shell.widgets('main')].find(
                    w => w.context && w.context.path === path);
                const kernel = panel && panel.sessionContext.session && panel.sessionContext.session.kernel;
                if (!kernel || kernel.status !== 'idle') { return false; }
                const cells = panel.content.model.cells;
                for (let i = 0; i < cells.length; i++) {
                    const c = cells.get(i);
                    if (c.type === 'code' && c.executionState === 'running') { return false; }
                }
                return true;
            }""", arg=path, timeout=timeout_ms, polling=100)

    def run_all(self, path: str) -> None:
        """Run every cell of the (open) notebook and wait until it is done."""
        self.js(self._PANEL + """
            app.shell.activateById(panel.id);
            await app.commands.execute('notebook:run-all-cells');""", {"path": path})
        self.wait_kernel_idle(path)

    def run_cell(self, path: str, index: int) -> None:
        """Make cell ``index`` active, run it, and wait until the kernel is idle."""
        self.set_active_cell(path, index)
        self.js("await app.commands.execute('notebook:run-cell');")
        self.wait_kernel_idle(path)

    def set_active_cell(self, path: str, index: int) -> None:
        self.js(self._PANEL + """
            app.shell.activateById(panel.id);
            panel.content.activeCellIndex = arg.index;
            panel.content.mode = 'command';""", {"path": path, "index": index})

    def active_cell_index(self, path: str) -> int:
        return int(self.js(self._PANEL + "return panel.content.activeCellIndex;", {"path": path}))

    def cell_sources(self, path: str) -> list[str]:
        return self.js(self._PANEL + """
            const out = [];
            for (let i = 0; i < panel.content.model.cells.length; i++) {
                out.push(panel.content.model.cells.get(i).sharedModel.getSource());
            }
            return out;""", {"path": path})

    def cell_outputs_text(self, path: str, index: int) -> str:
        """Concatenated text of a code cell's stream / text/plain outputs."""
        return self.js(self._PANEL + """
            const outputs = panel.content.model.cells.get(arg.index).outputs;
            let text = '';
            for (let i = 0; i < outputs.length; i++) {
                const o = outputs.get(i).toJSON();
                if (o.text) { text += Array.isArray(o.text) ? o.text.join('') : o.text; }
                if (o.data && o.data['text/plain']) {
                    const t = o.data['text/plain'];
                    text += (Array.isArray(t) ? t.join('') : t) + '\\n';
                }
                if (o.ename) { text += o.ename + ': ' + o.evalue + '\\n'; }
            }
            return text;""", {"path": path, "index": index})

    def cell_locator(self, path: str, index: int) -> Any:
        """Playwright locator of a notebook cell (the notebook must be the current widget)."""
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(index)

    def execute_in_kernel(self, path: str, code: str) -> None:
        """Run ``code`` in the notebook's kernel without any cell (like a console would)."""
        self.js(self._PANEL + """
            const future = panel.sessionContext.session.kernel.requestExecute({code: arg.code});
            await future.done;""", {"path": path, "code": code})

    def kernel_eval(self, path: str, expression: str) -> str:
        """``repr`` (text/plain) of ``expression`` evaluated silently in the notebook's kernel."""
        return self.js(self._PANEL + """
            const future = panel.sessionContext.session.kernel.requestExecute(
                {code: '', silent: true, store_history: false, user_expressions: {v: arg.expr}});
            const reply = await future.done;
            const v = reply.content.user_expressions.v;
            if (v.status !== 'ok') { throw new Error(v.ename + ': ' + v.evalue); }
            return v.data['text/plain'];""", {"path": path, "expr": expression})



@contextlib.contextmanager
def loaded_lab_page(browser: Any, server: LabServer,
                    permissions: list[str] | None = None) -> Iterator["LabPage"]:
    """A logged-in, loaded LabPage on another lab ``server`` (its browser context closed after)."""
    context = logged_in_context(browser, server)
    if permissions:
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(server.url))
        context.grant_permissions(permissions, origin=origin)
    try:
        lab = LabPage(context.new_page(), server)
        lab.load()
        yield lab
    finally:
        context.close()

@pytest.fixture
def lab(browser_context: Any, lab_server: LabServer, request: pytest.FixtureRequest) -> Iterator[LabPage]:
    """A fresh JupyterLab page (``/lab?reset``); screenshot to test-artifacts/ if the test fails."""
    page = browser_context.new_page()
    lab_page = LabPage(page, lab_server)
    try:
        lab_page.load()
        yield lab_page
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            try:
                lab_page.screenshot(request.node.name)
            except Exception:  # noqa: BLE001 - the screenshot is a diagnostic only
                pass
        try:  # shut the kernels this page started, so the next test starts clean
            lab_page.js("await app.serviceManager.sessions.refreshRunning();"
                        "for (const s of [...app.serviceManager.sessions.running()]) {"
                        "  await app.serviceManager.sessions.shutdown(s.id); }")
        except Exception:  # noqa: BLE001
            pass
        page.close()


@pytest.fixture(autouse=True)
def jp_asyncio_loop() -> Iterator[None]:
    """Replace pytest-jupyter's per-test loop here: it would close Playwright's running loop.

    (So pytest-jupyter's ``jp_*`` server fixtures are not usable in tests/ui.)
    """
    yield None


@pytest.fixture(autouse=True)
def jp_server_cleanup() -> Iterator[None]:
    """No jupyter_server app is created in-process by these tests: nothing to clean."""
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the item so fixtures can tell whether the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
