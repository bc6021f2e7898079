"""`jupyter-eo doctor` finds broken installations: missing/disabled extensions, a failing embedded
backend, unreachable backends and expired logins (temp Jupyter paths, loopback fakes)."""
from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

from jupyter_eo.doctor import Context, Finding, check_labextension, run_checks
from jupyter_eo.server.credentials import TokenStore
from tests.server.fakes import OidcState, Upstream, start_oidc, start_upstream

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _by_check(findings: list[dict[str, Any]] | list[Finding]) -> dict[str, dict[str, Any]]:
    rows = [f if isinstance(f, dict) else f.__dict__ for f in findings]
    return {row["check"]: row for row in rows}


@pytest.fixture(scope="module")
def broken_install(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One `jupyter-eo doctor --json` run (a real subprocess) against a broken user config dir."""
    config_dir = tmp_path_factory.mktemp("jupyter-config")
    dead = _free_port()  # nothing listens there
    (config_dir / "jupyter_server_config.json").write_text(json.dumps({
        "ServerApp": {"jpserver_extensions": {"jupyter_eo": False}},
        "JupyterEOApp": {"local_backend_args": ["--no-such-option"],
                         "backends": {"gone": {"url": f"http://127.0.0.1:{dead}/openeo/1.2/"}}},
    }))
    (config_dir / "labconfig").mkdir()
    (config_dir / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"jupyter-eo": True}}))
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config_dir), "JUPYTER_PREFER_ENV_PATH": "0",
           "JUPYTER_DATA_DIR": str(config_dir / "data"), "PYTHONPATH": str(REPO),
           "JUPYTER_EO_CACHE_DIR": os.environ.get("JUPYTER_EO_CACHE_DIR")
           or str(config_dir / "cache")}
    env.pop("JUPYTERHUB_SERVICE_PREFIX", None)
    proc = subprocess.run([sys.executable, "-m", "jupyter_eo.cli", "doctor", "--json",
                           "--timeout", "30"], capture_output=True, text=True, env=env,
                          timeout=120, cwd=str(config_dir))
    return {"rc": proc.returncode, "findings": _by_check(json.loads(proc.stdout)["findings"]),
            "stderr": proc.stderr}


def test_exit_code_is_1_when_something_is_broken(broken_install: dict[str, Any]) -> None:
    assert broken_install["rc"] == 1, broken_install["stderr"]
    assert broken_install["findings"]["versions"]["status"] == "info"


def test_detects_disabled_server_extension(broken_install: dict[str, Any]) -> None:
    finding = broken_install["findings"]["server extension"]
    assert finding["status"] == "fail"
    assert "disabled in" in finding["message"] and "jupyter_server_config.json" in finding["message"]
    assert "jupyter server extension enable jupyter_eo" in finding["fix"]


def test_detects_disabled_labextension(broken_install: dict[str, Any]) -> None:
    finding = broken_install["findings"]["labextension"]
    assert finding["status"] == "fail"
    assert "disabled" in finding["message"] and "page_config.json" in finding["message"]


def test_detects_embedded_backend_failing_to_start(broken_install: dict[str, Any]) -> None:
    finding = broken_install["findings"]["embedded backend"]
    assert finding["status"] == "fail"
    assert "exited with code 2" in finding["message"]
    assert "--no-such-option" in finding["message"]  # argparse's complaint, from the child's log


def test_detects_unreachable_backend(broken_install: dict[str, Any]) -> None:
    finding = broken_install["findings"]["backend gone"]
    assert finding["status"] == "fail" and "unreachable" in finding["message"]
    assert "login gone" not in broken_install["findings"]


def test_detects_missing_labextension(tmp_path: Path) -> None:
    ctx = Context(config_paths=[str(tmp_path / "etc")], data_paths=[str(tmp_path / "share")])
    finding = check_labextension(ctx)
    assert finding.status == "fail" and "not installed" in finding.message
    (tmp_path / "share" / "labextensions" / "jupyter-eo").mkdir(parents=True)
    (tmp_path / "share" / "labextensions" / "jupyter-eo" / "package.json").write_text("{}")
    assert check_labextension(ctx).status == "ok"


def test_healthy_default_install_starts_the_embedded_backend(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not os.environ.get("JUPYTER_EO_CACHE_DIR"):
        monkeypatch.setenv("JUPYTER_EO_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "jupyter_server_config.json").write_text(
        json.dumps({"JupyterEOApp": {"local_backend_job_workers": 2}}))
    started: list[list[str]] = []
    real_popen = subprocess.Popen

    def recording_popen(cmd: list[str], *args: Any, **kwargs: Any) -> subprocess.Popen:
        started.append(list(cmd))
        return real_popen(cmd, *args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", recording_popen)
    ctx = Context(config_paths=[str(tmp_path)], backend_timeout=60)
    findings = _by_check(run_checks(ctx))
    assert findings["embedded backend"]["status"] == "ok", findings["embedded backend"]
    assert "openEO API 1.2" in findings["embedded backend"]["message"]
    assert "2 batch jobs at once" in findings["embedded backend"]["message"]
    serve = [cmd for cmd in started if "serve" in cmd]
    assert len(serve) == 1 and serve[0][serve[0].index("--job-workers") + 1] == "2"
    assert findings["base_url"]["status"] == "ok"


# -- logins against a fake OIDC provider and a fake openEO backend, served from a thread -----------
@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[OidcState, Upstream]]:
    loop = asyncio.new_event_loop()
    state, oidc_server = start_oidc(loop)
    upstream, up_server = start_upstream(loop, state)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield state, upstream
    finally:
        def shutdown() -> None:
            oidc_server.stop()
            up_server.stop()
            loop.stop()

        loop.call_soon_threadsafe(shutdown)
        thread.join(5)
        loop.close()


def _login_config(tmp_path: Path, state: OidcState, upstream: Upstream, secret: str) -> Context:
    (tmp_path / "jupyter_server_config.json").write_text(json.dumps({"JupyterEOApp": {
        "credentials_dir": str(tmp_path / "creds"),
        "backends": {
            "fakeoidc": {"url": upstream.url, "auth": "oidc"},
            "fakebasic": {"url": upstream.url, "auth": "basic"},
            "service": {"url": upstream.url, "auth": "client_credentials",
                        "oidc_provider_id": "fake", "oidc_issuer": state.url,
                        "oidc_client_id": "svc", "oidc_client_secret": secret},
        }}}))
    return Context(config_paths=[str(tmp_path)], start_backend=False)


def test_detects_expired_logins(tmp_path: Path, fakes: tuple[OidcState, Upstream],
                                capsys: pytest.CaptureFixture[str]) -> None:
    state, upstream = fakes
    store = TokenStore(tmp_path / "creds")
    store.save("fakeoidc", {"kind": "oidc", "provider_id": "fake", "refresh_token": "ref-revoked"})
    store.save("fakebasic", {"kind": "basic", "access_token": "basic//tok-from-last-week"})
    findings = _by_check(run_checks(_login_config(tmp_path, state, upstream, "wrong-secret")))
    assert findings["backend fakeoidc"]["status"] == "ok"
    oidc = findings["login fakeoidc"]
    assert oidc["status"] == "fail" and "expired" in oidc["message"]
    assert "log in again" in oidc["fix"]
    basic = findings["login fakebasic"]
    assert basic["status"] == "fail" and "HTTP 401" in basic["message"]
    service = findings["login service"]
    assert service["status"] == "fail" and "client credentials" in service["message"]
    assert "wrong-secret" not in json.dumps(findings) + "".join(capsys.readouterr())


def test_valid_logins_are_ok(tmp_path: Path, fakes: tuple[OidcState, Upstream]) -> None:
    state, upstream = fakes
    refresh = state.issue()["refresh_token"]
    TokenStore(tmp_path / "creds").save("fakeoidc", {"kind": "oidc", "provider_id": "fake",
                                                     "refresh_token": refresh})
    findings = _by_check(run_checks(_login_config(tmp_path, state, upstream,
                                                  state.client_secret)))
    assert findings["login fakeoidc"]["status"] == "ok"
    assert findings["login service"]["status"] == "ok"
    assert findings["login fakebasic"]["status"] == "info"  # never logged in: not an error


def test_running_server_check_reports_a_dead_server(monkeypatch: pytest.MonkeyPatch) -> None:
    from jupyter_eo.doctor import check_running_server

    assert check_running_server(Context()).status == "info"  # not inside a Jupyter server
    monkeypatch.setenv("JUPYTER_EO_SERVER_URL", f"http://127.0.0.1:{_free_port()}/user/x/")
    monkeypatch.setenv("JUPYTER_EO_KERNEL_SECRET", "not-used")
    finding = check_running_server(Context(http_timeout=2))
    assert finding.status == "fail" and "HTTP 599" in finding.message


# -- the JupyterLab side: lab installed and new enough, a kernel, no stale labextension ---------------
def test_missing_jupyterlab_is_a_failure_with_a_fix(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib import metadata

    from jupyter_eo import doctor

    real_version = metadata.version

    def without_lab(name: str) -> str:
        if name == "jupyterlab":
            raise metadata.PackageNotFoundError(name)
        return real_version(name)

    monkeypatch.setattr(doctor.metadata, "version", without_lab)
    findings = _by_check(run_checks(Context(config_paths=[str(tmp_path)], start_backend=False)))
    lab = findings["jupyterlab"]
    assert lab["status"] == "fail" and "not installed" in lab["message"]
    assert "pip install" in lab["fix"]
    assert "No problems found" not in doctor.render(run_checks(
        Context(config_paths=[str(tmp_path)], start_backend=False)))


def test_too_old_jupyterlab_is_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib import metadata

    from jupyter_eo import doctor

    real_version = metadata.version
    monkeypatch.setattr(doctor.metadata, "version",
                        lambda name: "3.6.8" if name == "jupyterlab" else real_version(name))
    finding = doctor.check_jupyterlab()
    assert finding.status == "fail" and "3.6.8 is too old" in finding.message


def test_this_environment_has_lab_and_kernel() -> None:
    from jupyter_eo import doctor

    lab, kernel = doctor.check_jupyterlab(), doctor.check_kernel()
    assert lab.status == "ok" and str(Path(sys.executable).parent) in lab.message
    assert kernel.status == "ok" and "python3" in kernel.message


def test_missing_python_kernelspec_is_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    from jupyter_eo import doctor

    monkeypatch.setattr(KernelSpecManager, "find_kernel_specs", lambda self: {"ir": "/x"})
    finding = doctor.check_kernel()
    assert finding.status == "fail" and "ipykernel install" in finding.fix


def test_stale_labextension_copy_is_reported(tmp_path: Path) -> None:
    from jupyter_eo import __version__, doctor

    stale = tmp_path / "user" / "labextensions" / "jupyter-eo"
    stale.mkdir(parents=True)
    (stale / "package.json").write_text(json.dumps({"name": "jupyter-eo", "version": "0.0.1"}))
    ctx = Context(config_paths=[str(tmp_path / "etc")], data_paths=[str(tmp_path / "user")])
    finding = doctor.check_labextension_version(ctx)
    assert finding is not None and finding.status == "warn"
    assert "0.0.1" in finding.message and __version__ in finding.message
    (stale / "package.json").write_text(json.dumps({"version": __version__}))
    assert doctor.check_labextension_version(ctx) is None
