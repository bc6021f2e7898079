"""Per-user workspace files (``/files``) with strict path validation (no traversal, no symlinks)."""
from __future__ import annotations

import os
import secrets
import shutil
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any

from jupyter_eo.errors import FileNotFound, FilePathInvalid, OpenEOError

MAX_PATH_LENGTH = 1024
MAX_PART_LENGTH = 255


def _ignore_vanished(func: Any, path: str, exc_info: Any) -> None:
    """``rmtree`` error handler: entries another request removed first are fine."""
    if not isinstance(exc_info[1], FileNotFoundError):
        raise exc_info[1]


class Workspace:
    """Files of one user below ``root``; every path is checked before touching the disk."""

    def __init__(self, root: Path, quota_bytes: int | None = None) -> None:
        self.root = root
        self.quota_bytes = quota_bytes

    def resolve(self, path: str) -> Path:
        """Map a client path (``a/b.tif``) to a file inside the workspace or raise FilePathInvalid."""
        if not path or len(path) > MAX_PATH_LENGTH:
            raise FilePathInvalid("File path is empty or too long.")
        if "\x00" in path or "\\" in path or any(ord(c) < 32 for c in path):
            raise FilePathInvalid("File path contains control characters or backslashes.")
        pure = PurePosixPath(path)
        if pure.is_absolute() or path.startswith("~"):
            raise FilePathInvalid("File path must be relative to the workspace.")
        parts = [p for p in pure.parts if p not in ("", ".")]
        if not parts or any(p == ".." for p in parts):
            raise FilePathInvalid("File path must not contain '..'.")
        if any(len(p) > MAX_PART_LENGTH for p in parts):
            raise FilePathInvalid("A file path segment is too long.")
        self.root.mkdir(parents=True, exist_ok=True)
        root = self.root.resolve()
        target = root.joinpath(*parts)
        # refuse symlinks anywhere below the root
        current = root
        for part in parts:
            current = current / part
            if current.is_symlink():
                raise FilePathInvalid("File path must not go through symbolic links.")
        if os.path.commonpath([str(root), str(target.resolve())]) != str(root):
            raise FilePathInvalid("File path leaves the workspace.")
        return target

    def relative(self, target: Path) -> str:
        return target.relative_to(self.root.resolve()).as_posix()

    def list(self) -> list[dict[str, Any]]:
        if not self.root.exists():
            return []
        out = []
        root = self.root.resolve()
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not (Path(dirpath) / d).is_symlink())
            for name in sorted(filenames):
                full = Path(dirpath) / name
                if full.is_symlink() or name.endswith(".upload-tmp"):
                    continue
                try:
                    out.append(self.describe(full))
                except FileNotFoundError:  # deleted by another request while listing
                    continue
        return out

    def describe(self, target: Path) -> dict[str, Any]:
        stat = target.stat()
        modified = datetime.fromtimestamp(stat.st_mtime, timezone.utc)
        return {"path": self.relative(target), "size": stat.st_size,
                "modified": modified.strftime("%Y-%m-%dT%H:%M:%SZ")}

    def existing_file(self, path: str) -> Path:
        target = self.resolve(path)
        if target.is_dir():
            raise OpenEOError("Operation is only supported for files, not folders.",
                              code="FolderOperationUnsupported", status=400)
        if not target.is_file():
            raise FileNotFound(f"File {path[:200]!r} does not exist.")
        return target

    def usage(self) -> int:
        return sum(f["size"] for f in self.list())

    def temp_for(self, target: Path) -> Path:
        """A fresh temporary next to ``target``: unique, as uploads to one path may overlap, and
        within the file-name length limit even for a 255-character ``target`` name."""
        target.parent.mkdir(parents=True, exist_ok=True)
        return target.with_name(f".{target.name[:200]}.{secrets.token_hex(6)}.upload-tmp")

    def commit(self, tmp: Path, target: Path) -> dict[str, Any]:
        if target.is_dir():
            tmp.unlink(missing_ok=True)
            raise OpenEOError("A folder exists at this path.", code="FolderOperationUnsupported",
                              status=400)
        os.replace(tmp, target)
        return self.describe(target)

    def delete(self, path: str) -> None:
        target = self.resolve(path)
        missing = FileNotFound(f"File {path[:200]!r} does not exist.")
        try:
            if target.is_dir():
                shutil.rmtree(target, onerror=_ignore_vanished)
                return
            if not target.is_file():
                raise missing
            target.unlink()
        except FileNotFoundError:  # another request deleted it first
            raise missing from None
