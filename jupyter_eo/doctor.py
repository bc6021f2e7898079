"""``jupyter-eo doctor``: check an installation (JupyterLab, extensions, embedded backend, backends, logins) and say how to fix it."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Sequence

LABEXTENSION_NAME = "jupyter-eo"
SERVER_EXTENSION = "jupyter_eo"
KEY_PACKAGES = ("jupyter_eo", "jupyter_server", "jupyterlab", "ipywidgets", "ipyleaflet",
                "openeo", "xarray", "dask", "tornado", "jupyterhub")
STATUSES = ("ok", "info", "warn", "fail")


@dataclass
class Finding:
    """One check's outcome: ``status`` is ok | info | warn | fail; ``fix`` says what to do."""

    check: str
    status: str
    message: str
    fix: str = ""


@dataclass
class Context:
    """Where the doctor looks (defaults: the Jupyter paths of this environment)."""

    config_paths: list[str] = field(default_factory=list)
    data_paths: list[str] = field(default_factory=list)
    backend_timeout: float = 60.0
    http_timeout: float = 5.0
    start_backend: bool = True

    def __post_init__(self) -> None:
        from jupyter_core.paths import jupyter_config_path, jupyter_path

        self.config_paths = self.config_paths or jupyter_config_path()
        self.data_paths = self.data_paths or jupyter_path()


# -- versions and extensions ---------------------------------------------------------------
def check_versions() -> Finding:
    found = []
    for name in KEY_PACKAGES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            if name == "jupyter_eo":
                from jupyter_eo import __version__

                found.append(f"jupyter_eo {__version__} (source tree)")
    return Finding("versions", "info", f"python {sys.version.split()[0]}; " + ", ".join(found))


def check_server_extension(ctx: Context) -> Finding:
    from jupyter_server.extension.config import ExtensionConfigManager

    manager = ExtensionConfigManager(read_config_path=ctx.config_paths)
    enabled = manager.get_jpserver_extensions().get(SERVER_EXTENSION)
    if enabled is True:
        return Finding("server extension", "ok", "jupyter_eo is enabled")
    where = _where_disabled(ctx.config_paths)
    state = "disabled" + (f" in {where}" if where else "") if enabled is False else "not enabled"
    return Finding("server extension", "fail", f"the jupyter_eo server extension is {state}",
                   "jupyter server extension enable jupyter_eo --sys-prefix "
                   "(and remove any 'jupyter_eo': false from the file named above)")


def _where_disabled(config_paths: Sequence[str]) -> str:
    for directory in config_paths:
        base = Path(directory)
        candidates = [base / "jupyter_server_config.json",
                      *sorted((base / "jupyter_server_config.d").glob("*.json"))]
        for path in candidates:
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            extensions = data.get("ServerApp", {}).get("jpserver_extensions", {})
            if isinstance(extensions, dict) and extensions.get(SERVER_EXTENSION) is False:
                return str(path)
    return ""


def check_labextension(ctx: Context) -> Finding:
    installed = ""
    for directory in ctx.data_paths:
        package = Path(directory) / "labextensions" / LABEXTENSION_NAME / "package.json"
        if package.is_file():
            installed = str(package.parent)
            break
    if not installed:
        return Finding("labextension", "fail",
                       f"the {LABEXTENSION_NAME} labextension is not installed (looked in "
                       f"{len(ctx.data_paths)} Jupyter data directories)",
                       "pip install jupyter_eo into the environment running JupyterLab; in a "
                       "source tree: make setup (runs `jupyter labextension develop . --overwrite`)")
    for directory in ctx.config_paths:
        page_config = Path(directory) / "labconfig" / "page_config.json"
        try:
            disabled = json.loads(page_config.read_text()).get("disabledExtensions", {})
        except (OSError, ValueError):
            continue
        if (isinstance(disabled, dict) and disabled.get(LABEXTENSION_NAME)) or (
                isinstance(disabled, list) and LABEXTENSION_NAME in disabled):
            return Finding("labextension", "fail",
                           f"the {LABEXTENSION_NAME} labextension is disabled in {page_config}",
                           f"jupyter labextension enable {LABEXTENSION_NAME}")
    return Finding("labextension", "ok", f"installed at {installed}")


