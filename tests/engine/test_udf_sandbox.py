"""The UDF sandbox itself: read-only root, file-size limit, timeout kill of detached descendants,
the unprivileged launch path, and ``serve --udf`` refusing where no sandbox can be built."""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

from jupyter_eo.backend.engine import evaluate, udf_sandbox
from jupyter_eo.backend.engine.udf_sandbox import (NOBODY, SYSTEM_PATHS, UdfLimits,
                                                   run_sandboxed, sandbox_problem)
from jupyter_eo.errors import OpenEOError
from tests.support.udf_orphans import marker_pids, orphan_udf

from .graphs import load, ref

needs_sandbox = pytest.mark.skipif(sandbox_problem() is not None,
                                   reason=f"no UDF sandbox here: {sandbox_problem()}")

FILES = """
import os
for path in ("/usr/lib/jeo-probe", "/jeo-probe", "/tmp/jeo-probe", "mine.txt"):
    try:
        with open(path, "w") as handle:
            handle.write("ok")
        print("wrote", path)
    except OSError as exc:
        print("refused", path)
print("uid", os.getuid())
with open("/dev/null", "w") as null, open("/dev/urandom", "rb") as random:
    print("devices", null.write("x"), len(random.read(4)))
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
print("nested user namespace", libc.unshare(0x10000000), ctypes.get_errno())
with open("big.bin", "wb") as handle:
    handle.write(b"x" * (3 * 2**20))
"""


