"""Stopping a child process the tests started: SIGTERM, a grace period, then SIGKILL."""
from __future__ import annotations

import subprocess


def stop_process(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    """Terminate ``proc``, kill it if it has not exited after ``grace_s``, reap it, and close
    its stdout pipe if it has one."""
    proc.terminate()
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()
