"""A UDF that leaves a setsid'ed grandchild behind, and finding that grandchild by its marker."""
from __future__ import annotations

from pathlib import Path

_SPAWN_ORPHAN = """
import os, sys, time
from openeo.udf import XarrayDataCube
def apply_datacube(cube: XarrayDataCube, context: dict) -> XarrayDataCube:
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)",
                                      context["marker"]])
        os._exit(0)
"""


def orphan_udf(then: str) -> str:
    """UDF code that starts a detached grandchild sleeping with ``context["marker"]`` in its
    command line, then runs ``then`` (lines indented for the function body)."""
    return _SPAWN_ORPHAN + then


def marker_pids(marker: str) -> list[int]:
    """Pids of the processes whose command line contains ``marker``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids
