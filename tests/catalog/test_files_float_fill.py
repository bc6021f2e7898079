"""A NetCDF written by xarray (float32 variables get _FillValue = NaN) is a collection whose
metadata is valid JSON: GET /collections answered 500 for it ("Out of range float values")."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from jupyter_eo.backend.catalog.files import file_collections


def test_float32_netcdf_with_nan_fill_value_has_json_metadata(tmp_path: Path) -> None:
    y, x = np.linspace(5_100_000, 5_099_000, 8), np.linspace(650_000, 651_000, 8)
    data = np.ones((2, 8, 8), "float32")
    xr.Dataset({"t2m": (("time", "y", "x"), data)},
               coords={"time": pd.date_range("2023-01-01", periods=2), "y": y, "x": x},
               ).to_netcdf(tmp_path / "temperature.nc")
    (collection,) = file_collections(tmp_path)
    band = collection.metadata()["summaries"]["eo:bands"][0]
    assert band["name"] == "t2m" and band.get("nodata") is None
    json.dumps(collection.metadata(), allow_nan=False)  # what the handler does
