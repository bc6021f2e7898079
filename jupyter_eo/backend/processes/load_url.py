"""load_url: a GeoTIFF or netCDF file from an http(s) URL (size and time limits, no local paths)."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import xarray as xr

from jupyter_eo.backend.cube import BANDS, X, Y, set_crs
from jupyter_eo.backend.processes.registry import process
from jupyter_eo.errors import OpenEOError, ProcessParameterInvalid

MAX_URL_BYTES = 64 * 1024 * 1024  # a file larger than this is refused (transfer cut)
URL_TIMEOUT = 60.0  # seconds for the whole transfer
FORMATS = {"gtiff": "GTiff", "geotiff": "GTiff", "netcdf": "netCDF"}


def _format(name: Any) -> str:
    fmt = FORMATS.get(str(name).lower()) if isinstance(name, str) else None
    if fmt is None:
        raise OpenEOError(f"load_url reads GTiff or netCDF files, not {name!r}.",
                          code="FormatUnsuitable", status=400)
    return fmt


def _from_gtiff(path: Path) -> xr.DataArray:
    import rioxarray

    with rioxarray.open_rasterio(path, masked=True) as raw:
        data = raw.load()
    crs = data.rio.crs
    names = data.attrs.get("long_name")
    count = data.sizes["band"]
    if isinstance(names, (list, tuple)) and len(names) == count and all(names):
        labels = [str(n) for n in names]
    elif isinstance(names, str) and count == 1 and names:
        labels = [names]
    else:
        labels = [f"band_{i + 1}" for i in range(count)]
    cube = xr.DataArray(data.values, dims=(BANDS, Y, X),
                        coords={BANDS: labels, Y: data[Y].values, X: data[X].values})
    return set_crs(cube, crs) if crs is not None else cube


def _from_netcdf(path: Path) -> xr.DataArray:
    from jupyter_eo.backend.catalog.files import dataset_crs

    with xr.open_dataset(path) as ds:
        ds = ds.load()
    names = [v for v in ds.data_vars if {X, Y} <= set(ds[v].dims)]
    if not names:
        raise ProcessParameterInvalid("load_url: the netCDF file has no variable on x/y.")
    crs = dataset_crs(ds, names[0], X, Y)
    cube = xr.concat([ds[v].drop_vars([c for c in ds[v].coords if c not in ds[v].dims])
                      for v in names], dim=BANDS).assign_coords({BANDS: names})
    order = [d for d in ("t", BANDS, Y, X) if d in cube.dims]
    cube = cube.transpose(*order, *[d for d in cube.dims if d not in order])
    return set_crs(cube, crs) if crs is not None else cube


@process("load_url")
def load_url(url: str, format: str, options: dict | None = None, *, ctx: Any) -> Any:
    """Load a GeoTIFF or netCDF file from an http(s) URL into a raster cube (in memory)."""
    from jupyter_eo.backend.namespaces import check_url, fetch_bytes
    from jupyter_eo.backend.processes.cubes_load import finish_load

    fmt = _format(format)
    if not isinstance(url, str):
        raise ProcessParameterInvalid("load_url needs a URL string.")
    try:
        check_url(url)
    except OpenEOError as exc:
        raise ProcessParameterInvalid(f"load_url: {exc.message}") from None
    body = fetch_bytes(url, limit=MAX_URL_BYTES, timeout=URL_TIMEOUT)
    with tempfile.TemporaryDirectory(prefix="jupyter-eo-load-url-") as folder:
        path = Path(folder) / ("data.tif" if fmt == "GTiff" else "data.nc")
        path.write_bytes(body)
        try:
            cube = _from_gtiff(path) if fmt == "GTiff" else _from_netcdf(path)
        except OpenEOError:
            raise
        except Exception as exc:  # noqa: BLE001 - a broken file is the caller's input
            raise ProcessParameterInvalid(
                f"load_url: the file at {url!r} could not be read as {fmt}: "
                f"{type(exc).__name__}.") from None
    return finish_load(cube, ctx, {})
