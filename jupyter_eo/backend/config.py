"""Backend configuration: data directory, users, limits, engine options, and the default local user."""
from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_eo.backend.limits import Limits

ENV_USER = "JUPYTER_EO_BACKEND_USER"
MAX_JOB_WORKERS = 32
ENV_PASSWORD = "JUPYTER_EO_BACKEND_PASSWORD"
DEFAULT_USER = "local"
PASSWORD_FILE = "local-user.txt"


@dataclass
class BackendConfig:
    """Everything a backend app needs; built by the CLI or directly by tests.

    ``data_dir`` holds the SQLite state (jobs, UDPs, services), per-user result files and
    workspaces. ``users`` maps user name to password for HTTP basic authentication.
    ``catalog`` may be given directly (tests); otherwise ``default_catalog`` is built with
    ``collections_dir``/``cache_dir``. ``job_workers`` (1..``MAX_JOB_WORKERS``) is how many
    batch jobs of this backend process run at once; further started jobs stay "queued" until a
    worker frees. ``udf_enabled`` allows ``run_udf``; UDFs run in the Linux sandbox of
    :mod:`jupyter_eo.backend.engine.udf_sandbox` unless ``udf_sandboxed`` is False.
    """

    data_dir: Path
    users: dict[str, str] = field(default_factory=dict)
    dask_address: str | None = None
    udf_enabled: bool = False
    udf_sandboxed: bool = True
    limits: Limits = field(default_factory=Limits)
    catalog: Any = None
    collections_dir: Path | None = None
    cache_dir: Path | None = None
    sync_workers: int = 2
    job_workers: int = 1
    title: str = "jupyter_eo embedded openEO backend"
    backend_id: str = "jupyter-eo"

    def __post_init__(self) -> None:
        check_job_workers(self.job_workers)
        self.data_dir = Path(self.data_dir).expanduser().resolve()
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # private when we create it


def check_job_workers(value: int) -> int:
    """``value`` when it is an int in 1..MAX_JOB_WORKERS, else ValueError with a clear message."""
    if isinstance(value, bool) or not isinstance(value, int) \
            or not 1 <= value <= MAX_JOB_WORKERS:
        raise ValueError(f"job_workers must be an integer from 1 to {MAX_JOB_WORKERS}, "
                         f"got {value!r}")
    return value


def default_users(data_dir: Path) -> dict[str, str]:
    """The single local user when no ``--users-file`` is given.

    Uses ``JUPYTER_EO_BACKEND_USER``/``JUPYTER_EO_BACKEND_PASSWORD`` when the password is set,
    otherwise user ``local`` with a random password kept only in ``<data_dir>/local-user.txt``
    (mode 0600, format ``NAME:PASSWORD``), generated once and reused on later starts.
    """
    password = os.environ.get(ENV_PASSWORD)
    if password:
        return {os.environ.get(ENV_USER) or DEFAULT_USER: password}
    data_dir = Path(data_dir)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = data_dir / PASSWORD_FILE
    if path.exists():
        name, _, stored = path.read_text("utf-8").strip().partition(":")
        if name and stored:
            os.chmod(path, 0o600)
            return {name: stored}
    name = os.environ.get(ENV_USER) or DEFAULT_USER
    password = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(f"{name}:{password}\n")
    os.chmod(path, 0o600)
    return {name: password}


def read_users_file(path: Path) -> dict[str, str]:
    """Users from a private file: one ``NAME:PASSWORD`` per line, ``#`` comments allowed.

    Refused (ValueError, message without any password): a symlink or non-regular file, a file
    owned by another user, a mode that lets group or others read or write it, a malformed line
    (named by its number only), or no user at all.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise ValueError(f"cannot open {path}: {exc.strerror}") from None
    with os.fdopen(fd, "r", encoding="utf-8") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{path} is not a regular file")
        if info.st_uid != os.geteuid():
            raise ValueError(f"{path} belongs to another user (uid {info.st_uid})")
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            raise ValueError(f"{path} has mode {mode:04o}: other users could read or change "
                             f"the passwords; run: chmod 600 {path}")
        text = handle.read()
    users: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            name, password = parse_user(line)
        except ValueError:
            raise ValueError(f"{path}, line {number}: expected NAME:PASSWORD") from None
        users[name] = password
    if not users:
        raise ValueError(f"{path} names no user (expected NAME:PASSWORD lines)")
    return users


def parse_user(spec: str) -> tuple[str, str]:
    """``NAME:PASSWORD`` -> (name, password); raises ValueError when malformed."""
    name, sep, password = spec.partition(":")
    if not sep or not name or not password:
        raise ValueError(f"expected NAME:PASSWORD, got {spec.split(':')[0]!r}:...")
    return name, password