@needs_sandbox
def test_root_is_read_only_and_file_size_is_limited(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    code, err = run_sandboxed(str(work), [sys.executable, "-I", "-c", FILES],
                              UdfLimits(timeout_s=60, file_mb=1))
    lines = err.splitlines()
    for path in ("/usr/lib/jeo-probe", "/jeo-probe", "/tmp/jeo-probe"):
        assert f"refused {path}" in lines, err
        assert not Path(path).exists()
    assert "wrote mine.txt" in lines and (work / "mine.txt").read_text() == "ok"
    assert "uid 1000" in lines and "devices 1 4" in lines
    assert "nested user namespace -1 28" in lines  # ENOSPC: max_user_namespaces is 0 inside
    assert code == 1 and "File too large" in err
    assert (work / "big.bin").stat().st_size <= 2**20


ORPHAN_THEN_HANG = orphan_udf("""\
    time.sleep(600)
    return cube
""")


@needs_sandbox
def test_timeout_kills_a_detached_grandchild(ctx) -> None:
    marker = f"orphan-{uuid.uuid4().hex}"
    ctx.udf_enabled = True
    ctx.udf_timeout = 20  # the UDF's imports take seconds on a loaded machine
    graph = {"l": load(["B04"]), "u": {"process_id": "run_udf", "arguments": {
        "data": ref("l"), "udf": ORPHAN_THEN_HANG, "runtime": "Python",
        "context": {"marker": marker}}, "result": True}}
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            evaluate(graph, ctx)
        except BaseException as exc:  # noqa: BLE001 - checked by the test thread
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    deadline, seen = time.monotonic() + 60, []
    while not seen and thread.is_alive() and time.monotonic() < deadline:
        seen = marker_pids(marker)
        time.sleep(0.05)
    assert seen, "the detached grandchild never ran (positive control)"
    thread.join(60)
    assert not thread.is_alive()
    assert isinstance(outcome[0], OpenEOError) and outcome[0].code == "UdfTimeout"
    deadline = time.monotonic() + 10
    while marker_pids(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker_pids(marker) == []


UNPRIVILEGED = """
import os, socket
print("uid", os.getuid())
print("hostname-file", os.path.exists("/etc/hostname"))
sock = socket.socket()
try:
    sock.connect(("127.0.0.1", 9))
except OSError as exc:
    print("net", type(exc).__name__)
import ctypes
print("nested user namespace", ctypes.CDLL(None, use_errno=True).unshare(0x10000000),
      ctypes.get_errno())
children = 0
try:
    while True:
        if os.fork() == 0:
            import time; time.sleep(30); os._exit(0)
        children += 1
except OSError:
    print("children", children)
"""


@needs_sandbox
@pytest.mark.skipif(os.geteuid() != 0 or not Path("/usr/bin/python3").exists(),
                    reason="needs root to become nobody, and a system Python nobody may run")
def test_unprivileged_launch_has_the_same_guarantees() -> None:
    """As nobody (what a JupyterHub user's backend is): uid map without privilege, no network,
    no /etc, and RLIMIT_NPROC counting only the sandbox's processes."""
    work = Path(tempfile.mkdtemp(prefix="jeo-udf-nobody-", dir="/tmp"))  # nobody can reach it
    os.chown(work, NOBODY, NOBODY)
    # the launcher file as an installed package has it (world-readable), wherever the checkout
    # is (a 0700 clone folder would hide it from nobody): a copy, loaded as its own module
    shipped = Path(tempfile.mkdtemp(prefix="jeo-udf-launcher-", dir="/tmp"))
    shipped.chmod(0o755)
    launcher = shipped / "udf_sandbox.py"
    shutil.copyfile(udf_sandbox.__file__, launcher)
    launcher.chmod(0o644)
    spec = importlib.util.spec_from_file_location("jeo_udf_sandbox_copy", launcher)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    python = os.path.realpath("/usr/bin/python3")
    try:
        code, err = module.run_sandboxed(str(work), [python, "-I", "-c", UNPRIVILEGED],
                                         module.UdfLimits(timeout_s=60, processes=16),
                                         read_only=["/usr/bin", *SYSTEM_PATHS],
                                         launcher_python=python, run_as=NOBODY)
    finally:
        shutil.rmtree(work)
        shutil.rmtree(shipped)
        sys.modules.pop(spec.name, None)
    assert code == 0, err
    lines = err.splitlines()
    assert "uid 1000" in lines and "hostname-file False" in lines
    assert "net OSError" in lines
    assert "nested user namespace -1 28" in lines
    assert any(line.startswith("children ") and 0 < int(line.split()[1]) < 16 for line in lines)


def serve_refusal(tmp_path: Path, *args: str) -> subprocess.Popen:
    """``jupyter-eo serve ARGS`` where user namespaces are switched off (in a user namespace
    of its own whose max_user_namespaces is 0), so no sandbox can be built."""
    serve = [sys.executable, "-m", "jupyter_eo.cli", "serve", "--data-dir", str(tmp_path / "d"),
             *args]
    env = {**os.environ, "JUPYTER_EO_BACKEND_PASSWORD": "pw", "JUPYTER_EO_CACHE_DIR":
           str(tmp_path / "cache")}
    if sandbox_problem() is None:
        serve = ["unshare", "-Ur", "sh", "-c",
                 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"', "sh", *serve]
    return subprocess.Popen(serve, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=Path(__file__).resolve().parents[2])


@pytest.mark.skipif(shutil.which("unshare") is None and sandbox_problem() is None,
                    reason="needs util-linux unshare to switch user namespaces off")
def test_serve_udf_refuses_without_sandbox_and_unsandboxed_warns(tmp_path: Path) -> None:
    refused = serve_refusal(tmp_path, "--udf", "--port", "0")
    out, err = refused.communicate(timeout=120)
    assert refused.returncode != 0, (out, err)
    assert "UDFs need a sandbox, and none can be built here" in err
    assert "--udf-unsandboxed" in err and out == ""

    opted_out = serve_refusal(tmp_path, "--udf-unsandboxed", "--port", "0")
    try:
        line = opted_out.stdout.readline()  # type: ignore[union-attr]
        assert line.startswith("jupyter-eo: serving openEO API at http://127.0.0.1:"), line
    finally:
        opted_out.terminate()
        _, err = opted_out.communicate(timeout=60)
    assert "WARNING: --udf-unsandboxed: UDFs run WITHOUT the sandbox" in err

