"""GeoTIFF writer: cloud-optimized, georeferenced, nodata set, band names as band descriptions."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from jupyter_eo.backend.cube import X, Y, get_crs
from jupyter_eo.backend.formats.common import WrittenFile, format_error, layers, raster_metadata

MEDIA_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
ROWS_PER_BLOCK = 512

PARAMETERS = {
    "data_type": {"type": "string", "description": "Output data type, e.g. float32, uint16 "
                  "(default: the data's type).",
                  "enum": ["byte", "uint8", "int8", "uint16", "int16", "uint32", "int32",
                           "float32", "float64"]},
    "nodata": {"type": "number", "description": "No-data value for integer outputs "
               "(floats always use NaN)."},
    "compression": {"type": "string", "description": "COG compression (default DEFLATE).",
                    "enum": ["DEFLATE", "LZW", "ZSTD", "NONE"], "default": "DEFLATE"},
}


def _transform(cube: xr.DataArray):
    xs, ys = cube[X].values, cube[Y].values
    if xs.size < 1 or ys.size < 1:
        raise format_error("Cannot write an empty raster.")
    dx = float(xs[1] - xs[0]) if xs.size > 1 else float(cube.attrs.get("res_x", 1.0))
    dy = float(ys[1] - ys[0]) if ys.size > 1 else -float(cube.attrs.get("res_y", abs(dx)))
    if xs.size > 2 and not np.allclose(np.diff(xs), dx, rtol=1e-6, atol=0):
        raise format_error("x coordinates are not regularly spaced; resample first.")
    from rasterio.transform import Affine

    # pixel-centre coordinates -> corner of the first pixel
    return Affine(dx, 0.0, float(xs[0]) - dx / 2, 0.0, dy, float(ys[0]) - dy / 2)


def _row_blocks(stacked: xr.DataArray) -> list[tuple[int, int]]:
    """(first row, rows) windows: the dask row chunks (each computed once), else 512 rows."""
    chunks = getattr(stacked.data, "chunks", None)
    sizes = list(chunks[1]) if chunks else []
    if not sizes:
        height = stacked.shape[1]
        sizes = [min(ROWS_PER_BLOCK, height - r) for r in range(0, height, ROWS_PER_BLOCK)]
    out, row = [], 0
    for size in sizes:
        out.append((row, size))
        row += size
    return out


def write(cube: xr.DataArray, path: Path, options: dict[str, Any]) -> WrittenFile:
    """Write ``cube`` (t/bands stacked as bands) to ``path`` as a COG."""
    import rasterio
    from rasterio.shutil import copy as rio_copy

    stacked, names, times = layers(cube)
    dtype = np.dtype(str(options.get("data_type") or stacked.dtype).replace("byte", "uint8"))
    if dtype == np.bool_:
        dtype = np.dtype("uint8")
    if dtype.kind not in "uif":
        raise format_error(f"Cannot write data of type {stacked.dtype} to GeoTIFF.")
    nodata: float | None
    if dtype.kind == "f":
        nodata = float("nan")
    else:
        nodata = options.get("nodata", cube.attrs.get("nodata", cube.attrs.get("_FillValue")))
    crs = get_crs(cube)
    count, height, width = stacked.shape
    tmp = path.with_name(path.name + ".tmp.tif")
    profile = dict(driver="GTiff", width=width, height=height, count=count, dtype=dtype.name,
                   crs=crs.to_wkt() if crs is not None else None, transform=_transform(cube),
                   nodata=nodata, tiled=True, blockxsize=256, blockysize=256,
                   BIGTIFF="IF_SAFER")  # uncompressed scratch file: compressed once below
    if width < 256 or height < 256:
        profile.update(tiled=False)
        profile.pop("blockxsize"), profile.pop("blockysize")
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            for row, nrows in _row_blocks(stacked):
                block = np.asarray(stacked[:, row:row + nrows, :].values)
                if dtype.kind != "f" and nodata is not None and block.dtype.kind == "f":
                    block = np.where(np.isnan(block), nodata, block)
                dst.write(block.astype(dtype, copy=False),
                          window=((row, row + block.shape[1]), (0, width)))
            for i, name in enumerate(names, start=1):
                dst.set_band_description(i, name)
                if times[i - 1]:
                    dst.update_tags(i, datetime=times[i - 1])
        compression = str(options.get("compression", "DEFLATE")).upper()
        extra = {"LEVEL": 1} if compression == "DEFLATE" else {}  # fast; ~same size on floats
        rio_copy(tmp, path, driver="COG", COMPRESS=compression, BIGTIFF="IF_SAFER",
                 NUM_THREADS="ALL_CPUS", **extra)
    finally:
        if tmp.exists():
            os.unlink(tmp)
    meta = raster_metadata(cube)
    meta["bands"] = names
    return WrittenFile(path, MEDIA_TYPE, meta)
