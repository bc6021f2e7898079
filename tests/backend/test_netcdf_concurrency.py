"""netCDF results written from several threads at once (parallel jobs / sync requests): the
netCDF-C/HDF5 libraries are not thread-safe, so writes must never overlap."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from jupyter_eo.backend.cube import set_crs
from jupyter_eo.backend.formats import write_result


def _cube(seed: int) -> xr.DataArray:
    data = np.random.default_rng(seed).random((2, 2, 60, 50)).astype("float32")
    cube = xr.DataArray(data, dims=("t", "bands", "y", "x"), coords={
        "t": pd.to_datetime(["2024-01-01", "2024-01-11"]).values, "bands": ["B04", "B08"],
        "y": 5_600_000.0 - 10 * np.arange(60), "x": 500_000.0 + 10 * np.arange(50)})
    return set_crs(cube, "EPSG:32631")


def test_simultaneous_netcdf_writes_never_overlap(tmp_path: Path, monkeypatch) -> None:
    real = xr.Dataset.to_netcdf
    lock = threading.Lock()
    active, peak = [0], [0]

    def counting_to_netcdf(self, *args, **kwargs):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            threading.Event().wait(0.2)  # a wide window for a second writer to overlap
            return real(self, *args, **kwargs)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(xr.Dataset, "to_netcdf", counting_to_netcdf)
    start = threading.Barrier(3, timeout=10)
    errors: list[BaseException] = []

    def write(i: int) -> None:
        start.wait()
        try:
            write_result(_cube(i), "netCDF", {}, tmp_path / str(i))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and peak[0] == 1


@pytest.mark.parametrize("round_", range(2))
def test_parallel_netcdf_results_are_complete_and_correct(tmp_path: Path, round_: int) -> None:
    """Real concurrent writes: without the lock, a heavier version of this crashed the whole
    process (SIGSEGV/SIGBUS) in 2 of 3 runs; every file must read back complete."""
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for j in range(3):
                write_result(_cube(10 * i + j), "netCDF", {}, tmp_path / f"{i}-{j}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    for i in range(4):
        for j in range(3):
            with xr.open_dataset(tmp_path / f"{i}-{j}" / "result.nc") as ds:
                expected = _cube(10 * i + j)
                np.testing.assert_array_equal(ds["B08"].values, expected.sel(bands="B08").values)