MIN_JUPYTERLAB = (4, 6)


def _same_version(npm_version: str, python_version: str) -> bool:
    """npm's ``1.2.0-alpha.1`` and Python's ``1.2.0a1`` name the same release."""
    from packaging.version import InvalidVersion, Version

    try:
        return Version(npm_version) == Version(python_version.split("+")[0])
    except InvalidVersion:
        return npm_version == python_version


def check_jupyterlab() -> Finding:
    """JupyterLab itself: installed in this environment, new enough, with its ``jupyter-lab`` command."""
    fix = (f"pip install 'jupyterlab>={MIN_JUPYTERLAB[0]}.{MIN_JUPYTERLAB[1]},<5' into this "
           f"environment ({sys.prefix}), or reinstall jupyter_eo there: pip install jupyter_eo")
    try:
        version = metadata.version("jupyterlab")
    except metadata.PackageNotFoundError:
        return Finding("jupyterlab", "fail", f"JupyterLab is not installed in {sys.prefix}", fix)
    from packaging.version import Version

    if Version(version).release[:2] < MIN_JUPYTERLAB:
        return Finding("jupyterlab", "fail", f"JupyterLab {version} is too old for the "
                       "jupyter-eo labextension (built for 4.x, >= "
                       f"{MIN_JUPYTERLAB[0]}.{MIN_JUPYTERLAB[1]})", fix)
    command = Path(sys.executable).parent / "jupyter-lab"
    if not command.exists():
        return Finding("jupyterlab", "warn", f"JupyterLab {version} is importable but "
                       f"{command} is missing (a partial install)",
                       "pip install --force-reinstall --no-deps jupyterlab")
    return Finding("jupyterlab", "ok", f"JupyterLab {version} ({command})")


def check_kernel() -> Finding:
    """A Python kernel for notebooks (ipykernel, with a kernelspec JupyterLab can list)."""
    try:
        metadata.version("ipykernel")
        from jupyter_client.kernelspec import KernelSpecManager

        specs = KernelSpecManager().find_kernel_specs()
    except Exception as exc:  # ipykernel or jupyter_client missing/broken
        return Finding("python kernel", "fail", f"no usable Python kernel: {exc}",
                       "pip install ipykernel into this environment")
    if "python3" not in specs:
        return Finding("python kernel", "fail", "ipykernel is installed but no 'python3' "
                       "kernelspec is found", "python -m ipykernel install --sys-prefix")
    return Finding("python kernel", "ok", f"python3 kernel at {specs['python3']}")


def check_labextension_version(ctx: Context) -> Finding | None:
    """The labextension found first must be this package's build, not a stale copy elsewhere."""
    from jupyter_eo import __version__

    for directory in ctx.data_paths:
        package = Path(directory) / "labextensions" / LABEXTENSION_NAME / "package.json"
        try:
            found = json.loads(package.read_text()).get("version", "")
        except (OSError, ValueError):
            continue
        if found and not __version__.startswith("0.0.0") and not _same_version(found,
                                                                              __version__):
            return Finding("labextension version", "warn",
                           f"{package.parent} is version {found}, the Python package is "
                           f"{__version__}: JupyterLab loads the stale copy",
                           f"remove {package.parent} (an old install), or reinstall jupyter_eo")
        return None
    return None


# -- configuration -----------------------------------------------------------------------------
def load_app_config(ctx: Context) -> tuple[Any, Any]:
    """(JupyterEOApp with the configured settings, the ServerApp config) from the config files."""
    from traitlets.config import Config

    from jupyter_eo.server.app import JupyterEOApp

    config = Config()
    for directory in reversed(ctx.config_paths):  # lowest priority first
        for loader_name in ("jupyter_server_config.json", "jupyter_server_config.py"):
            path = Path(directory) / loader_name
            if path.is_file():
                config.merge(_load_file(path))
    return JupyterEOApp(config=config), config


