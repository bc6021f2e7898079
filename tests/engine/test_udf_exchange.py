"""run_udf exchanges cubes with its child as .npy + JSON (never netCDF, which is not
thread-safe): exact round trips, CRS kept, and UDFs running next to netCDF result writes."""
from __future__ import annotations

import threading
import traceback
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from pyproj import CRS

from jupyter_eo.backend.cube import get_crs, set_crs
from jupyter_eo.backend.engine import evaluate
from jupyter_eo.backend.engine.udf_runner_exchange import load_cube, save_cube
from jupyter_eo.backend.formats import write_result
from jupyter_eo.backend.formats.netcdf import NETCDF_WRITE_LOCK

from .conftest import as_float
from .graphs import load, ref

# the UDF also checks its own work folder: no netCDF file is used for the exchange
UDF = """
from pathlib import Path
from openeo.udf import XarrayDataCube

def apply_datacube(cube: XarrayDataCube, context: dict) -> XarrayDataCube:
    used = sorted(p.name for p in Path(".").iterdir())
    assert not [n for n in used if n.endswith(".nc")], used
    array = cube.get_array()
    assert str(array.t.dtype).startswith("datetime64"), array.t.dtype
    return XarrayDataCube(array * context["factor"])
"""


def graph(udf: str = UDF, factor: float = 3) -> dict:
    return {"l": load(["B04", "B08"]), "u": {"process_id": "run_udf", "arguments": {
        "data": ref("l"), "udf": udf, "runtime": "Python", "context": {"factor": factor}},
        "result": True}}


def test_round_trip_keeps_values_coords_attrs_and_crs(tmp_path: Path) -> None:
    data = np.arange(2 * 2 * 3 * 4, dtype="float32").reshape(2, 2, 3, 4)
    data[0, 0, 0, 0] = np.nan
    cube = xr.DataArray(data, dims=("t", "bands", "y", "x"), name="data", coords={
        "t": np.array(["2024-01-01T10:20:30.123456789", "2024-02-01"], "datetime64[ns]"),
        "bands": ["B04", "B08"], "y": 5_600_000.5 - 10 * np.arange(3),
        "x": 500_000.1 + 10 * np.arange(4), "label": ("x", ["a", "b", "c", "d"]),
        "when": np.datetime64("2024-03-01T00:00:00", "ns")},
        attrs={"nodata": 0, "title": "a cube", "scale": np.float32(0.5),
               "offsets": np.array([1, 2]), "dropped": object()})
    cube = set_crs(cube, "EPSG:32631")
    save_cube(cube, tmp_path, "c")
    assert not list(tmp_path.glob("*.nc"))
    back, wkt = load_cube(tmp_path, "c")
    assert CRS.from_wkt(wkt) == CRS.from_epsg(32631)
    assert back.name == "data" and back.dims == cube.dims and back.dtype == cube.dtype
    np.testing.assert_array_equal(back.values, cube.values)
    np.testing.assert_array_equal(back.t.values, cube.t.values)  # nanoseconds kept
    assert back.t.dtype == np.dtype("datetime64[ns]")
    assert back.when.values == cube.when.values and back.when.dims == ()
    assert list(back.bands.values) == ["B04", "B08"] and back.bands.dtype.kind == "U"
    np.testing.assert_array_equal(back.x.values, cube.x.values)  # exact floats
    np.testing.assert_array_equal(back.y.values, cube.y.values)
    assert list(back.label.values) == ["a", "b", "c", "d"] and back.label.dims == ("x",)
    assert back.attrs == {"nodata": 0, "title": "a cube", "scale": 0.5, "offsets": [1, 2]}
    assert "spatial_ref" not in back.coords  # the CRS comes back as WKT, set by the caller


def test_object_arrays_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        save_cube(xr.DataArray(np.array(["a", None], dtype=object), dims=("x",)), tmp_path, "c")


def test_run_udf_keeps_time_and_crs(ctx, cube) -> None:
    ctx.udf_enabled = True
    out = evaluate(graph(), ctx)
    source = cube.sel(bands=["B04", "B08"])
    np.testing.assert_allclose(out.values, 3 * as_float(source.values), equal_nan=True)
    np.testing.assert_array_equal(out.t.values, cube.t.values)
    assert list(out.bands.values) == ["B04", "B08"]
    assert get_crs(out) == get_crs(cube)


def test_udf_running_next_to_netcdf_result_writes(ctx, cube, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """UDFs run while other threads write netCDF results; the UDF's thread itself never
    touches netCDF (HDF5 is not thread-safe: overlapping use could crash the process)."""
    ctx.udf_enabled = True
    netcdf_threads: list[int] = []
    for owner, name in ((xr.Dataset, "to_netcdf"), (xr.DataArray, "to_netcdf"),
                        (xr, "open_dataarray"), (xr, "open_dataset"), (xr, "load_dataarray")):
        real = getattr(owner, name)

        def spy(*args, _real=real, **kwargs):  # type: ignore[no-untyped-def]
            netcdf_threads.append(threading.get_ident())
            return _real(*args, **kwargs)

        monkeypatch.setattr(owner, name, spy)
    stop = threading.Event()
    errors: list[BaseException] = []
    written = [0]

    def write_results(i: int) -> None:
        try:
            j = 0
            while not stop.is_set():
                target = tmp_path / f"w{i}-{j}"
                write_result(cube.astype("float32"), "netCDF", {}, target)
                with NETCDF_WRITE_LOCK, xr.open_dataset(target / "result.nc") as ds:
                    # read back (under the backend's netCDF lock): a complete file
                    assert ds["B04"].shape == (cube.sizes["t"], cube.sizes["y"], cube.sizes["x"])
                written[0] += 1
                j += 1
        except BaseException as exc:
            errors.append(exc)

    writers = [threading.Thread(target=write_results, args=(i,)) for i in range(2)]
    for thread in writers:
        thread.start()
    started = time.monotonic()
    try:
        for factor in (2, 3, 4):
            out = evaluate(graph(factor=factor), ctx)
            np.testing.assert_allclose(out.values,
                                       factor * as_float(cube.sel(bands=["B04", "B08"]).values),
                                       equal_nan=True)
    finally:
        stop.set()
        for thread in writers:
            thread.join(60)
    print(f"3 UDF runs in {time.monotonic() - started:.1f} s next to {written[0]} netCDF writes")
    assert errors == [], "".join(traceback.format_exception(errors[0]))
    assert written[0] > 0
    assert threading.get_ident() not in netcdf_threads


def test_unreadable_udf_output_is_an_openeo_error(ctx) -> None:
    """A UDF that leaves a broken result cube behind gets UdfError, not a server error."""
    from jupyter_eo.errors import OpenEOError

    ctx.udf_enabled = True
    broken = UDF.replace('    return XarrayDataCube(array * context["factor"])',
                         '    import sys\n'
                         '    Path("output_cube.json").write_text("{not json")\n'
                         '    sys.exit(0)')
    with pytest.raises(OpenEOError) as info:
        evaluate(graph(broken), ctx)
    assert info.value.code == "UdfError" and "could not be read" in info.value.message
