"""Supervises the embedded backend child (``jupyter-eo serve`` on loopback): start, restart, stop."""
from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import re
import secrets
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from .channel import ENV_SECRET

BANNER_RE = re.compile(r"jupyter-eo: serving openEO API at (http://[^\s]+)")
LOCAL_USER = "jupyter"


@dataclass(frozen=True)
class ChildInfo:
    """Where the running child listens and the random credential it accepts."""

    url: str
    username: str
    password: str


ENV_BACKEND_USER = "JUPYTER_EO_BACKEND_USER"
ENV_BACKEND_PASSWORD = "JUPYTER_EO_BACKEND_PASSWORD"


def serve_command(data_dir: Path, extra_args: list[str] | None = None,
                  job_workers: int = 1) -> list[str]:
    """The command line starting the embedded backend on a random loopback port.

    ``job_workers`` becomes ``--job-workers``; ``extra_args`` come last (argparse: they win).

    The credential goes through the environment (:func:`child_env`), not the command line,
    which other OS users could read with ``ps``.
    """
    return [sys.executable, "-c", "import sys; from jupyter_eo.cli import main; sys.exit(main())",
            "serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", str(data_dir),
            "--job-workers", str(int(job_workers)), *(extra_args or [])]


def child_env(username: str, password: str) -> dict[str, str]:
    """The server's environment minus the kernel secret, plus the child's one user."""
    env = dict(os.environ)
    env.pop(ENV_SECRET, None)
    env.update({"PYTHONUNBUFFERED": "1", ENV_BACKEND_USER: username,
                ENV_BACKEND_PASSWORD: password})
    return env


_LIBC: list[ctypes.CDLL | None] = []


def _libc() -> ctypes.CDLL | None:
    """libc, loaded once in the server process (never after fork: see :func:`_die_with_parent`)."""
    if not _LIBC:
        try:
            _LIBC.append(ctypes.CDLL("libc.so.6", use_errno=True))
        except OSError:
            _LIBC.append(None)
    return _LIBC[0]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to SIGTERM the child when the server process dies (even by SIGKILL).

    Only calls into the libc handle :func:`_libc` loaded before the fork: a ``dlopen`` in
    the forked child of the multi-threaded server can deadlock on a loader lock that another
    thread held at fork time, and the backend would then never start.
    """
    libc = _LIBC[0] if _LIBC else None
    if libc is not None:
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class LocalBackendSupervisor:
    """Starts the child on first use, restarts it when it died, stops it with the server.

    The credential is random per server start and only known to this process and the child
    (passed in the child's environment, readable by the same OS user only).
    """

    def __init__(self, data_dir: Path, *, start_timeout: float = 120.0,
                 extra_args: list[str] | None = None, job_workers: int = 1,
                 log: logging.Logger | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.job_workers = job_workers
        self.start_timeout = start_timeout
        self.extra_args = list(extra_args or [])
        self.log = log or logging.getLogger(__name__)
        self._password = secrets.token_urlsafe(24)
        self._proc: asyncio.subprocess.Process | None = None
        self._info: ChildInfo | None = None
        self._lock = asyncio.Lock()
        self._drain: asyncio.Task | None = None
        self.starts = 0
        self.last_error = ""

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    @property
    def info(self) -> ChildInfo | None:
        """URL and credential of the running child (None before the first start)."""
        return self._info if self.running else None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    async def ensure(self) -> ChildInfo:
        """The running child's URL and credential, starting or restarting it when needed."""
        if self.running and self._info is not None:
            return self._info
        async with self._lock:
            if self.running and self._info is not None:
                return self._info
            if self._proc is not None:
                self.log.warning("jupyter_eo: embedded backend exited (code %s); restarting",
                                 self._proc.returncode)
            await self._start()
            assert self._info is not None
            return self._info

    async def _start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        cmd = serve_command(self.data_dir, self.extra_args, job_workers=self.job_workers)
        log_path = self.data_dir / "backend.log"
        linux = sys.platform == "linux" and _libc() is not None
        stderr = open(log_path, "ab")  # noqa: SIM115 - handed to the child
        try:
            proc = await asyncio.create_subprocess_exec(
                *cmd, stdout=asyncio.subprocess.PIPE, stderr=stderr, stdin=asyncio.subprocess.DEVNULL,
                env=child_env(LOCAL_USER, self._password),
                preexec_fn=_die_with_parent if linux else None)
        finally:
            stderr.close()
        self._proc = proc
        self.starts += 1
        try:
            url = await asyncio.wait_for(self._read_banner(proc), self.start_timeout)
        except (asyncio.TimeoutError, RuntimeError) as exc:
            await self._terminate(proc)
            self._proc = None
            self.last_error = f"embedded backend did not start (see {log_path}): {exc}"
            raise RuntimeError(self.last_error) from None
        self.last_error = ""
        self._info = ChildInfo(url=url if url.endswith("/") else url + "/",
                               username=LOCAL_USER, password=self._password)
        self._drain = asyncio.ensure_future(self._drain_stdout(proc))
        self.log.info("jupyter_eo: embedded backend pid %s listening at %s", proc.pid, url)

    @staticmethod
    async def _read_banner(proc: asyncio.subprocess.Process) -> str:
        assert proc.stdout is not None
        while True:
            line = await proc.stdout.readline()
            if not line:
                raise RuntimeError(f"child exited with code {await proc.wait()}")
            match = BANNER_RE.search(line.decode("utf-8", "replace"))
            if match:
                return match.group(1)

    async def _drain_stdout(self, proc: asyncio.subprocess.Process) -> None:
        """Keep reading the child's stdout so it never blocks on a full pipe."""
        assert proc.stdout is not None
        try:
            while await proc.stdout.readline():
                pass
        except Exception:  # pragma: no cover - pipe torn down at shutdown
            pass

    @staticmethod
    async def _terminate(proc: asyncio.subprocess.Process, grace: float = 5.0) -> None:
        if proc.returncode is not None:
            return
        try:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), grace)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
        except ProcessLookupError:
            pass

    async def stop(self) -> None:
        """Stop the child (server shutdown)."""
        proc, self._proc, self._info = self._proc, None, None
        if proc is not None:
            await self._terminate(proc)
        if self._drain is not None:
            self._drain.cancel()
            self._drain = None