def _load_file(path: Path) -> Any:
    from traitlets.config.loader import JSONFileConfigLoader, PyFileConfigLoader

    cls = JSONFileConfigLoader if path.suffix == ".json" else PyFileConfigLoader
    return cls(path.name, str(path.parent)).load_config()


def check_base_url(server_config: Any) -> Finding:
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "")
    base_url = prefix or server_config.get("ServerApp", {}).get("base_url", "/") or "/"
    if not (base_url.startswith("/") and base_url.endswith("/")):
        return Finding("base_url", "fail", f"base_url {base_url!r} must start and end with '/'",
                       "set ServerApp.base_url to e.g. '/lab-prefix/'")
    where = "from JUPYTERHUB_SERVICE_PREFIX (JupyterHub)" if prefix else "from the server config"
    return Finding("base_url", "ok", f"{base_url} {where}; the proxy lives at "
                   f"{base_url}jupyter-eo/openeo/<backend id>/")


def check_running_server(ctx: Context) -> Finding:
    """From a terminal or kernel of a running server: does its jupyter_eo answer?"""
    from jupyter_eo.server.channel import ENV_SECRET, ENV_URL, SECRET_HEADER

    url, secret = os.environ.get(ENV_URL, ""), os.environ.get(ENV_SECRET, "")
    if not (url and secret):
        return Finding("running server", "info", "not run from a Jupyter terminal or kernel; "
                       "the running server was not asked")
    code, body = _get_json(url + "jupyter-eo/api/status", ctx.http_timeout, {SECRET_HEADER: secret})
    if code == 200 and isinstance(body, dict) and body.get("name") == "jupyter_eo":
        ids = ", ".join(b.get("id", "?") for b in body.get("backends", []))
        return Finding("running server", "ok", f"jupyter_eo {body.get('version')} answers at "
                       f"{url} (backends: {ids or 'none'})")
    return Finding("running server", "fail", f"{url}jupyter-eo/api/status answered HTTP {code}",
                   "restart the Jupyter server (on JupyterHub: File > Hub Control Panel > Stop My "
                   "Server, then start it) and check its log")


# -- embedded backend --------------------------------------------------------------------------
def check_embedded_backend(app: Any, ctx: Context) -> Finding:
    """Start ``jupyter-eo serve`` with the configured extra args in a temp dir, ask it for ``/``."""
    if not app.enable_local_backend:
        return Finding("embedded backend", "info", "disabled (JupyterEOApp.enable_local_backend)")
    if not ctx.start_backend:
        return Finding("embedded backend", "info", "start not tested (--no-start)")
    from jupyter_eo.server.supervisor import BANNER_RE, child_env, serve_command

    with tempfile.TemporaryDirectory(prefix="jupyter-eo-doctor-") as tmp:
        log_path = Path(tmp) / "backend.log"
        cmd = serve_command(Path(tmp) / "data", list(app.local_backend_args),
                            job_workers=app.local_backend_job_workers)
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log,
                                    stdin=subprocess.DEVNULL,
                                    env=child_env("doctor", "doctor-check"))
        try:
            url = _wait_banner(proc, BANNER_RE, ctx.backend_timeout)
            if url is None:
                code = proc.poll()
                tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
                why = (f"exited with code {code}" if code is not None
                       else f"did not listen within {ctx.backend_timeout:g} s")
                return Finding("embedded backend", "fail",
                               f"`jupyter-eo serve` {why}: {' | '.join(tail) or 'no output'}",
                               "check JupyterEOApp.local_backend_args and run `jupyter-eo serve` "
                               "by hand to see the full error")
            code, body = _get_json(url, ctx.http_timeout)
            if code != 200 or not isinstance(body, dict) or "api_version" not in body:
                return Finding("embedded backend", "fail",
                               f"started at {url} but GET / answered HTTP {code}",
                               "run `jupyter-eo serve` by hand and open its URL")
            workers = app.local_backend_job_workers
            return Finding("embedded backend", "ok",
                           f"starts and answers (openEO API {body['api_version']}; "
                           f"{workers} batch job{'s' if workers != 1 else ''} at once)")
        finally:
            _stop(proc)


