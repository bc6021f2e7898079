"""Workshop settings for JupyterHub: one single-user server config (backends, limits) and preloaded notebooks."""
from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from jupyter_eo.server.backends import parse_backend

CONFIG_FILE = "jupyter_server_config.json"


@dataclass
class Workshop:
    """What a teacher sets once for every student's server.

    ``backends`` is ``JupyterEOApp.backends`` (it may hold a shared client-credentials secret);
    ``notebooks_dir`` is copied into each student's home at spawn (existing files are kept);
    ``max_preview_pixels`` bounds each synchronous request/preview of the embedded backend
    (``jupyter-eo serve --max-pixels``); ``max_concurrent_requests`` bounds proxied requests in
    flight per backend and student (``JupyterEOApp.proxy_max_concurrent``);
    ``max_concurrent_jobs`` (1..32; 0 keeps the default of 1) is how many batch jobs each
    student's embedded backend runs at once, further ones stay queued
    (``JupyterEOApp.local_backend_job_workers``); ``settings`` adds any other ``JupyterEOApp``
    setting. ``config_dir`` receives the generated server config.
    """

    config_dir: str
    backends: dict[str, dict[str, Any]] = field(default_factory=dict)
    notebooks_dir: str = ""
    max_preview_pixels: int = 0
    max_concurrent_requests: int = 0
    max_concurrent_jobs: int = 0
    settings: dict[str, Any] = field(default_factory=dict)
    allow_root: bool = False
    file_mode: int = 0o600
    brokered: dict[str, dict[str, Any]] = field(default_factory=dict)
    broker_port: int = 0
    broker_name: str = "jupyter-eo-broker"

    @property
    def broker_url(self) -> str:
        return f"http://127.0.0.1:{self.broker_port}"


BROKERED_KEYS = ("url", "title", "oidc_provider_id", "oidc_issuer", "oidc_client_id",
                 "oidc_client_secret", "oidc_scopes")


def brokered_entry(workshop: Workshop, backend_id: str, hub_token: str) -> dict[str, Any]:
    """A student's view of a brokered backend: the broker as issuer, their hub token as secret."""
    entry = workshop.brokered[backend_id]
    view = {"url": entry["url"], "title": entry.get("title", backend_id),
            "auth": "client_credentials", "oidc_provider_id": entry["oidc_provider_id"],
            "oidc_issuer": f"{workshop.broker_url}/{backend_id}",
            "oidc_client_id": "jupyterhub", "oidc_client_secret": hub_token}
    if entry.get("oidc_scopes"):
        view["oidc_scopes"] = entry["oidc_scopes"]
    return view


def server_config(workshop: Workshop, hub_token: str = "") -> dict[str, Any]:
    """The single-user servers' config: jupyter_eo enabled plus the JupyterEOApp settings
    (with the brokered backends when ``hub_token``, the student's server token, is given)."""
    if workshop.brokered and not workshop.broker_port:
        raise ValueError("Workshop.brokered needs broker_port")
    backends = dict(workshop.backends)
    for backend_id, entry in workshop.brokered.items():
        unknown = set(entry) - set(BROKERED_KEYS) - {"auth"}
        if unknown:
            raise ValueError(f"brokered backend {backend_id!r}: unknown keys {sorted(unknown)}")
        parse_backend(backend_id, {**entry, "auth": "client_credentials"})
        if hub_token:
            backends[backend_id] = brokered_entry(workshop, backend_id, hub_token)
    for backend_id, entry in backends.items():
        parse_backend(backend_id, entry)  # fail at hub start, with a message naming the entry
    eo: dict[str, Any] = dict(workshop.settings)
    if backends:
        eo["backends"] = backends
    if workshop.max_preview_pixels:
        eo["local_backend_args"] = [*eo.get("local_backend_args", []),
                                    "--max-pixels", str(int(workshop.max_preview_pixels))]
    if workshop.max_concurrent_requests:
        eo["proxy_max_concurrent"] = int(workshop.max_concurrent_requests)
    if workshop.max_concurrent_jobs:
        from jupyter_eo.backend.config import check_job_workers

        try:
            eo["local_backend_job_workers"] = check_job_workers(workshop.max_concurrent_jobs)
        except ValueError:
            raise ValueError("Workshop.max_concurrent_jobs must be an integer from 1 to 32, "
                             f"got {workshop.max_concurrent_jobs!r}") from None
    server: dict[str, Any] = {"jpserver_extensions": {"jupyter_eo": True}}
    if workshop.allow_root:
        server["allow_root"] = True
    return {"ServerApp": server, "JupyterEOApp": eo}


def _chown(path: Path, owner: str | None) -> None:
    """Give ``path`` to the OS user ``owner`` when we are root and that user exists."""
    if not owner or os.geteuid() != 0:
        return
    import pwd

    try:
        entry = pwd.getpwnam(owner)
    except KeyError:
        return
    os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)


