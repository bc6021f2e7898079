"""A netCDF result just written can be read back while a child process holds inherited
descriptors (issue 14.11: the ``NetCDF: HDF error`` flake of test_udf_exchange)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent("""
    import json, subprocess, sys, tempfile
    from pathlib import Path
    import numpy as np, pandas as pd, xarray as xr
    from jupyter_eo.backend.cube import set_crs
    from jupyter_eo.backend.formats import write_result
    from jupyter_eo.backend.formats.netcdf import NETCDF_WRITE_LOCK

    cube = set_crs(xr.DataArray(
        np.arange(2 * 3 * 4, dtype="float32").reshape(2, 3, 4), dims=("t", "y", "x"),
        coords={"t": pd.date_range("2024-01-01", periods=2), "y": [30.0, 20.0, 10.0],
                "x": [1.0, 2.0, 3.0, 4.0]}, name="B04"), "EPSG:32631")
    folder = Path(tempfile.mkdtemp())
    children = []
    real_close = __import__("netCDF4").Dataset.close

    def close_after_a_child_starts(self):
        # a UDF (or any) process started while the file is open inherits its descriptor
        children.append(subprocess.Popen(["sleep", "30"], close_fds=False))
        return real_close(self)

    __import__("netCDF4").Dataset.close = close_after_a_child_starts
    written = write_result(cube, "netCDF", {}, folder)
    __import__("netCDF4").Dataset.close = real_close
    try:
        with NETCDF_WRITE_LOCK, xr.open_dataset(written.path) as back:
            print(json.dumps({"values": back["B04"].values.tolist()}))
    except OSError as exc:
        print(json.dumps({"error": str(exc)}))
    finally:
        for child in children:
            child.kill()
            child.wait()
""")


def test_result_reads_back_while_a_child_process_holds_inherited_descriptors(
        tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "HDF5_USE_FILE_LOCKING"}
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         timeout=120, env=env, cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result.get("error") is None, result["error"]
    assert result["values"][1][2] == [20.0, 21.0, 22.0, 23.0]
