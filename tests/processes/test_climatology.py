"""climatological_normal and anomaly on small monthly cubes."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from procs_testlib import call_process

from jupyter_eo.errors import OpenEOError


def _monthly_cube() -> xr.DataArray:
    times = pd.date_range("1980-12-01", "1983-12-01", freq="MS")  # Dec 1980 .. Dec 1983
    rng = np.random.default_rng(3)
    values = rng.normal(size=(len(times), 2, 3)).astype(np.float32)
    values[5, 0, 0] = np.nan
    return xr.DataArray(values, dims=("t", "y", "x"), coords={"t": times, "y": [1.0, 0.0],
                                                               "x": [0.0, 1.0, 2.0]})


def test_monthly_normals() -> None:
    cube = _monthly_cube()
    normals = call_process("climatological_normal", {"data": cube, "period": "month",
                                                     "climatology_period": ["1981", "1983"]})
    assert list(normals["t"].values) == [f"{m:02d}" for m in range(1, 13)]
    assert normals.dims == ("t", "y", "x") and normals.dtype == np.float32
    in_period = cube.sel(t=slice("1981-01-01", "1983-12-31"))
    expected = in_period.groupby("t.month").mean("t").values
    np.testing.assert_allclose(normals.values, expected, rtol=1e-6)


def test_seasonal_normals_use_december_of_previous_year() -> None:
    cube = _monthly_cube()
    normals = call_process("climatological_normal", {"data": cube, "period": "season",
                                                     "climatology_period": [1981, 1983]})
    assert list(normals["t"].values) == ["djf", "mam", "jja", "son"]
    winter = cube.sel(t=[t for t in cube["t"].values
                         if pd.Timestamp(t).month in (12, 1, 2) and
                         pd.Timestamp("1980-12-01") <= pd.Timestamp(t) <= pd.Timestamp("1983-02-01")])
    assert winter.sizes["t"] == 9  # Dec 1980 included, Dec 1983 (incomplete season) excluded
    np.testing.assert_allclose(normals.sel(t="djf").values, winter.mean("t").values, rtol=1e-6)


def test_anomaly_with_aggregated_labels_and_datetimes() -> None:
    cube = _monthly_cube()
    normals = call_process("climatological_normal", {"data": cube, "period": "month",
                                                     "climatology_period": [1981, 1983]})
    anomalies = call_process("anomaly", {"data": cube, "normals": normals, "period": "month"})
    assert anomalies.dims == cube.dims
    np.testing.assert_allclose(anomalies.isel(t=3).values,
                               cube.isel(t=3).values - normals.sel(t="03").values, rtol=1e-6)
    labelled = cube.assign_coords(t=[pd.Timestamp(t).strftime("%Y-%m") for t in cube["t"].values])
    again = call_process("anomaly", {"data": labelled, "normals": normals, "period": "month"})
    np.testing.assert_allclose(again.values, anomalies.values, rtol=1e-6)
    single = normals.mean("t").expand_dims(t=["climatology-period"])
    flat = call_process("anomaly", {"data": cube, "normals": single, "period": "single-period"})
    np.testing.assert_allclose(flat.values, (cube - single.isel(t=0)).values, rtol=1e-6)


def test_climatology_errors() -> None:
    cube = _monthly_cube()
    with pytest.raises(OpenEOError):
        call_process("climatological_normal", {"data": cube, "period": "month",
                                               "climatology_period": [1990, 2000]})
    normals = call_process("climatological_normal", {"data": cube, "period": "season",
                                                     "climatology_period": [1981, 1983]})
    with pytest.raises(OpenEOError):
        call_process("anomaly", {"data": cube, "normals": normals, "period": "month"})
