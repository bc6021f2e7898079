"""Helpers for tests that run ``jupyter-eo serve`` as a real subprocess."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

READY = re.compile(r"^jupyter-eo: serving openEO API at (http://127\.0\.0\.1:(\d+)/)$")
REPO = Path(__file__).resolve().parents[2]


def clean_env(tmp_path: Path) -> dict[str, str]:
    """The test's environment without any JUPYTER_EO_ setting, caches in ``tmp_path``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_EO_")}
    env["JUPYTER_EO_CACHE_DIR"] = str(tmp_path / "cache")
    return env


def start_serve(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """Start ``jupyter-eo serve --port 0 ARGS``; return the process and its URL once ready."""
    proc = subprocess.Popen([sys.executable, "-m", "jupyter_eo.cli", "serve", "--port", "0",
                             *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=REPO)
    line = proc.stdout.readline().rstrip("\n")  # type: ignore[union-attr]
    match = READY.match(line)
    if not match:
        proc.kill()
        _, err = proc.communicate(timeout=30)
        raise AssertionError(f"serve did not start: {line!r}, exit {proc.returncode}: {err}")
    return proc, match.group(1)


def stop_serve(proc: subprocess.Popen) -> tuple[str, str]:
    """SIGTERM, wait, and return (stdout, stderr); asserts a clean exit."""
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    return out, err


def write_users_file(path: Path, text: str, mode: int = 0o600) -> Path:
    """``text`` in ``path`` with exactly ``mode`` (whatever the umask)."""
    path.write_text(text, "utf-8")
    os.chmod(path, mode)
    return path


def cmdline(pid: int) -> bytes:
    """What every local user can read about process ``pid``'s arguments."""
    return Path(f"/proc/{pid}/cmdline").read_bytes()
