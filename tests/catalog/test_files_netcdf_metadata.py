"""NetCDF/Zarr files as written by xarray + rioxarray are collections with valid metadata: JSON
without NaN, and the file's CRS (from its CF grid mapping)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from jupyter_eo.backend.catalog.files import file_collections


def test_float32_netcdf_with_nan_fill_value_has_json_metadata(tmp_path: Path) -> None:
    """float32 variables get _FillValue = NaN; GET /collections answered 500 for it."""
    y, x = np.linspace(5_100_000, 5_099_000, 8), np.linspace(650_000, 651_000, 8)
    data = np.ones((2, 8, 8), "float32")
    import rioxarray  # noqa: F401  (projected coordinates need their CRS)

    xr.Dataset({"t2m": (("time", "y", "x"), data)},
               coords={"time": pd.date_range("2023-01-01", periods=2), "y": y, "x": x},
               ).rio.write_crs("EPSG:32632").to_netcdf(tmp_path / "temperature.nc")
    (collection,) = file_collections(tmp_path)
    band = collection.metadata()["summaries"]["eo:bands"][0]
    assert band["name"] == "t2m" and band.get("nodata") is None
    json.dumps(collection.metadata(), allow_nan=False)  # what the handler does


def test_projected_netcdf_and_zarr_keep_their_crs(tmp_path: Path) -> None:
    """CF grid mapping written by rioxarray (a spatial_ref variable): the collection is in that
    CRS and its extent in lon/lat (it was taken as EPSG:4326, so no request ever intersected)."""
    import rioxarray  # noqa: F401

    y, x = np.linspace(5_100_000, 5_099_000, 8), np.linspace(650_000, 651_000, 8)
    ds = xr.Dataset({"t2m": (("time", "y", "x"), np.ones((2, 8, 8), "float32"))},
                    coords={"time": pd.date_range("2023-01-01", periods=2), "y": y, "x": x},
                    ).rio.write_crs("EPSG:32632")
    ds.to_netcdf(tmp_path / "utm.nc")
    ds.to_zarr(tmp_path / "utm_store.zarr")
    collections = {c.id: c for c in file_collections(tmp_path)}
    assert set(collections) == {"utm", "utm_store"}
    for collection in collections.values():
        assert collection.crs.to_epsg() == 32632
        (west, south, east, north), = collection.metadata()["extent"]["spatial"]["bbox"]
        assert 10.9 < west < east < 11.0 and 46.0 < south < north < 46.1, (west, south)
