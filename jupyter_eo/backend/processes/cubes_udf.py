"""run_udf: Python UDFs (openeo.udf signatures) in a sandboxed child process with limits."""
from __future__ import annotations

import json
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from jupyter_eo.backend.cube import X, Y, get_crs, set_crs
from jupyter_eo.backend.engine.udf_runner import INPUT_STEM, OUTPUT_STEM
from jupyter_eo.backend.engine.udf_runner_exchange import load_cube, save_cube
from jupyter_eo.backend.engine.udf_sandbox import (EXIT_SETUP, EXIT_TIMEOUT, SETUP_PREFIX,
                                                   UdfLimits, run_sandboxed, run_unsandboxed,
                                                   sandbox_problem)
from jupyter_eo.backend.processes.cubes_common import as_cube
from jupyter_eo.backend.processes.registry import ARRAY_DIM, ARRAY_SOURCE_ATTR, process
from jupyter_eo.errors import FeatureUnsupported, OpenEOError, ProcessParameterInvalid


def _code(udf: str, ctx: Any) -> str:
    if "\n" in udf or "def " in udf:
        return udf
    workspace = ctx.eval.workspace
    if workspace is not None:
        path = (Path(workspace) / udf).resolve()
        if Path(workspace).resolve() in path.parents and path.is_file():
            return path.read_text("utf-8")
    raise ProcessParameterInvalid("udf must be Python code (or a file in your workspace).")


def _check_exit(code: int, stderr: str, limits: UdfLimits) -> None:
    """Turn the UDF process's exit into a clear openEO error (nothing for success)."""
    if code == 0:
        return
    if code == EXIT_TIMEOUT:
        raise OpenEOError(f"The UDF did not finish within {limits.timeout_s:.0f} s.",
                          code="UdfTimeout", status=400)
    tail = " | ".join(stderr.strip().splitlines()[-3:])
    if code == EXIT_SETUP and SETUP_PREFIX in stderr:
        raise OpenEOError(f"The UDF sandbox could not be set up: {tail}", code="Internal",
                          status=500)
    if code > 128:
        name = signal.Signals(code - 128).name if code - 128 in signal.valid_signals() \
            else f"signal {code - 128}"
        raise OpenEOError(f"The UDF was killed ({name}): it exceeded a limit (memory "
                          f"{limits.memory_mb} MB per process, {limits.processes} processes, "
                          f"CPU time or file size).", code="UdfError", status=400)
    raise OpenEOError("The UDF failed: " + tail, code="UdfError", status=400)


@process("run_udf")
def run_udf(data: Any, udf: str, runtime: str, version: str | None = None,
            context: Any = None, *, ctx: Any) -> Any:
    """Run a Python UDF on a cube in a sandboxed child process (see udf_sandbox)."""
    if not ctx.eval.udf_enabled:
        raise FeatureUnsupported("UDFs are disabled on this back-end (multi-user mode).")
    if ctx.eval.udf_sandboxed and sandbox_problem():
        raise FeatureUnsupported("UDFs are enabled but cannot run: no sandbox is available "
                                 f"on this machine ({sandbox_problem()}).")
    if str(runtime).lower() != "python":
        raise OpenEOError(f"UDF runtime {runtime!r} is not supported; use Python.",
                          code="InvalidRuntime", status=400)
    code = _code(str(udf), ctx)
    cube = as_cube(data)
    # In a dimension callback the UDF sees the cube's real dimension name (e.g. ``t``).
    source = cube.attrs.get(ARRAY_SOURCE_ATTR)
    dim_name = source if isinstance(source, str) and source not in cube.dims else "__udf_array__"
    renamed = ARRAY_DIM in cube.dims
    if renamed:
        cube = cube.rename({ARRAY_DIM: dim_name})
    crs = get_crs(cube)
    cube = cube.drop_vars([c for c in cube.coords if c == "spatial_ref"]).compute()
    cube.attrs = {k: v for k, v in cube.attrs.items()
                  if isinstance(v, (str, int, float, np.number)) and k != ARRAY_SOURCE_ATTR}
    with tempfile.TemporaryDirectory(prefix="jeo-udf-") as tmp:
        folder = Path(tmp) / "work"  # the UDF's only writable folder
        folder.mkdir()
        (folder / "udf.py").write_text(code, "utf-8")
        (folder / "context.json").write_text(json.dumps(context or {}, default=str), "utf-8")
        # .npy + JSON, not netCDF: HDF5 is not thread-safe and other threads of this process
        # may be writing netCDF results meanwhile
        save_cube(cube.rename(cube.name or "data"), folder, INPUT_STEM)
        limits = UdfLimits(timeout_s=ctx.eval.udf_timeout, memory_mb=ctx.eval.udf_memory_mb)
        argv = [sys.executable, "-I", "-m", "jupyter_eo.backend.engine.udf_runner", str(folder)]
        run = run_sandboxed if ctx.eval.udf_sandboxed else run_unsandboxed
        _check_exit(*run(str(folder), argv, limits), limits)
        if (folder / f"{OUTPUT_STEM}.json").exists():
            try:
                out, out_crs = load_cube(folder, OUTPUT_STEM)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise OpenEOError(f"The UDF's result cube could not be read: {exc}",
                                  code="UdfError", status=400) from exc
            if renamed and dim_name in out.dims:
                out = out.rename({dim_name: ARRAY_DIM})
            out.name = None
            crs = out_crs or crs  # the UDF's own CRS, else the input's for a raster result
            if crs is not None and X in out.dims and Y in out.dims:
                out = set_crs(out, crs)
            return out
        return json.loads((folder / "output.json").read_text("utf-8"))
