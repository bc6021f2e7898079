"""A real JupyterHub on loopback (three users, SimpleLocalProcessSpawner, dummy auth) with the
workshop configuration of jupyter_eo.hub, fake OIDC and openEO upstreams; one hub per module."""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import psutil
import pytest
import requests

from tests.hub.threaded_fakes import Fakes, threaded_fakes

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHP = REPO / ".hub-tools" / "node_modules" / ".bin" / "configurable-http-proxy"
USERS = ("alice", "bob", "carol")


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for sock in socks:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in socks]
    for sock in socks:
        sock.close()
    return ports


@dataclass
class Hub:
    url: str
    root: Path
    log: Path
    admin_token: str
    secret: str
    fakes: Fakes
    tokens: dict[str, str] = field(default_factory=dict)
    responses: list[str] = field(default_factory=list)  # every HTTP response the tests saw

    def home(self, user: str) -> Path:
        return self.root / "home" / user

    def request(self, method: str, path: str, user: str | None = None, **kwargs: Any) -> requests.Response:
        """Call the hub (``path`` below the hub's root) as ``user`` (or the admin service)."""
        token = self.tokens[user] if user else self.admin_token
        headers = {"Authorization": f"token {token}", **kwargs.pop("headers", {})}
        response = requests.request(method, self.url + path, headers=headers, timeout=60,
                                    allow_redirects=False, **kwargs)
        self.responses.append(f"{response.status_code} {response.headers} {response.text}")
        if response.status_code >= 500:
            # keep the evidence: pytest removes old tmp dirs, so show the hub's log now
            print(f"{method} {path} as {user} -> {response.status_code}; hub log tail:\n"
                  + self.log.read_text(errors="replace")[-6000:])
        return response


def _config(root: Path, ports: list[int], admin_token: str, fakes: Fakes, workshop: Path) -> str:
    state, (oidc_up, shared_up) = fakes.oidc, fakes.upstreams
    backends = {"fakeoidc": {"url": oidc_up.url, "title": "Fake OIDC (own login)", "auth": "oidc"}}
    brokered = {  # the teacher's service account: its secret stays in the hub's broker service
        "shared": {"url": shared_up.url, "title": "Teacher's account",
                   "oidc_provider_id": "fake", "oidc_issuer": state.url,
                   "oidc_client_id": "svc", "oidc_client_secret": state.client_secret},
    }
    environment = {"JUPYTER_EO_CACHE_DIR": os.environ.get("JUPYTER_EO_CACHE_DIR")
                   or str(root / "eo-cache"),
                   "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    if os.environ.get("JUPYTER_EO_SAMPLES_DIR"):
        environment["JUPYTER_EO_SAMPLES_DIR"] = os.environ["JUPYTER_EO_SAMPLES_DIR"]
    return f"""
from jupyter_eo.hub import Workshop, configure_workshop
c = get_config()  # noqa
c.JupyterHub.bind_url = "http://127.0.0.1:{ports[0]}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{ports[1]}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{ports[2]}"
c.ConfigurableHTTPProxy.command = [{str(CHP)!r}]
c.ConfigurableHTTPProxy.pid_file = {str(root / "proxy.pid")!r}
c.JupyterHub.db_url = "sqlite:///{root / "hub.sqlite"}"
c.JupyterHub.cookie_secret_file = {str(root / "cookie_secret")!r}
c.JupyterHub.pid_file = {str(root / "hub.pid")!r}
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {secrets.token_hex(8)!r}
c.Authenticator.allowed_users = set({list(USERS)!r})
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {str(root / "home" / "{username}")!r}
c.Spawner.cmd = [{str(BIN / "jupyterhub-singleuser")!r}]
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.environment = {environment!r}
c.JupyterHub.services = [{{"name": "eo-test", "api_token": {admin_token!r}}}]
c.JupyterHub.load_roles = [{{"name": "eo-test", "services": ["eo-test"],
                            "scopes": ["admin:users", "admin:servers", "tokens"]}}]
c.JupyterHub.cleanup_servers = True
configure_workshop(c, Workshop(
    config_dir={str(root / "workshop-config")!r}, backends={backends!r},
    brokered={brokered!r}, broker_port={ports[3]},
    notebooks_dir={str(workshop)!r}, max_preview_pixels=5_000_000, max_concurrent_requests=8,
    allow_root={os.geteuid() == 0!r}))
"""


def _wait(predicate: Any, timeout: float, what: str, log: Path) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    tail = log.read_text(errors="replace")[-4000:] if log.exists() else ""
    raise TimeoutError(f"{what} not ready after {timeout} s; hub log tail:\n{tail}")


def _stop_tree(proc: subprocess.Popen) -> None:
    """SIGTERM the hub (it stops the servers and the proxy), then kill what we started and is left."""
    try:
        started = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        started = []
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for child in started:
        try:
            grandchildren = child.children(recursive=True)
        except psutil.NoSuchProcess:
            grandchildren = []
        for p in [child, *grandchildren]:
            try:
                p.wait(5)
            except psutil.TimeoutExpired:
                p.kill()
            except psutil.NoSuchProcess:
                pass


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    if not CHP.exists():
        pytest.fail(f"configurable-http-proxy missing at {CHP}: run `make hub-tools`")
    root = tmp_path_factory.mktemp("hub")
    workshop = root / "workshop"
    workshop.mkdir()
    shutil.copy(REPO / "notebooks" / "quickstart.ipynb", workshop / "quickstart.ipynb")
    admin_token = secrets.token_hex(20)
    with threaded_fakes(upstreams=2) as fakes:
        fakes.oidc.client_secret = "teacher-secret-" + secrets.token_hex(12)
        ports = _free_ports(4)
        config = root / "jupyterhub_config.py"
        config.write_text(_config(root, ports, admin_token, fakes, workshop))
        log = root / "hub.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "JPY"))}
        env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
        env["PYTHONPATH"] = str(REPO)
        with open(log, "wb") as out:
            proc = subprocess.Popen([str(BIN / "jupyterhub"), "-f", str(config)], cwd=root,
                                    stdout=out, stderr=subprocess.STDOUT, env=env)
        hub = Hub(f"http://127.0.0.1:{ports[0]}/", root, log, admin_token,
                  fakes.oidc.client_secret, fakes)
        try:
            def up() -> bool:
                if proc.poll() is not None:
                    raise RuntimeError(f"hub exited: {log.read_text()[-4000:]}")
                try:
                    return requests.get(hub.url + "hub/api/", timeout=2).status_code == 200
                except requests.ConnectionError:
                    return False

            _wait(up, 60, "hub", log)
            for user in USERS:
                response = hub.request("POST", f"hub/api/users/{user}/tokens",
                                       json={"note": "test", "expires_in": 3600})
                assert response.status_code in (200, 201), response.text
                hub.tokens[user] = response.json()["token"]
                response = hub.request("POST", f"hub/api/users/{user}/server")
                assert response.status_code in (201, 202), response.text

            def ready() -> bool:
                models = [hub.request("GET", f"hub/api/users/{u}").json() for u in USERS]
                return all((m.get("servers", {}).get("") or {}).get("ready") for m in models)

            _wait(ready, 150, "user servers", log)
            yield hub
        finally:
            _stop_tree(proc)