def _write_private(path: Path, data: Any, mode: int, owner: str | None = None) -> Path:
    """Write JSON atomically, created with ``mode`` from its first byte (optionally chowned)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), mode)
        _chown(tmp, owner)
        json.dump(data, handle, indent=1)
    os.replace(tmp, path)
    return path


def write_server_config(workshop: Workshop) -> Path:
    """Write the config atomically with ``file_mode`` (default 0600: readable by the hub's user only)."""
    return _write_private(Path(workshop.config_dir) / CONFIG_FILE, server_config(workshop),
                          workshop.file_mode)


def write_user_config(workshop: Workshop, user: str, hub_token: str,
                      owner: str | None = None) -> Path:
    """The per-student config (shared settings plus brokered backends with their hub token)."""
    directory = Path(workshop.config_dir) / "users" / user
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    _chown(directory, owner)
    return _write_private(directory / CONFIG_FILE, server_config(workshop, hub_token), 0o600, owner)


def broker_accounts(workshop: Workshop) -> dict[str, Any]:
    """What the broker needs per backend: the upstream issuer and the service account."""
    return {bid: {"issuer": e["oidc_issuer"], "client_id": e["oidc_client_id"],
                  "client_secret": e["oidc_client_secret"],
                  "scopes": list(e.get("oidc_scopes") or ["openid"])}
            for bid, e in workshop.brokered.items()}


def user_home(spawner: Any) -> Path:
    """The home of the spawned user: ``home_dir`` (SimpleLocalProcessSpawner) or the passwd entry."""
    home = getattr(spawner, "home_dir", "")
    if home:
        return Path(home)
    import pwd

    return Path(pwd.getpwnam(spawner.user.name).pw_dir)


def copy_notebooks(source: Path, home: Path, owner: str | None = None) -> list[Path]:
    """Copy workshop files into ``home`` without overwriting a student's edits."""
    copied = []
    home.mkdir(parents=True, exist_ok=True)
    for item in sorted(source.rglob("*")):
        if item.is_dir() or ".ipynb_checkpoints" in item.parts:
            continue
        target = home / item.relative_to(source)
        if target.exists():
            continue
        if not target.parent.exists():
            target.parent.mkdir(parents=True)
            _chown(target.parent, owner)
        shutil.copyfile(item, target)
        _chown(target, owner)
        copied.append(target)
    return copied


def _pre_spawn_hook(workshop: Workshop, previous: Callable[[Any], Any] | None):
    def hook(spawner: Any) -> Any:
        owner = None if getattr(spawner, "home_dir", "") else spawner.user.name
        if workshop.notebooks_dir:
            copy_notebooks(Path(workshop.notebooks_dir), user_home(spawner), owner)
        if workshop.brokered:
            path = write_user_config(workshop, spawner.user.name, spawner.api_token, owner)
            environment = dict(spawner.environment)
            rest = [p for p in environment.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep)
                    if p and p != str(Path(workshop.config_dir))]
            environment["JUPYTER_CONFIG_PATH"] = os.pathsep.join([str(path.parent), *rest])
            spawner.environment = environment
        return previous(spawner) if previous else None

    return hook


def configure_workshop(c: Any, workshop: Workshop) -> Path:
    """Apply ``workshop`` to a JupyterHub config object ``c`` (call it in jupyterhub_config.py).

    Writes the single-user server config, points every spawned server at it via
    ``JUPYTER_CONFIG_PATH`` and installs a pre-spawn hook copying the workshop notebooks.
    Returns the path of the written config.
    """
    path = write_server_config(workshop)
    if workshop.brokered:
        accounts = _write_private(Path(workshop.config_dir) / "broker-accounts.json",
                                  broker_accounts(workshop), 0o600)
        services = list(c.JupyterHub.services) if "services" in c.JupyterHub else []
        services.append({"name": workshop.broker_name, "url": workshop.broker_url,
                         "command": [sys.executable, "-m", "jupyter_eo.hub.broker",
                                     "--accounts", str(accounts),
                                     "--port", str(workshop.broker_port)]})
        c.JupyterHub.services = services
    environment = dict(c.Spawner.environment) if "environment" in c.Spawner else {}
    paths = [str(path.parent)]
    if environment.get("JUPYTER_CONFIG_PATH"):
        paths.append(environment["JUPYTER_CONFIG_PATH"])
    environment["JUPYTER_CONFIG_PATH"] = os.pathsep.join(paths)
    c.Spawner.environment = environment
    previous = c.Spawner.pre_spawn_hook if "pre_spawn_hook" in c.Spawner else None
    c.Spawner.pre_spawn_hook = _pre_spawn_hook(workshop, previous)
    return path
