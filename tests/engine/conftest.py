"""Fixtures for engine tests: a small in-memory catalog with a realistically shaped cube."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import jupyter_eo.backend.processes  # noqa: F401
from jupyter_eo.backend.cube import set_crs
from jupyter_eo.backend.engine import EvalContext
from jupyter_eo.errors import CollectionNotFound

BANDS = [("B02", "blue"), ("B04", "red"), ("B08", "nir"), ("SCL", None)]


def make_cube(nt: int = 6, ny: int = 40, nx: int = 50, seed: int = 0,
              dtype: str = "uint16", chunks: dict | None = None) -> xr.DataArray:
    """A (t, bands, y, x) cube in EPSG:32633 with 10 m pixels; value 0 is no-data."""
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 3000, (nt, len(BANDS), ny, nx)).astype(dtype)
    data[:, :, 0, 0] = 0  # a no-data pixel in every band and step
    data[1, :, 1, 1] = 0
    cube = xr.DataArray(
        data, dims=("t", "bands", "y", "x"),
        coords={"t": pd.date_range("2021-06-01", periods=nt, freq="5D"),
                "bands": [b for b, _ in BANDS],
                "y": 5_000_000 - 5.0 - 10.0 * np.arange(ny),
                "x": 400_000 + 5.0 + 10.0 * np.arange(nx)},
        attrs={"nodata": 0})
    cube = set_crs(cube, "EPSG:32633")
    if chunks:
        cube = cube.chunk(chunks)
    return cube


class FakeCollection:
    """Implements the catalog's Collection contract on an in-memory cube."""

    def __init__(self, cube: xr.DataArray, cloud: list[float] | None = None) -> None:
        self.cube = cube
        self.cloud = cloud or [float(10 * i) for i in range(cube.sizes["t"])]
        self.calls: list[dict] = []

    def metadata(self) -> dict[str, Any]:
        return {"id": "S2", "summaries": {"eo:bands": [
            {"name": b, **({"common_name": c} if c else {})} for b, c in BANDS]}}

    def load(self, spatial_extent=None, temporal_extent=None, bands=None,
             property_filter: Callable[[dict], bool] | None = None, *, resolution=None,
             crs=None) -> xr.DataArray:
        self.calls.append({"spatial_extent": spatial_extent, "temporal_extent": temporal_extent,
                           "bands": bands, "resolution": resolution, "crs": crs})
        cube = self.cube
        if resolution:  # nearest sampling at a multiple of the native 10 m
            step = max(1, int(round(float(resolution) / 10.0)))
            cube = cube.isel(x=slice(None, None, step), y=slice(None, None, step))
        if bands is not None:
            cube = cube.sel(bands=bands)
        if temporal_extent is not None:
            start, end = temporal_extent
            times = pd.DatetimeIndex(cube.t.values)
            keep = np.ones(len(times), bool)
            if start:
                keep &= times >= pd.Timestamp(start)
            if end:
                keep &= times < pd.Timestamp(end)
            cube = cube.isel(t=np.nonzero(keep)[0])
        if property_filter is not None:
            idx = [i for i, t in enumerate(self.cube.t.values)
                   if t in cube.t.values and property_filter({"eo:cloud_cover": self.cloud[i]})]
            cube = cube.sel(t=self.cube.t.values[idx])
        return cube


class FakeCatalog:
    def __init__(self, **collections: FakeCollection) -> None:
        self.collections = collections

    def get(self, collection_id: str) -> FakeCollection:
        if collection_id not in self.collections:
            raise CollectionNotFound(f"Collection {collection_id!r} does not exist.")
        return self.collections[collection_id]


@pytest.fixture
def cube() -> xr.DataArray:
    return make_cube()


@pytest.fixture
def catalog(cube: xr.DataArray) -> FakeCatalog:
    return FakeCatalog(S2=FakeCollection(cube))


@pytest.fixture
def ctx(catalog: FakeCatalog) -> EvalContext:
    return EvalContext(catalog=catalog)


def as_float(raw: np.ndarray, nodata: float = 0) -> np.ndarray:
    out = raw.astype("float32")
    out[raw == nodata] = np.nan
    return out
