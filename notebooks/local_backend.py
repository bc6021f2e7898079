"""Start a private embedded openEO backend (`jupyter-eo serve`) for the example notebooks.

A workshop host would run ``jupyter-eo serve --users-file users.txt`` in a terminal; the notebooks
do the same in the background so they run anywhere, offline. Passwords are generated per run,
kept in a 0600 file in the server's temporary state folder and never written into a notebook.
"""
from __future__ import annotations

import atexit
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field

BANNER = re.compile(r"serving openEO API at (http://\S+)")


@dataclass
class LocalBackend:
    """A running ``jupyter-eo serve``: its ``url`` and the ``passwords`` of its users."""

    url: str
    passwords: dict[str, str]
    process: subprocess.Popen
    data_dir: str
    log: list[str] = field(default_factory=list)

    def stop(self) -> None:
        """Stop the server and remove its state folder (jobs, UDPs, files)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def start_backend(users: list[str], udf: bool = False, timeout: float = 120) -> LocalBackend:
    """``jupyter-eo serve`` on a free loopback port with the given users (random passwords).

    ``udf=True`` adds ``--udf`` (run_udf allowed; only for single-user or trusted set-ups).
    """
    passwords = {name: secrets.token_urlsafe(12) for name in users}
    data_dir = tempfile.mkdtemp(prefix="jupyter-eo-notebook-")
    cmd = [sys.executable, "-m", "jupyter_eo.cli", "serve", "--port", "0", "--data-dir", data_dir]
    # passwords never on the command line (readable by every local user): a 0600 users file
    users_file = os.path.join(data_dir, "users.txt")
    fd = os.open(users_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.writelines(f"{name}:{password}\n" for name, password in passwords.items())
    cmd += ["--users-file", users_file]
    if udf:
        cmd.append("--udf")
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               stdin=subprocess.DEVNULL)
    log: list[str] = []
    found: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if len(log) < 200:
                log.append(line)
            match = BANNER.search(line)
            if match and not found:
                found.append(match.group(1))

    threading.Thread(target=read, daemon=True).start()
    backend = LocalBackend("", passwords, process, data_dir, log)
    atexit.register(backend.stop)
    waited = threading.Event()
    for _ in range(int(timeout * 10)):
        if found or process.poll() is not None:
            break
        waited.wait(0.1)
    if not found:
        backend.stop()
        raise RuntimeError("jupyter-eo serve did not start:\n" + "".join(log[-20:]))
    backend.url = found[0]
    return backend
