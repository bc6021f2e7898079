"""Child-process side of run_udf: read a cube, run the UDF with openeo.udf, write the result.

Run as ``python -m jupyter_eo.backend.engine.udf_runner <workdir>``; the work directory holds
``udf.py``, ``context.json`` and the cube ``input_cube.npy``/``.json`` and receives the cube
``output_cube.npy``/``.json`` or ``output.json`` (see :mod:`.udf_runner_exchange`; no netCDF,
whose libraries are not thread-safe in the backend process).
"""
from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

INPUT_STEM = "input_cube"
OUTPUT_STEM = "output_cube"


def main(workdir: str) -> int:
    import xarray as xr
    from openeo.udf import UdfData, XarrayDataCube
    from openeo.udf.run_code import run_udf_code

    from jupyter_eo.backend.engine.udf_runner_exchange import load_cube, save_cube

    folder = Path(workdir)
    code = (folder / "udf.py").read_text("utf-8")
    context = json.loads((folder / "context.json").read_text("utf-8"))
    cube, _ = load_cube(folder, INPUT_STEM)
    data = UdfData(datacube_list=[XarrayDataCube(cube)], user_context=context)
    result = run_udf_code(code=code, data=data)
    if isinstance(result, UdfData):
        cubes = result.get_datacube_list() or []
        if cubes:
            save_cube(cubes[0].get_array(), folder, OUTPUT_STEM)
            return 0
        structured = result.get_structured_data_list() or []
        value = structured[0].data if structured else None
        (folder / "output.json").write_text(json.dumps(value), "utf-8")
        return 0
    if isinstance(result, XarrayDataCube):
        save_cube(result.get_array(), folder, OUTPUT_STEM)
        return 0
    if isinstance(result, xr.DataArray):
        save_cube(result, folder, OUTPUT_STEM)
        return 0
    (folder / "output.json").write_text(json.dumps(result), "utf-8")
    return 0


def exit_now(workdir: str) -> None:
    """Run :func:`main` and leave with ``os._exit``: no interpreter teardown, which a UDF's
    leftover threads, or forked copies competing for the CPU (a fork bomb), could drag out past
    the time limit. Processes the UDF forks run this too when its code raises in them."""
    try:
        code = main(workdir)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if not isinstance(exc.code, (int, type(None))):
            print(exc.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - the traceback is the UDF's error message
        traceback.print_exc()
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":
    exit_now(sys.argv[1])
