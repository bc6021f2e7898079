"""netCDF writer: CF conventions, one variable per band, time coordinate, CRS grid mapping."""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from jupyter_eo.backend.cube import BANDS, T, X, Y, get_crs
from jupyter_eo.backend.formats.common import (WrittenFile, drop_single_extra_dims,
                                               raster_metadata, single_band_name)

MEDIA_TYPE = "application/x-netcdf"
PARAMETERS: dict[str, Any] = {}

# The netCDF-C/HDF5 libraries behind the netCDF4 engine are not thread-safe, and xarray's
# own per-operation locks leave gaps (e.g. variable creation): two results written at once
# (parallel batch jobs, sync requests) crashed the whole backend with SIGSEGV/SIGBUS.
# Every netCDF write in this process holds this lock for the file's whole lifetime.
NETCDF_WRITE_LOCK = threading.Lock()

# HDF5 flock()s every file it opens, and a lock belongs to the open file *description*: a
# process started meanwhile (a UDF, any subprocess) inherits the descriptor, so the lock of a
# result just written and closed here lives on in the child, and re-opening that file fails
# with "NetCDF: HDF error" (the test_udf_exchange flake, reproduced in
# tests/backend/test_netcdf_file_locking.py). Every netCDF file of the backend is private to
# one request and written under NETCDF_WRITE_LOCK, so HDF5's inter-process locking protects
# nothing here; it is switched off unless the environment says otherwise. HDF5 reads the
# variable at each file open.
os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")


def _netcdf_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    """Attributes netCDF can store (strings, numbers, arrays); others are dropped."""
    out = {}
    for key, value in attrs.items():
        if isinstance(value, (str, int, float, np.number, np.ndarray, bytes)) and not isinstance(
                value, bool):
            out[str(key)] = value
        elif isinstance(value, (list, tuple)) and all(
                isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in value):
            out[str(key)] = list(value)
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
            out[str(key)] = ", ".join(value)
    return out


def to_dataset(cube: xr.DataArray) -> xr.Dataset:
    """A CF-style Dataset: band variables over (t, y, x), coordinate attributes, grid mapping."""
    crs = get_crs(cube)
    cube = cube.drop_vars([c for c in ("spatial_ref", "crs") if c in cube.coords])
    cube.attrs = _netcdf_attrs(cube.attrs)
    for name in list(cube.coords):
        cube[name].attrs = _netcdf_attrs(cube[name].attrs)
    if BANDS in cube.dims:
        names = ([str(b) for b in cube[BANDS].values] if BANDS in cube.coords
                 else [f"band_{i + 1}" for i in range(cube.sizes[BANDS])])
        variables = {name: cube.isel({BANDS: i}, drop=True) for i, name in enumerate(names)}
    else:
        variables = {single_band_name(cube): cube}
    ds = xr.Dataset(variables)
    order = [d for d in (T, Y, X) if d in ds.dims]
    ds = ds.transpose(*order, ...)
    if T in ds.coords and _labels_are_times(ds[T].values):
        times = pd.to_datetime(np.asarray(ds[T].values))
        if getattr(times, "tz", None) is not None:
            times = times.tz_convert("UTC").tz_localize(None)
        ds = ds.assign_coords({T: times.values})
        ds[T].attrs.update(standard_name="time", axis="T", long_name="time")
        ds[T].encoding.update(units="days since 1970-01-01T00:00:00", calendar="standard")
    if crs is not None:
        import rioxarray  # noqa: F401

        ds = ds.rio.write_crs(crs, grid_mapping_name="spatial_ref")
        ds = ds.rio.write_coordinate_system()
        for name in ds.data_vars:
            ds[name].attrs.pop("grid_mapping", None)
            ds[name].encoding["grid_mapping"] = "spatial_ref"
    if X in ds.coords:
        ds[X].attrs.setdefault("axis", "X")
    if Y in ds.coords:
        ds[Y].attrs.setdefault("axis", "Y")
    for name in ds.data_vars:
        ds[name].attrs.pop("_FillValue", None)
        if ds[name].dtype.kind == "f":
            ds[name].encoding["_FillValue"] = np.nan
        ds[name].attrs.setdefault("long_name", name)
    ds.attrs.update(Conventions="CF-1.9", source="jupyter_eo embedded openEO backend")
    return ds


def write(cube: xr.DataArray, path: Path, options: dict[str, Any]) -> WrittenFile:
    """Write ``cube`` as a CF netCDF-4 file."""
    cube = drop_single_extra_dims(cube, "netCDF")
    ds = to_dataset(cube)
    with NETCDF_WRITE_LOCK:  # also covers computing dask inputs: streamed, memory-bounded
        ds.to_netcdf(path, engine="netcdf4", format="NETCDF4")
    return WrittenFile(path, MEDIA_TYPE, raster_metadata(cube))


def _labels_are_times(labels: np.ndarray) -> bool:
    """True for datetime labels (or date strings); numeric labels, e.g. the parameter index
    ``apply_dimension`` leaves on ``t`` after ``fit_curve``, stay numbers in the file."""
    values = np.asarray(labels)
    if np.issubdtype(values.dtype, np.datetime64):
        return True
    if np.issubdtype(values.dtype, np.number) or np.issubdtype(values.dtype, np.bool_):
        return False
    try:
        pd.to_datetime(values, format="ISO8601")
    except (ValueError, TypeError):
        return False
    return True
