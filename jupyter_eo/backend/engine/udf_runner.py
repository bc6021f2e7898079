"""Child-process side of run_udf: read a cube, run the UDF with openeo.udf, write the result.

Run as ``python -m jupyter_eo.backend.engine.udf_runner <workdir>``; the work directory holds
``udf.py``, ``context.json`` and ``input.nc`` and receives ``output.nc`` or ``output.json``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def main(workdir: str) -> int:
    import xarray as xr
    from openeo.udf import UdfData, XarrayDataCube
    from openeo.udf.run_code import run_udf_code

    folder = Path(workdir)
    code = (folder / "udf.py").read_text("utf-8")
    context = json.loads((folder / "context.json").read_text("utf-8"))
    cube = xr.open_dataarray(folder / "input.nc").load()
    data = UdfData(datacube_list=[XarrayDataCube(cube)], user_context=context)
    result = run_udf_code(code=code, data=data)
    if isinstance(result, UdfData):
        cubes = result.get_datacube_list() or []
        if cubes:
            cubes[0].get_array().to_netcdf(folder / "output.nc")
            return 0
        structured = result.get_structured_data_list() or []
        value = structured[0].data if structured else None
        (folder / "output.json").write_text(json.dumps(value), "utf-8")
        return 0
    if isinstance(result, XarrayDataCube):
        result.get_array().to_netcdf(folder / "output.nc")
        return 0
    if isinstance(result, xr.DataArray):
        result.to_netcdf(folder / "output.nc")
        return 0
    (folder / "output.json").write_text(json.dumps(result), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
