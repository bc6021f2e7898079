"""Workshop settings for JupyterHub: one single-user server config (backends, limits) and preloaded notebooks."""
from __future__ import annotations

import json
import os
import shutil
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
    flight per backend and student (``JupyterEOApp.proxy_max_concurrent``); ``settings`` adds
    any other ``JupyterEOApp`` setting. ``config_dir`` receives the generated server config.
    """

    config_dir: str
    backends: dict[str, dict[str, Any]] = field(default_factory=dict)
    notebooks_dir: str = ""
    max_preview_pixels: int = 0
    max_concurrent_requests: int = 0
    settings: dict[str, Any] = field(default_factory=dict)
    allow_root: bool = False
    file_mode: int = 0o600


def server_config(workshop: Workshop) -> dict[str, Any]:
    """The single-user servers' config: jupyter_eo enabled plus the JupyterEOApp settings."""
    for backend_id, entry in workshop.backends.items():
        parse_backend(backend_id, entry)  # fail at hub start, with a message naming the entry
    eo: dict[str, Any] = dict(workshop.settings)
    if workshop.backends:
        eo["backends"] = workshop.backends
    if workshop.max_preview_pixels:
        eo["local_backend_args"] = [*eo.get("local_backend_args", []),
                                    "--max-pixels", str(int(workshop.max_preview_pixels))]
    if workshop.max_concurrent_requests:
        eo["proxy_max_concurrent"] = int(workshop.max_concurrent_requests)
    server: dict[str, Any] = {"jpserver_extensions": {"jupyter_eo": True}}
    if workshop.allow_root:
        server["allow_root"] = True
    return {"ServerApp": server, "JupyterEOApp": eo}


def write_server_config(workshop: Workshop) -> Path:
    """Write the config atomically with ``file_mode`` (default 0600: readable by the hub's user only)."""
    directory = Path(workshop.config_dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / CONFIG_FILE
    tmp = directory / f".{CONFIG_FILE}.tmp"
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, workshop.file_mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), workshop.file_mode)
        json.dump(server_config(workshop), handle, indent=1)
    os.replace(tmp, path)
    return path


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
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(item, target)
        if owner and os.geteuid() == 0:
            shutil.chown(target, owner, owner)
        copied.append(target)
    return copied


def _pre_spawn_hook(workshop: Workshop, previous: Callable[[Any], Any] | None):
    def hook(spawner: Any) -> Any:
        if workshop.notebooks_dir:
            home = user_home(spawner)
            owner = None if getattr(spawner, "home_dir", "") else spawner.user.name
            copy_notebooks(Path(workshop.notebooks_dir), home, owner)
        return previous(spawner) if previous else None

    return hook


def configure_workshop(c: Any, workshop: Workshop) -> Path:
    """Apply ``workshop`` to a JupyterHub config object ``c`` (call it in jupyterhub_config.py).

    Writes the single-user server config, points every spawned server at it via
    ``JUPYTER_CONFIG_PATH`` and installs a pre-spawn hook copying the workshop notebooks.
    Returns the path of the written config.
    """
    path = write_server_config(workshop)
    environment = dict(c.Spawner.environment) if "environment" in c.Spawner else {}
    paths = [str(path.parent)]
    if environment.get("JUPYTER_CONFIG_PATH"):
        paths.append(environment["JUPYTER_CONFIG_PATH"])
    environment["JUPYTER_CONFIG_PATH"] = os.pathsep.join(paths)
    c.Spawner.environment = environment
    previous = c.Spawner.pre_spawn_hook if "pre_spawn_hook" in c.Spawner else None
    c.Spawner.pre_spawn_hook = _pre_spawn_hook(workshop, previous)
    return path