def _wait_banner(proc: subprocess.Popen, pattern: Any, timeout: float) -> str | None:
    found: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            match = pattern.search(raw.decode("utf-8", "replace"))
            if match:
                found.append(match.group(1))
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    if not found and not reader.is_alive():  # stdout closed: the child is exiting
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
    return found[0] if found else None


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def _get_json(url: str, timeout: float, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """GET without environment proxies; (599, reason) when unreachable."""
    import urllib.error
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, headers={"Accept": "application/json",
                                                   **(headers or {})})
    try:
        with opener.open(request, timeout=timeout) as response:
            raw, code = response.read(), response.status
    except urllib.error.HTTPError as exc:
        raw, code = exc.read(), exc.code
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return 599, str(reason)
    try:
        return code, json.loads(raw or b"null")
    except ValueError:
        return code, None


# -- remote backends and logins -----------------------------------------------------------------
def check_backends(app: Any, ctx: Context) -> list[Finding]:
    from jupyter_eo.server.backends import BackendConfigError, BackendRegistry

    try:
        registry = BackendRegistry(app.backends, local_enabled=False)
    except BackendConfigError as exc:
        return [Finding("backends", "fail", str(exc), "fix JupyterEOApp.backends")]
    specs = list(registry)
    if not specs:
        return [Finding("backends", "info", "no remote backends configured "
                        "(JupyterEOApp.backends); only the embedded backend is offered")]
    findings: list[Finding] = []
    reachable = []
    for spec in specs:
        code, body = _get_json(spec.base, ctx.http_timeout)
        if code == 599:
            findings.append(Finding(f"backend {spec.id}", "fail",
                                    f"{spec.url} is unreachable ({body})",
                                    "check the URL, DNS and firewall/proxy of the Jupyter server "
                                    "host"))
        elif code != 200 or not isinstance(body, dict) or "api_version" not in body:
            findings.append(Finding(f"backend {spec.id}", "fail",
                                    f"{spec.url} answered HTTP {code}, not openEO capabilities",
                                    "the url must be the openEO API root (the versioned URL)"))
        else:
            findings.append(Finding(f"backend {spec.id}", "ok",
                                    f"{spec.url} reachable (openEO API {body['api_version']})"))
            reachable.append(spec)
    if reachable:
        findings.extend(asyncio.run(_login_states(app, registry, reachable, ctx)))
    return findings


def credentials_dir(app: Any) -> Path:
    """The token directory the server of this user uses (same rule as JupyterEOApp)."""
    if app.credentials_dir:
        return Path(app.credentials_dir)
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "jupyter_eo" / "credentials" / app.owner_name()


