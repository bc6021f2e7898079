"""`jupyter-eo notebooks DIR` copies every example notebook (and the files they use), keeping edits."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jupyter_eo.cli", "notebooks", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=60,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})


def test_copies_every_example_and_keeps_user_edits(tmp_path: Path) -> None:
    expected = sorted(p.relative_to(REPO / "notebooks") for p in (REPO / "notebooks").rglob("*")
                      if p.is_file() and ".ipynb_checkpoints" not in p.parts
                      and "__pycache__" not in p.parts)
    assert Path("quickstart.ipynb") in expected and len(expected) >= 2
    dest = tmp_path / "work" / "examples"
    first = _run(str(dest), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    copied = sorted(p.relative_to(dest) for p in dest.rglob("*") if p.is_file())
    assert copied == expected
    for relative in expected:
        assert (dest / relative).read_bytes() == (REPO / "notebooks" / relative).read_bytes()
    assert f"{len(expected)} file(s) copied" in first.stdout

    (dest / "quickstart.ipynb").write_text("my edits")
    again = _run(str(dest), cwd=tmp_path)
    assert again.returncode == 0 and "0 file(s) copied" in again.stdout
    assert (dest / "quickstart.ipynb").read_text() == "my edits"
    forced = _run(str(dest), "--overwrite", cwd=tmp_path)
    assert forced.returncode == 0
    assert (dest / "quickstart.ipynb").read_bytes() == (REPO / "notebooks/quickstart.ipynb").read_bytes()


def test_unwritable_destination_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = _run(str(blocker / "sub"), cwd=tmp_path)
    assert result.returncode == 1 and "jupyter-eo notebooks:" in result.stderr
    assert "Traceback" not in result.stderr
