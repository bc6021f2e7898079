"""Concurrent ``ensure_standalone`` callers (processes and threads) share one standalone server."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jupyter_eo import connection
from jupyter_eo.server.channel import ENV_SECRET, ENV_URL

# each process waits for the "go" file, then calls ensure_standalone from two threads at once
CALLER = r"""
import json, sys, threading, time
from pathlib import Path
from jupyter_eo.connection import ensure_standalone

go = Path(sys.argv[1])
while not go.exists():
    time.sleep(0.005)
results, errors = [], []

def call():
    try:
        results.append(ensure_standalone(timeout=90))
    except Exception as exc:
        errors.append(repr(exc))

threads = [threading.Thread(target=call) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps({"results": results, "errors": errors}))
"""


def _servers(data_dir: Path) -> list[int]:
    """Pids of running ``jupyter-eo serve`` processes using ``data_dir``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and b"serve" in args and os.fsencode(data_dir) in args:
            pids.append(int(entry.name))
    return pids


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
def test_concurrent_callers_start_one_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             eo_cache_dir: str) -> None:
    monkeypatch.delenv(ENV_URL, raising=False)
    monkeypatch.delenv(ENV_SECRET, raising=False)
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("JUPYTER_EO_CACHE_DIR", eo_cache_dir)
    data_dir = tmp_path / "data" / "jupyter_eo" / "standalone-backend"
    go = tmp_path / "go"
    callers = [subprocess.Popen([sys.executable, "-c", CALLER, str(go)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=dict(os.environ))
               for _ in range(2)]
    try:
        time.sleep(1.0)  # both interpreters have imported jupyter_eo.connection by now
        go.touch()
        outputs = [c.communicate(timeout=120) for c in callers]
        running = _servers(data_dir)
    finally:
        for caller in callers:
            if caller.poll() is None:
                caller.kill()
                caller.wait()
        connection.stop_standalone()
        for pid in _servers(data_dir):  # a leaked second server (the bug) is stopped too
            os.kill(pid, signal.SIGKILL)
    for caller, (out, err) in zip(callers, outputs):
        assert caller.returncode == 0, err
    reports = [json.loads(out) for out, _ in outputs]
    assert [r["errors"] for r in reports] == [[], []]
    infos = [info for r in reports for info in r["results"]]
    assert len(infos) == 4
    assert len({info["url"] for info in infos}) == 1, infos
    assert len({info["pid"] for info in infos}) == 1, infos
    assert running == [infos[0]["pid"]]
    log = (data_dir / "standalone.log").read_text("utf-8", "replace")
    assert infos[0]["url"].rstrip("/") in log  # the log still holds the running server's banner
    deadline = time.monotonic() + 10
    while _servers(data_dir) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _servers(data_dir) == []
