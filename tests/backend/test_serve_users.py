"""``jupyter-eo serve`` users: passwords from a private users file or the environment, not argv."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests
from serve_testlib import (REPO, clean_env, cmdline, start_serve, stop_serve,
                           write_users_file)

SECRET_A = "ann-Pw-7d1f0c"
SECRET_B = "bo-Pw-93ab2e"


def run_serve(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jupyter_eo.cli", "serve", "--port", "0",
                           "--data-dir", str(tmp_path / "d"), *args], capture_output=True,
                          text=True, timeout=60, env=clean_env(tmp_path), cwd=REPO)


def test_password_on_the_command_line_is_refused(tmp_path: Path) -> None:
    result = run_serve(["--user", f"ann:{SECRET_A}"], tmp_path)
    assert result.returncode != 0
    assert "--user NAME:PASSWORD is refused" in result.stderr
    assert "--users-file" in result.stderr and "JUPYTER_EO_BACKEND_PASSWORD" in result.stderr
    assert SECRET_A not in result.stderr + result.stdout
    assert not (tmp_path / "d" / "local-user.txt").exists()  # refused before any set-up


def test_users_file_serves_its_users_and_no_secret_is_in_cmdline(tmp_path: Path) -> None:
    users = write_users_file(tmp_path / "users.txt",
                             f"# workshop accounts\nann:{SECRET_A}\n\nbo:{SECRET_B}\n")
    proc, url = start_serve(["--data-dir", str(tmp_path / "d"), "--users-file", str(users)],
                            clean_env(tmp_path))
    try:
        args = cmdline(proc.pid)
        assert b"--users-file" in args  # the positive control: this is the server's cmdline
        assert SECRET_A.encode() not in args and SECRET_B.encode() not in args
        for name, password in (("ann", SECRET_A), ("bo", SECRET_B)):
            ok = requests.get(url + "credentials/basic", auth=(name, password), timeout=10)
            assert ok.status_code == 200, ok.text
        wrong = requests.get(url + "credentials/basic", auth=("ann", SECRET_B), timeout=10)
        assert wrong.status_code == 403 and wrong.json()["code"] == "CredentialsInvalid"
    finally:
        out, err = stop_serve(proc)
    assert SECRET_A not in out + err and SECRET_B not in out + err
    assert not (tmp_path / "d" / "local-user.txt").exists()


def test_environment_password_is_not_in_cmdline(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    env.update(JUPYTER_EO_BACKEND_USER="carol", JUPYTER_EO_BACKEND_PASSWORD=SECRET_A)
    proc, url = start_serve(["--data-dir", str(tmp_path / "d")], env)
    try:
        assert SECRET_A.encode() not in cmdline(proc.pid)
        ok = requests.get(url + "credentials/basic", auth=("carol", SECRET_A), timeout=10)
        assert ok.status_code == 200
    finally:
        stop_serve(proc)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o660])
def test_users_file_readable_or_writable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    users = write_users_file(tmp_path / "users.txt", f"ann:{SECRET_A}\n", mode)
    result = run_serve(["--users-file", str(users)], tmp_path)
    assert result.returncode != 0
    assert f"has mode {mode:04o}" in result.stderr and "chmod 600" in result.stderr
    assert SECRET_A not in result.stderr + result.stdout


def test_users_file_symlink_and_bad_lines_are_refused_without_echoing_secrets(
        tmp_path: Path) -> None:
    target = write_users_file(tmp_path / "real.txt", f"ann:{SECRET_A}\n")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    result = run_serve(["--users-file", str(link)], tmp_path)
    assert result.returncode != 0 and "cannot open" in result.stderr

    bad = write_users_file(tmp_path / "bad.txt", f"ann:{SECRET_A}\n{SECRET_B}\n")
    result = run_serve(["--users-file", str(bad)], tmp_path)
    assert result.returncode != 0 and "line 2: expected NAME:PASSWORD" in result.stderr
    assert SECRET_A not in result.stderr and SECRET_B not in result.stderr

    empty = write_users_file(tmp_path / "empty.txt", "# nobody yet\n")
    result = run_serve(["--users-file", str(empty)], tmp_path)
    assert result.returncode != 0 and "names no user" in result.stderr

    missing = run_serve(["--users-file", str(tmp_path / "nope.txt")], tmp_path)
    assert missing.returncode != 0 and "cannot open" in missing.stderr
