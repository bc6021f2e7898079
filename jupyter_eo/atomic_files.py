"""Atomic file replacement: write to a unique temporary beside the target, then rename."""
from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def replacing(target: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path next to ``target`` to write; when the block succeeds it is renamed
    onto ``target`` (readers see the old or the new file, never a partial one), otherwise it is
    removed. The name is dot-prefixed (so directory scans can skip writes in flight) and unique
    per call, so concurrent writers in any thread or process never share a temporary file.
    ``suffix`` ends the temporary's name (``.npy`` for ``np.save``, which would append it)."""
    tmp = target.with_name(f".{target.name[:200]}.{secrets.token_hex(6)}{suffix}")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
