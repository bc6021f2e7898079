"""`pip install <the wheel>` into a fresh venv, without node on PATH, gives a working JupyterLab with
the extension: lab runs, both extensions are enabled, `jupyter-eo doctor` is clean and
`jupyter-eo serve` answers the official openeo client installed alongside."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import venv
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import stop_process

REPO = Path(__file__).resolve().parents[1]
BANNER = re.compile(r"serving openEO API at (http://\S+)")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def fresh_install(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Build the wheel from this checkout, install it alone into a new venv; the env to run it."""
    tmp = tmp_path_factory.mktemp("wheel-install")
    dist = tmp / "dist"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                            "--no-build-isolation", "-q", "-w", str(dist), str(REPO)],
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = dist.glob("jupyter_eo-*.whl")
    prefix = tmp / "venv"
    venv.EnvBuilder(with_pip=True).create(prefix)
    bindir = prefix / "bin"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JUPYTER", "PYTHON", "VIRTUAL_ENV", "CONDA"))}
    env.update({"PATH": str(bindir), "HOME": str(tmp / "home"),
                "JUPYTER_CONFIG_DIR": str(tmp / "home" / ".jupyter"),
                "JUPYTER_DATA_DIR": str(tmp / "home" / "data"),
                "JUPYTER_RUNTIME_DIR": str(tmp / "home" / "runtime"),
                "OPENEO_CONFIG_HOME": str(tmp / "home" / "openeo"),
                "MPLCONFIGDIR": str(tmp / "home" / "mpl"),
                "JUPYTER_EO_CACHE_DIR": os.environ.get("JUPYTER_EO_CACHE_DIR")
                or str(tmp / "eo-cache"),
                "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    # pip keeps its own download cache (as for any user) so repeated runs take ~1.5 min, not more
    env.setdefault("PIP_CACHE_DIR", str(Path(os.environ.get("HOME", "/root")) / ".cache" / "pip"))
    assert shutil.which("node", path=env["PATH"]) is None
    assert shutil.which("jlpm", path=env["PATH"]) is None
    # --no-compile: pip does not byte-compile all ~170 distributions; Python compiles only the
    # modules the checks import, on first use
    install = subprocess.run([str(bindir / "python"), "-m", "pip", "install", "-q",
                              "--no-compile", str(wheel)],
                             capture_output=True, text=True, env=env, timeout=600, cwd=tmp)
    assert install.returncode == 0, install.stderr[-3000:]
    return {"bin": bindir, "env": env, "cwd": tmp, "wheel": wheel}


def _run(install: dict[str, Any], *cmd: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run a command of the fresh venv; ANSI colours (jupyter's extension lists) removed."""
    done = subprocess.run([str(install["bin"] / cmd[0]), *cmd[1:]], capture_output=True,
                          text=True, env=install["env"], cwd=install["cwd"], timeout=timeout)
    done.stdout, done.stderr = ANSI.sub("", done.stdout), ANSI.sub("", done.stderr)
    return done


@pytest.mark.timeout(900)
def test_jupyterlab_runs_from_the_wheel_install(fresh_install: dict[str, Any]) -> None:
    result = _run(fresh_install, "jupyter", "lab", "--version")
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"4\.\d+\.\d+\S*", result.stdout.strip()), result.stdout
    assert not (fresh_install["bin"] / "node").exists()


@pytest.mark.timeout(900)
def test_server_and_lab_extensions_are_enabled(fresh_install: dict[str, Any]) -> None:
    server = _run(fresh_install, "jupyter", "server", "extension", "list")
    text = server.stdout + server.stderr
    assert re.search(r"jupyter_eo\s+enabled", text), text
    assert re.search(r"jupyter_eo \S+ OK", text), text
    lab = _run(fresh_install, "jupyter", "labextension", "list")
    text = lab.stdout + lab.stderr
    line = next((ln for ln in text.splitlines() if "jupyter-eo" in ln), "")
    assert "enabled" in line and "OK" in line and "(python, jupyter_eo)" in line, text
    assert str(fresh_install["cwd"] / "venv") in text  # installed into the venv, not linked


@pytest.mark.timeout(900)
def test_doctor_is_clean(fresh_install: dict[str, Any]) -> None:
    result = _run(fresh_install, "jupyter-eo", "doctor", "--timeout", "120", timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("No problems found."), result.stdout
    for check in ("jupyterlab", "python kernel", "server extension", "labextension",
                  "embedded backend"):
        assert re.search(rf"^OK\s+{check}:", result.stdout, re.MULTILINE), (check, result.stdout)
    assert not re.search(r"^(WARN|FAIL)", result.stdout, re.MULTILINE), result.stdout


@pytest.mark.timeout(900)
def test_serve_answers_the_openeo_client(fresh_install: dict[str, Any]) -> None:
    data = fresh_install["cwd"] / "serve-data"
    env = {**fresh_install["env"], "JUPYTER_EO_BACKEND_USER": "alice",
           "JUPYTER_EO_BACKEND_PASSWORD": "wonderland-42"}
    proc = subprocess.Popen([str(fresh_install["bin"] / "jupyter-eo"), "serve", "--port", "0",
                             "--data-dir", str(data)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, cwd=fresh_install["cwd"])
    found: list[str] = []
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            match = BANNER.search(line)
            if match:
                found.append(match.group(1))
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        reader.join(120)
        assert found, "".join(lines)
        script = ("import openeo, sys\n"
                  "c = openeo.connect(sys.argv[1]).authenticate_basic('alice', 'wonderland-42')\n"
                  "print(c.describe_account()['user_id'])\n"
                  "print(' '.join(c.list_collection_ids()))\n")
        client = _run(fresh_install, "python", "-c", script, found[0])
        assert client.returncode == 0, client.stderr[-3000:]
        user, collections = client.stdout.strip().splitlines()
        assert user == "alice"
        assert {"SENTINEL2_L2A", "SENTINEL1_GRD"} <= set(collections.split())
    finally:
        stop_process(proc, grace_s=15)


@pytest.mark.timeout(900)
def test_notebooks_ship_in_the_wheel(fresh_install: dict[str, Any]) -> None:
    dest = fresh_install["cwd"] / "my-notebooks"
    result = _run(fresh_install, "jupyter-eo", "notebooks", str(dest))
    assert result.returncode == 0, result.stderr
    shipped = sorted(p.name for p in dest.glob("*.ipynb"))
    assert shipped == sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
    assert "quickstart.ipynb" in shipped
