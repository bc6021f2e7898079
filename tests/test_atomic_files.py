"""jupyter_eo.atomic_files.replacing: all-or-nothing replacement, unique temporaries."""
from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_eo.atomic_files import replacing


def test_success_replaces_and_failure_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "data.bin"
    target.write_bytes(b"old")
    with pytest.raises(OSError):
        with replacing(target) as tmp:
            tmp.write_bytes(b"half")
            raise OSError("disk full")
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["data.bin"]
    with replacing(target) as tmp:
        tmp.write_bytes(b"new")
        assert target.read_bytes() == b"old"  # readers see the old file until the rename
    assert target.read_bytes() == b"new" and [p.name for p in tmp_path.iterdir()] == ["data.bin"]


def test_temporaries_are_hidden_unique_and_keep_the_suffix(tmp_path: Path) -> None:
    target = tmp_path / "chunk.npy"
    with replacing(target, ".tmp.npy") as first, replacing(target, ".tmp.npy") as second:
        assert first != second
        assert first.name.startswith(".") and first.name.endswith(".tmp.npy")
        first.write_bytes(b"1")
        second.write_bytes(b"2")
    assert target.read_bytes() == b"1"  # the outer block finished last
