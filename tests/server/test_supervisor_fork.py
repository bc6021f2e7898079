"""The embedded backend child gets its parent-death signal without loading libraries after fork."""
from __future__ import annotations

import subprocess
import sys

import pytest

from jupyter_eo.server import supervisor

CHILD = ("import ctypes; libc = ctypes.CDLL('libc.so.6'); v = ctypes.c_int(); "
         "libc.prctl(2, ctypes.byref(v)); print(v.value)")  # 2 = PR_GET_PDEATHSIG


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux-only")
def test_child_gets_sigterm_on_parent_death_without_dlopen_after_fork(monkeypatch) -> None:
    assert supervisor._libc() is not None  # loaded in the parent, as _start does before forking

    def no_dlopen(*args, **kwargs):  # a dlopen between fork and exec can deadlock
        raise AssertionError("libc loaded in the forked child")

    monkeypatch.setattr(supervisor.ctypes, "CDLL", no_dlopen)
    done = subprocess.run([sys.executable, "-c", CHILD], preexec_fn=supervisor._die_with_parent,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == 15  # SIGTERM
