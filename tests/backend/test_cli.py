"""``jupyter-eo serve`` as a real process: ready line, users, password file, clean shutdown."""
from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
from pathlib import Path

import requests

READY = re.compile(r"^jupyter-eo: serving openEO API at (http://127\.0\.0\.1:(\d+)/)$")


def start(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "jupyter_eo.cli", "serve", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=Path(__file__).resolve().parents[2])
    line = proc.stdout.readline().rstrip("\n")  # type: ignore[union-attr]
    match = READY.match(line)
    assert match, (line, proc.poll())
    return proc, match.group(1)


def stop(proc: subprocess.Popen) -> tuple[str, str]:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    return out, err


def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_EO_")}
    env["JUPYTER_EO_CACHE_DIR"] = str(tmp_path / "cache")
    return env


def users_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "users.txt"
    path.write_text(text)
    path.chmod(0o600)
    return str(path)


def test_serve_with_explicit_user(tmp_path: Path) -> None:
    proc, url = start(["--data-dir", str(tmp_path / "d"),
                       "--users-file", users_file(tmp_path, "ann:pw1\nbo:pw2\n")],
                      clean_env(tmp_path))
    try:
        versions = requests.get(url + ".well-known/openeo", timeout=10).json()["versions"]
        assert versions == [{"url": url, "api_version": "1.2.0", "production": False}]
        token = requests.get(url + "credentials/basic", auth=("bo", "pw2"), timeout=10).json()
        me = requests.get(url + "me", timeout=10,
                          headers={"Authorization": f"Bearer basic//{token['access_token']}"})
        assert me.json()["user_id"] == "bo"
    finally:
        out, err = stop(proc)
    assert out == "" and "pw1" not in err and "pw2" not in err
    assert not (tmp_path / "d" / "local-user.txt").exists()


def test_default_user_password_only_in_0600_file(tmp_path: Path) -> None:
    data = tmp_path / "d"
    proc, url = start(["--data-dir", str(data)], clean_env(tmp_path))
    try:
        secret_file = data / "local-user.txt"
        assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
        name, password = secret_file.read_text().strip().split(":", 1)
        assert name == "local" and len(password) >= 24
        ok = requests.get(url + "credentials/basic", auth=(name, password), timeout=10)
        assert ok.status_code == 200
    finally:
        out, err = stop(proc)
    assert password not in out and password not in err


def test_default_user_from_environment(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    env.update(JUPYTER_EO_BACKEND_USER="carol", JUPYTER_EO_BACKEND_PASSWORD="env-secret")
    proc, url = start(["--data-dir", str(tmp_path / "d")], env)
    try:
        ok = requests.get(url + "credentials/basic", auth=("carol", "env-secret"), timeout=10)
        assert ok.status_code == 200
    finally:
        stop(proc)
    assert not (tmp_path / "d" / "local-user.txt").exists()


def test_cli_rejects_malformed_user(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "jupyter_eo.cli", "serve", "--data-dir",
                             str(tmp_path), "--users-file", users_file(tmp_path, "nopassword")],
                            capture_output=True, text=True, timeout=60, env=clean_env(tmp_path))
    assert result.returncode != 0 and "NAME:PASSWORD" in result.stderr


def test_debug_log_level_shows_requests_but_no_secret(tmp_path: Path) -> None:
    proc, url = start(["--data-dir", str(tmp_path / "d"),
                       "--users-file", users_file(tmp_path, "ann:s3cret-pw\n"),
                       "--log-level", "debug"], clean_env(tmp_path))
    try:
        token = requests.get(url + "credentials/basic", auth=("ann", "s3cret-pw"),
                             timeout=10).json()["access_token"]
        me = requests.get(url + "me", timeout=10,
                          headers={"Authorization": f"Bearer basic//{token}"})
        assert me.status_code == 200
    finally:
        _, err = stop(proc)
    assert "GET /credentials/basic" in err and "GET /me" in err  # DEBUG really shows requests
    assert "s3cret-pw" not in err and token not in err


def test_configure_logging_levels() -> None:
    import logging

    from jupyter_eo.backend.__main__ import configure_logging

    package = logging.getLogger("jupyter_eo")
    root = logging.getLogger()
    saved = (package.level, root.level, list(root.handlers), [h.level for h in root.handlers])
    try:
        assert configure_logging("debug") == logging.DEBUG
        assert package.getEffectiveLevel() == logging.DEBUG
        assert configure_logging("warning") == logging.WARNING
        assert package.getEffectiveLevel() == logging.INFO  # job logs still get INFO records
        assert all(h.level == logging.WARNING for h in root.handlers)
        assert configure_logging("no-such-level") == logging.WARNING
    finally:
        package.setLevel(saved[0])
        root.setLevel(saved[1])
        for handler, level in zip(saved[2], saved[3]):
            handler.setLevel(level)
        for handler in root.handlers[:]:
            if handler not in saved[2]:
                root.removeHandler(handler)


def test_gdal_block_cache_is_capped_unless_the_user_chose() -> None:
    from jupyter_eo.backend.__main__ import GDAL_CACHE_MB, limit_gdal_cache

    env: dict[str, str] = {}
    assert limit_gdal_cache(env) == str(GDAL_CACHE_MB) and env["GDAL_CACHEMAX"] == "128"
    chosen = {"GDAL_CACHEMAX": "2048"}
    assert limit_gdal_cache(chosen) == "2048"
