"""Bounded on-disk LRU cache of generated chunks (one .npy file per chunk and band)."""
from __future__ import annotations

import functools
import hashlib
import io
import logging
import os
import threading
from pathlib import Path

import numpy as np

from jupyter_eo.atomic_files import replacing

log = logging.getLogger(__name__)


def chunk_key(*parts: object) -> str:
    """A stable file-name-safe key for the parts describing a chunk."""
    return hashlib.sha1(repr(parts).encode()).hexdigest()


_NPY_MAGIC_V1 = b"\x93NUMPY\x01\x00"


@functools.lru_cache(maxsize=512)
def _npy_header(raw: bytes) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran_order, dtype) of a version-1.0 .npy header (length prefix + dict);
    parsed once per distinct header (chunks of one grid share it), not on every read."""
    return np.lib.format.read_array_header_1_0(io.BytesIO(raw))


def load_npy_into(path: Path, out: np.ndarray) -> bool:
    """Read a version-1.0 C-order .npy file straight into ``out`` (C-contiguous) when its
    dtype and shape are exactly ``out``'s; False (nothing read) otherwise."""
    with open(path, "rb") as f:
        head = f.read(10)
        if head[:8] != _NPY_MAGIC_V1:
            return False
        raw = head[8:10] + f.read(int.from_bytes(head[8:10], "little"))
        shape, fortran, dtype = _npy_header(raw)
        if fortran or dtype != out.dtype or tuple(shape) != out.shape \
                or not out.flags.c_contiguous:
            return False
        if out.nbytes and f.readinto(out.reshape(-1).view(np.uint8)) != out.nbytes:
            raise ValueError(f"truncated chunk file {path}")
    return True


def load_npy(path: Path) -> np.ndarray:
    """``np.load(path)`` for the files :meth:`ChunkCache.put` writes, without re-parsing the
    header each time; other .npy versions go through ``np.load``. OSError/ValueError on bad files."""
    with open(path, "rb") as f:
        head = f.read(10)
        if head[:8] != _NPY_MAGIC_V1:
            return np.load(path, allow_pickle=False)
        raw = head[8:10] + f.read(int.from_bytes(head[8:10], "little"))
        shape, fortran, dtype = _npy_header(raw)
        if fortran or dtype.hasobject:
            return np.load(path, allow_pickle=False)
        arr = np.empty(shape, dtype=dtype)
        if arr.nbytes and f.readinto(arr.reshape(-1).view(np.uint8)) != arr.nbytes:
            raise ValueError(f"truncated chunk file {path}")
    return arr


class ChunkCache:
    """Files under ``root``; least recently used ones are deleted when over ``max_bytes``.

    Reads touch the file's mtime, so eviction (oldest mtime first) is LRU. Safe for threads of one
    process; several processes may share a directory (writes are atomic renames).
    """

    def __init__(self, root: Path | None, max_bytes: int = 2 * 1024**3) -> None:
        self.root = Path(root) if root is not None else None
        self.max_bytes = int(max_bytes)
        self._lock = threading.Lock()
        self._size: int | None = None
        self.hits = 0
        self.misses = 0

    def __getstate__(self) -> dict:
        # sent to dask workers: the root and limit travel, the lock and counters are per process
        return {"root": self.root, "max_bytes": self.max_bytes}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["root"], state["max_bytes"])

    @property
    def enabled(self) -> bool:
        return self.root is not None and self.max_bytes > 0

    def _path(self, key: str) -> Path:
        assert self.root is not None
        return self.root / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        if not self.enabled:
            return None
        path = self._path(key)
        try:
            arr = load_npy(path)
        except (OSError, ValueError, EOFError):  # missing, truncated or empty: a miss
            self.misses += 1
            return None
        self._touch(path)
        self.hits += 1
        return arr

    @staticmethod
    def _touch(path: Path) -> None:
        """Mark ``path`` recently used; a file evicted right after it was read is still a hit."""
        try:
            os.utime(path)
        except OSError:
            pass

    def get_into(self, key: str, out: np.ndarray) -> bool:
        """Like :meth:`get` but fills ``out`` (same shape; values cast like ``astype``)
        without an intermediate array when the stored dtype matches; False on a miss."""
        if not self.enabled:
            return False
        path = self._path(key)
        try:
            if not load_npy_into(path, out):
                arr = load_npy(path)
                if arr.shape != out.shape:
                    self.hits += 1  # like get(): a readable file of another shape
                    return False
                out[...] = arr
        except (OSError, ValueError, EOFError):
            self.misses += 1
            return False
        self._touch(path)
        self.hits += 1
        return True

    def put(self, key: str, arr: np.ndarray) -> None:
        if not self.enabled:
            return
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with replacing(path, ".tmp.npy") as tmp:  # disk full mid-write: no temp left
                np.save(tmp, np.ascontiguousarray(arr), allow_pickle=False)
        except OSError as exc:
            log.warning("chunk cache write failed (%s); continuing without caching", exc)
            return
        with self._lock:
            if self._size is None:
                self._size = self.size_on_disk()
            else:
                self._size += arr.nbytes + 128
            over = self._size > self.max_bytes
        if over:
            self.evict()

    def _stored_files(self) -> list[tuple[float, int, Path]]:
        """(mtime, size, path) of every committed chunk file. Temporary files that other
        threads or processes are still writing (dot-prefixed) are skipped, and files that
        vanish while listing (evicted or renamed concurrently) are simply left out."""
        if self.root is None or not self.root.exists():
            return []
        files = []
        for p in self.root.glob("*/*.npy"):
            if p.name.startswith("."):
                continue
            try:
                st = p.stat()
            except OSError:
                continue
            files.append((st.st_mtime, st.st_size, p))
        return files

    def size_on_disk(self) -> int:
        return sum(size for _, size, _ in self._stored_files())

    def evict(self, target_fraction: float = 0.8) -> int:
        """Delete least recently used files until under ``target_fraction * max_bytes``."""
        if self.root is None:
            return 0
        with self._lock:
            files = sorted(self._stored_files())
            total = sum(f[1] for f in files)
            removed = 0
            for _, size, path in files:
                if total <= self.max_bytes * target_fraction:
                    break
                try:
                    path.unlink()
                    total -= size
                    removed += 1
                except OSError:
                    pass
            self._size = total
        return removed
