"""The official openeo client against the embedded backend: fit_curve/predict_curve (array
form in apply_dimension and the client's cube methods) and inspect."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from backend_testlib import PASSWORD, USER, ArrayCatalog, make_config
from jupyter_eo.backend.cube import set_crs
from jupyter_eo.backend.testing import serve_in_thread

YEAR = 31_557_600.0
DATES = pd.date_range("2023-01-05", periods=30, freq="24D")
NY, NX = 20, 24


def _truth() -> np.ndarray:
    rng = np.random.default_rng(7)
    return np.stack([rng.uniform(2000, 4000, (NY, NX)), rng.uniform(-800, 800, (NY, NX)),
                     rng.uniform(-800, 800, (NY, NX))])


def _seconds(times: pd.DatetimeIndex) -> np.ndarray:
    return ((times.values - np.datetime64("1970-01-01")) / np.timedelta64(1, "s")).astype(float)


def _harmonic(params: np.ndarray, times: pd.DatetimeIndex) -> np.ndarray:
    w = 2 * np.pi * _seconds(times) / YEAR
    return (params[0][None] + params[1][None] * np.cos(w)[:, None, None]
            + params[2][None] * np.sin(w)[:, None, None])


def _seasonal_cube() -> xr.DataArray:
    rng = np.random.default_rng(8)
    nir = _harmonic(_truth(), DATES) + rng.normal(0, 5, (len(DATES), NY, NX))
    nir[rng.random(nir.shape) < 0.2] = np.nan
    other = rng.uniform(0, 1000, (len(DATES), 2, NY, NX))
    data = np.concatenate([other, nir[:, None]], axis=1).astype("float32")
    cube = xr.DataArray(data, dims=("t", "bands", "y", "x"),
                        coords={"t": DATES.values, "bands": ["B02", "B04", "B08"],
                                "y": 5_600_000.0 - 5 - 10 * np.arange(NY),
                                "x": 500_000.0 + 5 + 10 * np.arange(NX)})
    return set_crs(cube, "EPSG:32631")


@pytest.fixture
def seasonal(tmp_path: Path) -> Iterator:
    import openeo

    catalog = ArrayCatalog()
    catalog.collection.cube = _seasonal_cube()
    with serve_in_thread(make_config(tmp_path / "state", catalog=catalog)) as url:
        con = openeo.connect(url)
        con.authenticate_basic(USER, PASSWORD)
        yield con


def _model(x, parameters):
    from openeo.processes import cos, sin

    w = x * (2 * math.pi / YEAR)
    return parameters[0] + parameters[1] * cos(w) + parameters[2] * sin(w)


def _fitted(con):
    from openeo.processes import fit_curve

    cube = con.load_collection("TEST_S2", bands=["B08"]).band("B08")
    return cube.apply_dimension(
        process=lambda data: fit_curve(data, parameters=[0, 0, 0], function=_model),
        dimension="t")


def test_fit_and_predict_curve_with_the_openeo_client(seasonal, tmp_path: Path) -> None:
    import openeo.processes as processes
    from openeo.rest.datacube import DataCube

    fitted = _fitted(seasonal)
    path = tmp_path / "params.nc"
    fitted.download(path, format="netCDF")
    with xr.open_dataset(path) as ds:
        got = ds["data"].transpose("t", "y", "x").values                 # (3 parameters, y, x)
        assert list(ds["t"].values) == [0, 1, 2]  # parameter indices, not times since 1970
    truth = _truth()
    assert np.abs(got - truth).max() < 15                                # noise sd is 5

    labels = ["2024-03-01", "2024-09-15T12:00:00Z"]
    predicted = processes.predict_curve(parameters=fitted, function=_model, dimension="t",
                                        labels=labels)
    cube = DataCube(graph=predicted.pgnode, connection=seasonal)
    path = tmp_path / "pred.nc"
    cube.download(path, format="netCDF")
    with xr.open_dataset(path) as ds:
        pred = ds["data"].transpose("t", "y", "x")
        assert [str(t)[:19] for t in pred["t"].values] == ["2024-03-01T00:00:00",
                                                           "2024-09-15T12:00:00"]
        want = _harmonic(truth, pd.DatetimeIndex(pd.to_datetime(labels, utc=True, format="ISO8601")
                                                 .tz_localize(None)))
        np.testing.assert_allclose(pred.values, want, atol=25)


def _download(cube, path: Path) -> xr.DataArray:
    cube.download(path, format="netCDF")
    with xr.open_dataset(path) as ds:
        return ds["data"].transpose("t", "y", "x").load()


def test_client_cube_methods_fit_and_predict_like_the_array_form(seasonal, tmp_path: Path) -> None:
    """DataCube.fit_curve / predict_curve send the openEO processes 1.x form (with `data`)."""
    import openeo.processes as processes
    from openeo.rest.datacube import DataCube

    cube = seasonal.load_collection("TEST_S2", bands=["B08"]).band("B08")
    fitted = cube.fit_curve(parameters=[0, 0, 0], function=_model, dimension="t")
    node = next(n for n in fitted.flat_graph().values() if n["process_id"] == "fit_curve")
    assert "from_node" in node["arguments"]["data"] and node["arguments"]["dimension"] == "t"
    params = _download(fitted, tmp_path / "legacy_params.nc")
    assert params["t"].values.tolist() == [0, 1, 2]
    array_form = _download(_fitted(seasonal), tmp_path / "params.nc")
    np.testing.assert_array_equal(params.values, array_form.values)

    filled = cube.predict_curve(fitted, function=_model, dimension="t")      # labels None
    node = next(n for n in filled.flat_graph().values() if n["process_id"] == "predict_curve")
    assert node["arguments"]["labels"] is None and "from_node" in node["arguments"]["data"]
    got = _download(filled, tmp_path / "filled.nc")
    np.testing.assert_array_equal(got["t"].values, DATES.values)            # the cube's dates
    original = _seasonal_cube().sel(bands="B08").transpose("t", "y", "x").values
    valid = np.isfinite(original)
    assert 0.1 < (~valid).mean() < 0.3
    np.testing.assert_array_equal(got.values[valid], original[valid])      # data kept
    labels = [str(t)[:10] for t in DATES]
    at_dates = processes.predict_curve(parameters=_fitted(seasonal), function=_model,
                                       dimension="t", labels=labels)
    want = _download(DataCube(graph=at_dates.pgnode, connection=seasonal),
                     tmp_path / "at_dates.nc")
    np.testing.assert_allclose(got.values[~valid], want.values[~valid], rtol=1e-12)
    assert np.isfinite(got.values).all()                                   # gaps filled

    new = ["2024-03-01", "2024-09-15T12:00:00Z"]
    pred = _download(cube.predict_curve(fitted, function=_model, dimension="t", labels=new),
                     tmp_path / "pred_labels.nc")
    plain = processes.predict_curve(parameters=_fitted(seasonal), function=_model,
                                    dimension="t", labels=new)
    want = _download(DataCube(graph=plain.pgnode, connection=seasonal), tmp_path / "plain.nc")
    assert [str(t)[:19] for t in pred["t"].values] == ["2024-03-01T00:00:00",
                                                       "2024-09-15T12:00:00"]
    np.testing.assert_array_equal(pred.values, want.values)


def test_inspect_writes_to_the_batch_job_log(seasonal) -> None:
    from openeo.processes import inspect

    cube = seasonal.load_collection("TEST_S2", bands=["B08"])
    logged = cube.process("inspect", data=cube, message="loaded cube", code="check",
                          level="warning")
    reduced = logged.reduce_dimension("t", reducer=lambda data: inspect(
        data, message="per-pixel series", level="info").max())
    job = reduced.create_job(out_format="GTiff")
    job.start_and_wait(max_poll_interval=0.2, print=lambda *a, **k: None)
    entries = job.logs()
    first = next(e for e in entries if "loaded cube" in e["message"])
    assert first["level"] == "warning"
    assert first["message"].startswith("[check] loaded cube: ")
    assert '"t": {"size": 30' in first["message"]
    assert first["data"]["dimensions"]["t"]["size"] == 30  # the summary, structured
    assert any("[User] per-pixel series" in e["message"] and e["level"] == "info"
               for e in entries)
