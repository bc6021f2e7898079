"""User NetCDF/Zarr: the CRS is read from the conventions writers use, and the size estimate
of a load counts every dimension (time included)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from pyproj import CRS

from jupyter_eo.backend.catalog.files import XarrayFileCollection, file_collections
from jupyter_eo.backend.limits import load_shape

X = 400_005.0 + 10.0 * np.arange(50)
Y = 5_000_000 - 5.0 - 10.0 * np.arange(40)
UTM = CRS.from_epsg(32633)


def _dataset(nt: int = 3) -> xr.Dataset:
    return xr.Dataset({"B04": (("time", "y", "x"), np.ones((nt, 40, 50), "float32"))},
                      coords={"time": pd.date_range("2022-01-01", periods=nt), "x": X, "y": Y})


def _write(ds: xr.Dataset, path: Path) -> Path:
    if path.suffix == ".zarr":
        ds.to_zarr(path, mode="w", consolidated=False)
    else:
        ds.to_netcdf(path)
    return path


def _rioxarray(ds: xr.Dataset) -> xr.Dataset:
    import rioxarray  # noqa: F401

    return ds.rio.write_crs("EPSG:32633")


def _odc_style(ds: xr.Dataset) -> xr.Dataset:
    """A ``spatial_ref`` coordinate with ``crs_wkt`` and no grid_mapping attribute on the
    variables (what odc-geo writes, and what remains after many xarray operations)."""
    return ds.assign_coords(spatial_ref=xr.DataArray(0, attrs={"crs_wkt": UTM.to_wkt(),
                                                                "spatial_ref": UTM.to_wkt()}))


def _cf_crs_wkt(ds: xr.Dataset) -> xr.Dataset:
    """CF: ``grid_mapping`` names a variable ``crs`` that only has ``crs_wkt``."""
    ds = ds.copy()
    ds["crs"] = xr.DataArray(np.int32(0), attrs={"crs_wkt": UTM.to_wkt()})
    ds["B04"].attrs["grid_mapping"] = "crs"
    return ds


def _cf_parameters(ds: xr.Dataset) -> xr.Dataset:
    """CF: grid-mapping parameters only (no WKT)."""
    ds = ds.copy()
    ds["transverse_mercator"] = xr.DataArray(np.int32(0), attrs=UTM.to_cf())
    ds["transverse_mercator"].attrs.pop("crs_wkt", None)
    ds["transverse_mercator"].attrs.pop("spatial_ref", None)
    ds["B04"].attrs["grid_mapping"] = "transverse_mercator"
    return ds


WRITERS = {"rioxarray": _rioxarray, "odc": _odc_style, "cf-crs_wkt": _cf_crs_wkt,
           "cf-parameters": _cf_parameters}


@pytest.mark.parametrize("suffix", [".zarr", ".nc"])
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_crs_is_read_from_the_file(tmp_path: Path, writer: str, suffix: str) -> None:
    path = _write(WRITERS[writer](_dataset()), tmp_path / f"scene{suffix}")
    collection = XarrayFileCollection(path)
    assert collection.crs.to_epsg() == 32633
    meta = collection.metadata()
    assert meta["cube:dimensions"]["x"]["reference_system"] == 32633
    west, south, east, north = meta["extent"]["spatial"]["bbox"][0]
    assert 13.7 < west < east < 13.8 and 45.1 < south < north < 45.2  # UTM 33N near 15 E
    cube = collection.load({"west": 400_100, "east": 400_300, "south": 4_999_700,
                            "north": 4_999_900, "crs": 32633}, None, ["B04"])
    assert cube.sizes["x"] == 20 and cube.sizes["y"] == 20


def test_size_estimate_counts_all_dimensions(tmp_path: Path) -> None:
    """Was ~1e17 values (metres read as degrees) and ignored time; now the exact shape."""
    path = _write(_rioxarray(_dataset(nt=7)), tmp_path / "cube.zarr")
    meta = XarrayFileCollection(path).metadata()
    nt, nb, ny, nx = load_shape(meta, {"spatial_extent": None, "temporal_extent": None})
    assert (nt, nb) == (7, 1) and 40 <= ny <= 41 and 50 <= nx <= 51  # +1: partial pixels
    assert load_shape(meta, {"temporal_extent": ["2022-01-02", "2022-01-05"],
                             "spatial_extent": None})[0] == 3
    nt, nb, ny, nx = load_shape(meta, {"spatial_extent": {
        "west": 400_000, "east": 400_200, "south": 4_999_800, "north": 5_000_000,
        "crs": 32633}, "temporal_extent": None})
    assert (nt, nb) == (7, 1) and 19 <= ny <= 21 and 19 <= nx <= 21


def test_projected_coordinates_without_crs_are_not_served_as_degrees(tmp_path: Path) -> None:
    path = _write(_dataset(), tmp_path / "nocrs.zarr")
    with pytest.raises(ValueError, match="no CRS"):
        XarrayFileCollection(path)
    assert file_collections(tmp_path) == []  # logged and skipped


def test_lon_lat_without_crs_is_wgs84(tmp_path: Path) -> None:
    ds = xr.Dataset({"v": (("lat", "lon"), np.zeros((3, 4), "float32"))},
                    coords={"lat": [45.0, 44.9, 44.8], "lon": [10.0, 10.1, 10.2, 10.3]})
    assert XarrayFileCollection(_write(ds, tmp_path / "geo.nc")).crs.to_epsg() == 4326
