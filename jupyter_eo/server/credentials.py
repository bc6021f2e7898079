"""Per-user token store on disk: directory 0700, files 0600 from their first byte, atomic, no symlinks."""
from __future__ import annotations

import json
import os
import re
import secrets
import stat
from pathlib import Path
from typing import Any

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class CredentialStoreError(Exception):
    """The store refused an operation (symlink, wrong owner, bad name); messages hold no secrets."""


def _check_dir(path: Path) -> None:
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        raise CredentialStoreError(f"refusing symlinked credential directory {path}")
    if not stat.S_ISDIR(info.st_mode):
        raise CredentialStoreError(f"credential path {path} is not a directory")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise CredentialStoreError(f"credential directory {path} belongs to another user")
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, 0o700, follow_symlinks=False)


class TokenStore:
    """Refresh tokens (and related non-secret metadata) of one user, one JSON file per backend.

    ``root`` is the user's directory (created 0700). Files are written to a fresh temporary
    opened with ``O_CREAT|O_EXCL|O_NOFOLLOW`` and mode 0600, fsynced, then renamed over the
    old file, so the file never exists with looser permissions or half-written. Symlinked
    directories or files are refused.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _ensure_root(self) -> Path:
        root = self.root
        parent = root.parent
        parent.mkdir(parents=True, exist_ok=True)
        try:
            os.mkdir(root, 0o700)
        except FileExistsError:
            pass
        _check_dir(root)
        return root

    def _path(self, backend_id: str) -> Path:
        if not _NAME_RE.match(backend_id):
            raise CredentialStoreError("invalid backend id for the credential store")
        return self._ensure_root() / f"{backend_id}.json"

    def save(self, backend_id: str, data: dict[str, Any]) -> None:
        """Atomically replace the stored entry of ``backend_id``."""
        path = self._path(backend_id)
        if path.is_symlink():
            raise CredentialStoreError(f"refusing to write through symlink {path}")
        tmp = path.with_name(f".{backend_id}.{secrets.token_hex(8)}.tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(tmp, flags, 0o600)
        try:
            os.fchmod(fd, 0o600)  # independent of the umask (0o600 & ~umask could only be tighter)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                fd = -1
                json.dump(data, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            if fd >= 0:
                os.close(fd)
            tmp.unlink(missing_ok=True)
            raise

    def load(self, backend_id: str) -> dict[str, Any] | None:
        """The stored entry, or None; a symlinked or unreadable file raises CredentialStoreError."""
        path = self._path(backend_id)
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise CredentialStoreError(f"cannot read credential file {path.name}: "
                                       f"{exc.strerror}") from None
        with os.fdopen(fd, "r", encoding="utf-8") as handle:
            info = os.fstat(handle.fileno())
            if stat.S_IMODE(info.st_mode) & 0o077:
                os.fchmod(handle.fileno(), 0o600)
            try:
                data = json.load(handle)
            except ValueError:
                return None
        return data if isinstance(data, dict) else None

    def delete(self, backend_id: str) -> None:
        """Remove the entry (logout); missing is fine."""
        path = self._path(backend_id)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

    def wipe(self) -> None:
        """Remove every entry of this user."""
        if not self.root.exists():
            return
        root = self._ensure_root()
        for entry in root.iterdir():
            if entry.suffix in (".json", ".tmp"):
                entry.unlink(missing_ok=True)