async def _login_states(app: Any, registry: Any, specs: list[Any], ctx: Context) -> list[Finding]:
    """Renew each login as the server would (refresh / client credentials), then call ``/me``."""
    import logging

    from jupyter_eo.server.credentials import CredentialStoreError, TokenStore
    from jupyter_eo.server.sessions import CredentialManager, LoginError

    quiet = logging.getLogger("jupyter_eo.doctor")
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    store = TokenStore(credentials_dir(app))
    manager = CredentialManager(registry, store, None, timeout=ctx.http_timeout, log=quiet)
    findings = []
    try:
        for spec in specs:
            if spec.auth == "none":
                continue
            name = f"login {spec.id}"
            if spec.auth in ("basic", "oidc"):
                try:
                    stored = store.load(spec.id)
                except CredentialStoreError as exc:
                    findings.append(Finding(name, "fail", str(exc), "fix the directory's owner"))
                    continue
                if not stored:
                    findings.append(Finding(name, "info", "not logged in (log in from the "
                                            "jupyter_eo sidebar when needed)"))
                    continue
            error = ""
            if spec.auth == "client_credentials":
                try:
                    await manager.login_client_credentials(spec.id)
                except LoginError as exc:
                    error = str(exc)
            bearer = "" if error else await manager.bearer(spec.id)
            if not bearer:
                error = error or str(manager.status(spec.id).get("error", ""))
                what = ("the service-account login (client credentials) failed"
                        if spec.auth == "client_credentials" else "the stored login has expired")
                findings.append(Finding(name, "fail", f"{what}: {error or 'no token'}",
                                        _login_fix(spec.auth)))
                continue
            code, _ = await asyncio.to_thread(
                _get_json, spec.base + "me", ctx.http_timeout, {"Authorization": f"Bearer {bearer}"})
            if code in (401, 403):
                findings.append(Finding(name, "fail", f"the backend rejects the stored login "
                                        f"(HTTP {code}): it has expired or was revoked",
                                        _login_fix(spec.auth)))
            elif code == 200:
                findings.append(Finding(name, "ok", "logged in (GET /me accepted the token)"))
            else:
                findings.append(Finding(name, "warn", f"login state unknown: GET /me answered "
                                        f"HTTP {code}"))
    finally:
        manager.close()
    return findings


def _login_fix(auth: str) -> str:
    if auth == "client_credentials":
        return ("the host must check oidc_client_id/oidc_client_secret of this backend in "
                "JupyterEOApp.backends")
    return "log in again from the jupyter_eo sidebar (Backends panel)"


# -- running and reporting ------------------------------------------------------------------------
def run_checks(ctx: Context | None = None) -> list[Finding]:
    """All checks in order; never raises for a broken installation (that is a finding)."""
    ctx = ctx or Context()
    findings = [check_versions(), check_jupyterlab(), check_kernel(),
                check_server_extension(ctx), check_labextension(ctx)]
    stale = check_labextension_version(ctx)
    if stale is not None:
        findings.append(stale)
    try:
        app, server_config = load_app_config(ctx)
    except Exception as exc:  # a broken config file or invalid trait value
        findings.append(Finding("configuration", "fail", f"cannot load the configuration: {exc}",
                                "fix the jupyter_server_config file named in the message"))
        return findings
    findings.append(check_base_url(server_config))
    findings.append(check_running_server(ctx))
    findings.append(check_embedded_backend(app, ctx))
    findings.extend(check_backends(app, ctx))
    return findings


def render(findings: list[Finding]) -> str:
    lines = []
    for item in findings:
        lines.append(f"{item.status.upper():5} {item.check}: {item.message}")
        if item.fix and item.status in ("warn", "fail"):
            lines.append(f"      fix: {item.fix}")
    failed = sum(1 for f in findings if f.status == "fail")
    lines.append(f"{failed} problem(s) found." if failed else "No problems found.")
    return "\n".join(lines)


def add_doctor_parser(sub: Any) -> argparse.ArgumentParser:
    """Register the ``doctor`` subcommand on an argparse subparsers object."""
    parser = sub.add_parser("doctor", help="Check this jupyter_eo installation.",
                            description="Check extensions, the embedded backend, configured "
                            "backends and logins; print what is wrong and how to fix it. "
                            "Exit code 1 when a check failed.")
    parser.add_argument("--json", action="store_true", help="Print findings as JSON.")
    parser.add_argument("--no-start", action="store_true",
                        help="Do not start the embedded backend to test it.")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="Seconds to wait for the embedded backend (default 60).")
    parser.set_defaults(handler=doctor)
    return parser


def doctor(args: argparse.Namespace) -> int:
    started = time.monotonic()
    ctx = Context(backend_timeout=args.timeout, start_backend=not args.no_start)
    findings = run_checks(ctx)
    if args.json:
        print(json.dumps({"findings": [asdict(f) for f in findings],
                          "seconds": round(time.monotonic() - started, 2)}, indent=1))
    else:
        print(render(findings))
    return 1 if any(f.status == "fail" for f in findings) else 0
