"""The per-user token store: 0600 from the first byte, atomic replacement, symlinks refused."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from jupyter_eo.server import credentials as credmod
from jupyter_eo.server.credentials import CredentialStoreError, TokenStore


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture(params=[0o022, 0o000], ids=["umask022", "umask000"])
def umask(request):  # type: ignore[no-untyped-def]
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def test_file_is_0600_from_its_first_byte(tmp_path: Path, umask: int,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    store = TokenStore(tmp_path / "creds" / "alice")
    seen: list[tuple[int, int]] = []
    real_dump = json.dump

    def spying_dump(data, handle, **kwargs):  # type: ignore[no-untyped-def]
        # called before the first byte is written: the file must already be private
        info = os.fstat(handle.fileno())
        seen.append((stat.S_IMODE(info.st_mode), info.st_size))
        return real_dump(data, handle, **kwargs)

    monkeypatch.setattr(credmod.json, "dump", spying_dump)
    store.save("cdse", {"refresh_token": "r-1"})
    store.save("cdse", {"refresh_token": "r-2"})
    assert seen == [(0o600, 0), (0o600, 0)]
    assert _mode(store.root) == 0o700
    assert _mode(store.root / "cdse.json") == 0o600
    assert store.load("cdse") == {"refresh_token": "r-2"}
    assert [p.name for p in store.root.iterdir()] == ["cdse.json"]  # no temporaries left


def test_replacement_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = TokenStore(tmp_path / "u")
    store.save("b", {"refresh_token": "old"})
    target = store.root / "b.json"
    inode = os.stat(target).st_ino
    during: list[dict] = []
    real_dump = json.dump

    def dump_then_look(data, handle, **kwargs):  # type: ignore[no-untyped-def]
        real_dump(data, handle, **kwargs)
        during.append(json.loads(target.read_text()))  # readers still see the old entry

    monkeypatch.setattr(credmod.json, "dump", dump_then_look)
    store.save("b", {"refresh_token": "new"})
    assert during == [{"refresh_token": "old"}]
    assert os.stat(target).st_ino != inode  # renamed over, not rewritten in place

    def failing_dump(data, handle, **kwargs):  # type: ignore[no-untyped-def]
        handle.write('{"refresh_token": "half')
        raise OSError("disk full")

    monkeypatch.setattr(credmod.json, "dump", failing_dump)
    with pytest.raises(OSError):
        store.save("b", {"refresh_token": "never"})
    assert store.load("b") == {"refresh_token": "new"}
    assert [p.name for p in store.root.iterdir()] == ["b.json"]


def test_symlinked_file_is_refused(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "u")
    store.save("x", {"refresh_token": "r"})
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text('{"refresh_token": "attacker"}')
    link = store.root / "b.json"
    link.symlink_to(elsewhere)
    with pytest.raises(CredentialStoreError):
        store.load("b")
    with pytest.raises(CredentialStoreError):
        store.save("b", {"refresh_token": "secret"})
    assert elsewhere.read_text() == '{"refresh_token": "attacker"}'


def test_symlinked_directory_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "parent").mkdir()
    (tmp_path / "parent" / "u").symlink_to(real)
    store = TokenStore(tmp_path / "parent" / "u")
    with pytest.raises(CredentialStoreError):
        store.save("b", {"refresh_token": "secret"})
    assert list(real.iterdir()) == []


def test_loose_directory_is_tightened_and_delete_wipes(tmp_path: Path) -> None:
    root = tmp_path / "u"
    root.mkdir(mode=0o755)
    os.chmod(root, 0o755)
    store = TokenStore(root)
    store.save("a", {"refresh_token": "1"})
    store.save("b", {"refresh_token": "2"})
    assert _mode(root) == 0o700
    store.delete("a")
    assert store.load("a") is None and store.load("b") is not None
    store.wipe()
    assert list(root.iterdir()) == []
    store.delete("a")  # missing is fine


def test_bad_names_are_refused(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "u")
    for name in ("../x", "a/b", "", ".hidden"):
        with pytest.raises(CredentialStoreError):
            store.save(name, {})
