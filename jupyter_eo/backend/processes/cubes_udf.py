"""run_udf: Python UDFs (openeo.udf signatures) in a separate process with time/memory limits."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from jupyter_eo.backend.cube import X, Y, get_crs, set_crs
from jupyter_eo.backend.engine.udf_runner import INPUT_STEM, OUTPUT_STEM
from jupyter_eo.backend.engine.udf_runner_exchange import load_cube, save_cube
from jupyter_eo.backend.processes.cubes_common import as_cube
from jupyter_eo.backend.processes.registry import ARRAY_DIM, ARRAY_SOURCE_ATTR, process
from jupyter_eo.errors import FeatureUnsupported, OpenEOError, ProcessParameterInvalid


# credentials of cloud storage, openEO clients and jupyter_eo itself stay out of UDF processes
SECRET_ENV_PREFIXES = ("AWS_", "OPENEO_", "JUPYTER_EO_")


def _limit_memory(megabytes: int):
    def apply() -> None:  # runs in the child before exec
        import resource

        limit = megabytes * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return apply


def _code(udf: str, ctx: Any) -> str:
    if "\n" in udf or "def " in udf:
        return udf
    workspace = ctx.eval.workspace
    if workspace is not None:
        path = (Path(workspace) / udf).resolve()
        if Path(workspace).resolve() in path.parents and path.is_file():
            return path.read_text("utf-8")
    raise ProcessParameterInvalid("udf must be Python code (or a file in your workspace).")


@process("run_udf")
def run_udf(data: Any, udf: str, runtime: str, version: str | None = None,
            context: Any = None, *, ctx: Any) -> Any:
    """Run a Python UDF on a cube in a child process (single-user back-ends only)."""
    if not ctx.eval.udf_enabled:
        raise FeatureUnsupported("UDFs are disabled on this back-end (multi-user mode).")
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
        folder = Path(tmp)
        (folder / "udf.py").write_text(code, "utf-8")
        (folder / "context.json").write_text(json.dumps(context or {}, default=str), "utf-8")
        # .npy + JSON, not netCDF: HDF5 is not thread-safe and other threads of this process
        # may be writing netCDF results meanwhile
        save_cube(cube.rename(cube.name or "data"), folder, INPUT_STEM)
        env = {k: v for k, v in os.environ.items() if not k.startswith(SECRET_ENV_PREFIXES)}
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "jupyter_eo.backend.engine.udf_runner", tmp],
                capture_output=True, text=True, timeout=ctx.eval.udf_timeout, env=env,
                cwd=tmp, preexec_fn=_limit_memory(ctx.eval.udf_memory_mb))
        except subprocess.TimeoutExpired as exc:
            raise OpenEOError(f"The UDF did not finish within {ctx.eval.udf_timeout:.0f} s.",
                              code="UdfTimeout", status=400) from exc
        if proc.returncode != 0:
            tail = (proc.stderr or "").strip().splitlines()[-3:]
            raise OpenEOError("The UDF failed: " + " | ".join(tail), code="UdfError",
                              status=400)
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
