"""GeoTIFF writer: cloud-optimized, georeferenced, nodata set, band names as band descriptions."""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from jupyter_eo.backend.cube import X, Y, get_crs
from jupyter_eo.backend.formats.common import WrittenFile, format_error, layers, raster_metadata

MEDIA_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
PLAIN_MEDIA_TYPE = "image/tiff; application=geotiff"
ROWS_PER_BLOCK = 512
LAYERS_PER_BLOCK = 64
COG_BLOCK = 512
# GDAL 3.10's COG driver writes pixel-interleaved tiles only: a tile holds every layer, so
# its memory grows with the layer count (~2 MB per float32 layer). Above this budget the
# result is written as a tiled, band-interleaved GeoTIFF instead (same data, no COG layout).
COG_TILE_BUDGET = 96 * 1024 * 1024

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


class _WindowSink:
    """A ``dask.array.store`` target writing (layer, row, column) blocks into a raster file.

    Blocks arrive as dask computes them, so a result is written chunk by chunk: memory stays
    bounded by the chunks in flight, whatever the number of layers.
    """

    def __init__(self, dst: Any, dtype: np.dtype, nodata: float | None) -> None:
        self.dst, self.dtype, self.nodata = dst, dtype, nodata
        self.shape = (dst.count, dst.height, dst.width)

    def __setitem__(self, key: tuple[slice, slice, slice], block: Any) -> None:
        layers, rows, cols = (k.indices(n) for k, n in zip(key, self.shape))
        block = np.asarray(block)
        if self.dtype.kind != "f" and self.nodata is not None and block.dtype.kind == "f":
            block = np.where(np.isnan(block), self.nodata, block)
        self.dst.write(block.astype(self.dtype, copy=False),
                       indexes=list(range(layers[0] + 1, layers[1] + 1)),
                       window=((rows[0], rows[1]), (cols[0], cols[1])))


def _write_blocks(stacked: xr.DataArray, dst: Any, dtype: np.dtype, nodata: float | None) -> None:
    """Write ``stacked`` (layer, y, x) into ``dst``: dask data chunk by chunk, numpy data in
    windows of at most ``ROWS_PER_BLOCK`` rows and ``LAYERS_PER_BLOCK`` layers."""
    sink = _WindowSink(dst, dtype, nodata)
    data = stacked.data
    if hasattr(data, "dask"):
        import dask.array as da

        da.store(data, sink, lock=threading.Lock())
        return
    count, height, width = data.shape
    for layer in range(0, count, LAYERS_PER_BLOCK):
        for row in range(0, height, ROWS_PER_BLOCK):
            key = (slice(layer, min(count, layer + LAYERS_PER_BLOCK)),
                   slice(row, min(height, row + ROWS_PER_BLOCK)), slice(0, width))
            sink[key] = data[key]


def cog_tile_bytes(count: int, itemsize: int) -> int:
    """Memory GDAL's COG driver needs for one pixel-interleaved tile of every layer (it holds
    about two: the one read and the one compressed)."""
    return 2 * COG_BLOCK * COG_BLOCK * count * itemsize


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
                   interleave="band",  # each layer's blocks apart: writes need no other layer
                   BIGTIFF="IF_SAFER")  # uncompressed scratch file: compressed once below
    if width < 256 or height < 256:
        profile.update(tiled=False)
        profile.pop("blockxsize"), profile.pop("blockysize")
    as_cog = cog_tile_bytes(count, dtype.itemsize) <= COG_TILE_BUDGET
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            _write_blocks(stacked, dst, dtype, nodata)
            for i, name in enumerate(names, start=1):
                dst.set_band_description(i, name)
                if times[i - 1]:
                    dst.update_tags(i, datetime=times[i - 1])
        compression = str(options.get("compression", "DEFLATE")).upper()
        extra = {"LEVEL": 1} if compression == "DEFLATE" else {}  # fast; ~same size on floats
        if as_cog:
            rio_copy(tmp, path, driver="COG", COMPRESS=compression, BIGTIFF="IF_SAFER",
                     NUM_THREADS="ALL_CPUS", **extra)
        else:
            extra = {"ZLEVEL": 1} if compression == "DEFLATE" else {}
            rio_copy(tmp, path, driver="GTiff", COMPRESS=compression, BIGTIFF="IF_SAFER",
                     TILED="YES", BLOCKXSIZE=256, BLOCKYSIZE=256, INTERLEAVE="BAND",
                     NUM_THREADS="ALL_CPUS", **extra)
    finally:
        if tmp.exists():
            os.unlink(tmp)
    meta = raster_metadata(cube)
    meta["bands"] = names
    return WrittenFile(path, MEDIA_TYPE if as_cog else PLAIN_MEDIA_TYPE, meta)
