"""Open results for the CubeViewer: DataArray/Dataset, files (GeoTIFF, NetCDF, Zarr) or job results,
normalised to dims (t, bands, y, x)."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from jupyter_eo.errors import OpenEOError

_ALIASES = {"time": "t", "band": "bands", "variable": "bands", "lat": "y", "latitude": "y",
            "lon": "x", "longitude": "x"}


def as_cube(source: Any) -> xr.DataArray:
    """A DataArray with dims exactly (t, bands, y, x) (length-1 dims added where missing)."""
    if isinstance(source, (str, Path)):
        source = open_file(Path(source))
    elif _is_job(source):
        source = open_job_result(source)
    if isinstance(source, xr.Dataset):
        names = [n for n, v in source.data_vars.items() if {"x", "y"} <= set(v.dims)
                 or {"lon", "lat"} <= set(v.dims)]
        if not names:
            raise OpenEOError("The dataset has no variable with x/y dimensions.", code="FormatUnsuitable",
                              status=400)
        source = source[names].to_array("bands")
    if not isinstance(source, xr.DataArray):
        raise OpenEOError(f"CubeViewer cannot show a {type(source).__name__}; give an xarray "
                          "DataArray/Dataset, a file path or a batch job.", code="FormatUnsuitable",
                          status=400)
    cube = source.rename({d: _ALIASES[d] for d in source.dims if d in _ALIASES and _ALIASES[d] not in source.dims})
    for dim in ("y", "x"):
        if dim not in cube.dims:
            raise OpenEOError(f"The cube has no {dim!r} dimension (dims: {list(cube.dims)}).",
                              code="FormatUnsuitable", status=400)
    extra = [d for d in cube.dims if d not in ("t", "bands", "y", "x")]
    for dim in extra:
        if cube.sizes[dim] != 1:
            raise OpenEOError(f"Unsupported extra dimension {dim!r} of size {cube.sizes[dim]}.",
                              code="FormatUnsuitable", status=400)
        cube = cube.isel({dim: 0}, drop=True)
    if "bands" not in cube.dims:
        cube = cube.expand_dims(bands=[str(cube.name or "value")])
    if "t" not in cube.dims:
        cube = cube.expand_dims(t=[None])
    cube = cube.assign_coords(bands=[str(b) for b in cube["bands"].values])
    return cube.transpose("t", "bands", "y", "x")


def _is_job(value: Any) -> bool:
    return hasattr(value, "get_results") and hasattr(value, "job_id")


def open_file(path: Path) -> xr.DataArray | xr.Dataset:
    """Open a GeoTIFF (rioxarray), NetCDF or Zarr result file."""
    if not path.exists():
        raise OpenEOError(f"File {str(path)!r} does not exist.", code="FileNotFound", status=404)
    suffix = path.suffix.lower()
    if suffix in (".tif", ".tiff"):
        import rioxarray

        data = rioxarray.open_rasterio(path, masked=True).load()
        long_name = data.attrs.get("long_name")
        names = [long_name] if isinstance(long_name, str) else list(long_name or [])
        if names and len(names) == data.sizes["band"]:
            data = data.assign_coords(band=names)
        return data.rename(band="bands")
    if suffix in (".nc", ".nc4", ".netcdf"):
        with xr.open_dataset(path, decode_coords="all") as ds:
            return ds.load()
    if suffix == ".zarr" or path.is_dir():
        return xr.open_zarr(path).load()
    raise OpenEOError(f"Unsupported file type {suffix!r}: use GeoTIFF, NetCDF or Zarr.",
                      code="FormatUnsuitable", status=400)


def open_job_result(job: Any, target: Path | None = None) -> xr.DataArray | xr.Dataset:
    """Download a finished batch job's results and open the first raster asset."""
    target = Path(target or tempfile.mkdtemp(prefix="jupyter-eo-job-"))
    paths = job.get_results().download_files(target)
    rasters = sorted(Path(p) for p in paths if Path(p).suffix.lower() in (".tif", ".tiff", ".nc"))
    if not rasters:
        raise OpenEOError("The job has no GeoTIFF or NetCDF result.", code="FormatUnsuitable", status=400)
    if len(rasters) > 1 and rasters[0].suffix.lower() in (".tif", ".tiff"):
        frames = [as_cube(open_file(p)).isel(t=0, drop=True).expand_dims(t=[_date_from_name(p.name)])
                  for p in rasters]
        return xr.concat(frames, dim="t")
    return open_file(rasters[0])


def _date_from_name(name: str) -> Any:
    import re

    match = re.search(r"(\d{4}-\d{2}-\d{2})", name)
    return np.datetime64(match.group(1)) if match else name


def time_labels(cube: xr.DataArray) -> list[str]:
    """Readable labels of the t coordinate."""
    out = []
    for value in cube["t"].values if "t" in cube.coords else [None] * cube.sizes["t"]:
        if value is None:
            out.append("—")
        elif isinstance(value, np.datetime64):
            out.append(str(value.astype("datetime64[s]")).replace("T00:00:00", ""))
        else:
            out.append(str(value))
    return out


def cube_crs(cube: xr.DataArray) -> Any:
    """The cube's CRS as a pyproj CRS (from rioxarray, a grid-mapping coordinate or attrs), or None."""
    from pyproj import CRS

    candidates: list[Any] = []
    try:
        import rioxarray  # noqa: F401 - registers the .rio accessor

        candidates.append(cube.rio.crs)
    except Exception:  # noqa: BLE001 - no rioxarray, or no CRS found by it
        pass
    for name in ("spatial_ref", "crs"):
        if name in cube.coords:
            attrs = cube.coords[name].attrs
            candidates += [attrs.get("crs_wkt"), attrs.get("spatial_ref")]
    candidates += [cube.attrs.get("crs"), cube.attrs.get("crs_wkt")]
    for candidate in candidates:
        if candidate:
            try:
                return CRS.from_user_input(candidate if not hasattr(candidate, "to_wkt") else candidate.to_wkt())
            except Exception:  # noqa: BLE001 - try the next description
                continue
    return None


def pixel_lonlat(cube: xr.DataArray, row: int, col: int) -> tuple[float, float] | None:
    """(lon, lat) of the centre of pixel (row, col), or None when the cube has no x/y coordinates
    or no CRS (coordinates that look like degrees without a CRS are taken as lon/lat)."""
    if "x" not in cube.coords or "y" not in cube.coords:
        return None
    x, y = float(cube["x"].values[col]), float(cube["y"].values[row])
    crs = cube_crs(cube)
    if crs is None:
        return (x, y) if -180.0 <= x <= 180.0 and -90.0 <= y <= 90.0 and _looks_geographic(cube) else None
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(crs, 4326, always_xy=True).transform(x, y)
    return float(lon), float(lat)


def _looks_geographic(cube: xr.DataArray) -> bool:
    units = str(cube["x"].attrs.get("units", "")).lower()
    name = str(cube["x"].attrs.get("standard_name", "")).lower()
    return "degree" in units or name == "longitude"
