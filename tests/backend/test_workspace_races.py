"""Workspace files under concurrent requests: interleaved uploads to one path, listing and
deleting while other requests delete."""
from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests

from backend_testlib import PASSWORD, USER, make_config
from jupyter_eo.backend import workspace as workspace_module
from jupyter_eo.backend.testing import serve_in_thread
from jupyter_eo.backend.workspace import Workspace
from jupyter_eo.errors import FileNotFound


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The base URL and the test user's workspace folder."""
    with serve_in_thread(make_config(tmp_path_factory.mktemp("ws"))) as url:
        backend = serve_in_thread.last_backend  # type: ignore[attr-defined]
        yield url, backend.workspace(USER).root


@pytest.fixture(scope="module")
def base(served: tuple[str, Path]) -> str:
    return served[0]


def _wait_for_uploads(folder: Path, count: int, size: int) -> None:
    """Until ``count`` in-flight uploads in ``folder`` hold at least ``size`` bytes each."""
    deadline = time.monotonic() + 30
    while True:
        temps = list(folder.glob(".*.upload-tmp")) if folder.exists() else []
        sizes = []
        for temp in temps:
            try:
                sizes.append(temp.stat().st_size)
            except FileNotFoundError:
                pass
        if sum(1 for s in sizes if s >= size) >= count:
            return
        assert time.monotonic() < deadline, f"uploads never reached {size} bytes: {sizes}"
        time.sleep(0.01)


@pytest.fixture(scope="module")
def token(base: str) -> str:
    return requests.get(base + "credentials/basic", auth=(USER, PASSWORD)).json()["access_token"]


def _open_put(base: str, token: str, path: str, length: int) -> socket.socket:
    host, port = base.split("//")[1].split("/")[0].split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.sendall((f"PUT /files/{path} HTTP/1.1\r\nHost: {host}\r\n"
                  f"Authorization: Bearer basic//{token}\r\n"
                  f"Content-Type: application/octet-stream\r\n"
                  f"Content-Length: {length}\r\nConnection: close\r\n\r\n").encode())
    return sock


def _response(sock: socket.socket) -> tuple[int, bytes]:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    return int(data.split(b" ", 2)[1]), data


def test_interleaved_uploads_to_one_path_both_succeed_and_never_mix(
        served: tuple[str, Path], token: str) -> None:
    base, folder = served
    size = 256 * 1024
    body_a, body_b = b"a" * size, b"b" * size
    a = _open_put(base, token, "same.bin", size)
    b = _open_put(base, token, "same.bin", size)
    a.sendall(body_a[: size // 2])
    _wait_for_uploads(folder, 1, 1)  # the server is writing A's upload ...
    b.sendall(body_b[: size // 2])
    _wait_for_uploads(folder, 2, 1)  # ... and B's, before either finishes
    a.sendall(body_a[size // 2:])
    status_a, reply_a = _response(a)
    b.sendall(body_b[size // 2:])
    status_b, reply_b = _response(b)
    assert (status_a, status_b) == (200, 200), (reply_a[-300:], reply_b[-300:])
    stored = requests.get(base + "files/same.bin",
                          headers={"Authorization": f"Bearer basic//{token}"}).content
    assert stored == body_b  # the later commit wins, whole
    listed = requests.get(base + "files", headers={"Authorization": f"Bearer basic//{token}"})
    assert [f["path"] for f in listed.json()["files"]] == ["same.bin"]


def test_each_upload_gets_its_own_temporary_file(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path)
    target = workspace.resolve("dir/x.tif")
    first, second = workspace.temp_for(target), workspace.temp_for(target)
    assert first != second and first.parent == second.parent == target.parent
    first.write_bytes(b"1")
    second.write_bytes(b"2")
    assert workspace.list() == []  # in-flight uploads are not listed
    workspace.commit(second, target)
    assert target.read_bytes() == b"2" and first.read_bytes() == b"1"
    longest = workspace.resolve("y" * 255)
    workspace.temp_for(longest).write_bytes(b"ok")  # a name the file system accepts


def test_listing_skips_files_deleted_meanwhile(tmp_path: Path, monkeypatch) -> None:
    workspace = Workspace(tmp_path)
    for name in ("a.txt", "b.txt"):
        workspace.resolve(name).write_text(name)
    real_walk = os.walk

    def walk_then_delete(*args, **kwargs):
        for entry in real_walk(*args, **kwargs):
            (tmp_path / "b.txt").unlink(missing_ok=True)  # another request's DELETE
            yield entry

    monkeypatch.setattr(workspace_module.os, "walk", walk_then_delete)
    assert [f["path"] for f in workspace.list()] == ["a.txt"]
    assert workspace.usage() == len("a.txt")


def test_deleting_a_file_another_request_just_deleted_is_not_found(tmp_path: Path,
                                                                  monkeypatch) -> None:
    workspace = Workspace(tmp_path)
    target = workspace.resolve("gone.txt")
    target.write_text("x")
    real_is_file = Path.is_file

    def is_file_then_vanish(self: Path) -> bool:
        found = real_is_file(self)
        if self == target:
            os.unlink(target)  # the other DELETE wins right after our check
        return found

    monkeypatch.setattr(Path, "is_file", is_file_then_vanish)
    with pytest.raises(FileNotFound):
        workspace.delete("gone.txt")
