"""Resample benchmark: a large lazy cube through resample_spatial, peak extra memory vs cube size.

Usage (from the repository root):

    .venv/bin/python benchmarks/resample.py                       # 4 x 2 x 8192 x 8192 float32
    .venv/bin/python benchmarks/resample.py --size 4096 --nt 2    # quicker
    .venv/bin/python benchmarks/resample.py --method average --resolution 30 --projection 32633
    .venv/bin/python benchmarks/resample.py --write   # GTiff output, as a batch job writes it

The source is generated block by block (dask map_blocks, nothing on disk, nothing held), so the
whole pipeline streams: each output chunk is warped from only the source chunks it needs, then
summed. Prints wall time, the cube's size and the peak RSS above the level before the run
(sampled every 5 ms).
"""
from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import dask  # noqa: E402
import dask.array as da  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.memory import PeakRSS  # noqa: E402
from jupyter_eo.backend.cube import set_crs  # noqa: E402
from jupyter_eo.backend.formats import write_result  # noqa: E402
from jupyter_eo.backend.processes.cubes_resample import resample_spatial  # noqa: E402


def _block(block_info: dict | None = None) -> np.ndarray:
    info = block_info[None]
    (y0, y1), (x0, x1) = info["array-location"][-2:]
    yy, xx = np.ogrid[y0:y1, x0:x1]
    plane = (np.sin(xx / 97.0) * np.cos(yy / 89.0) * 1000).astype("float32")
    return np.broadcast_to(plane, info["chunk-shape"]).copy()


def make_cube(nt: int, nb: int, size: int, chunk: int) -> xr.DataArray:
    """A lazy (t, bands, y, x) float32 cube in UTM 33N, 10 m pixels, generated per block."""
    arr = da.map_blocks(_block, dtype="float32",
                        chunks=((1,) * nt, (nb,), (chunk,) * (size // chunk),
                                (chunk,) * (size // chunk)))
    cube = xr.DataArray(arr, dims=("t", "bands", "y", "x"),
                        coords={"t": np.arange(nt), "bands": [f"B{i}" for i in range(nb)],
                                "y": 5_000_000 - 5.0 - 10.0 * np.arange(size),
                                "x": 400_000 + 5.0 + 10.0 * np.arange(size)})
    return set_crs(cube, "EPSG:32633")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=8192)
    parser.add_argument("--nt", type=int, default=4)
    parser.add_argument("--bands", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=1024)
    parser.add_argument("--method", default="bilinear")
    parser.add_argument("--resolution", type=float, default=0)
    parser.add_argument("--projection", default="4326")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--write", action="store_true",
                        help="write a GTiff (the batch-job path, strip by strip) instead of sum")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    projection = int(args.projection) if args.projection.isdigit() else args.projection
    cube = make_cube(args.nt, args.bands, args.size, args.chunk)
    cube_bytes = cube.size * 4
    # warm-up on a small cube: imports, GDAL/PROJ initialisation
    resample_spatial(make_cube(1, 1, 1024, 512), resolution=args.resolution,
                     projection=projection, method=args.method).sum().compute()
    t0 = time.perf_counter()
    out = resample_spatial(cube, resolution=args.resolution, projection=projection,
                           method=args.method)
    build = time.perf_counter() - t0
    with PeakRSS(interval=0.005) as rss, tempfile.TemporaryDirectory() as tmp:
        t1 = time.perf_counter()
        if args.write:
            with dask.config.set(scheduler="threads", num_workers=args.workers):
                written = write_result(out, "GTiff", {}, Path(tmp), "resampled")
            total = float(written.path.stat().st_size)
        else:
            total = float(out.sum().compute(scheduler="threads", num_workers=args.workers))
        wall = time.perf_counter() - t1
    mib = 2 ** 20
    print(f"source   {cube.shape} float32 = {cube_bytes / mib:,.0f} MiB, "
          f"chunks {cube.data.chunksize}")
    print(f"output   {out.shape} {out.dtype} = {out.size * out.dtype.itemsize / mib:,.0f} MiB, "
          f"{out.data.npartitions} chunks of {out.data.chunksize}")
    print(f"method   {args.method}, projection {args.projection}, "
          f"resolution {args.resolution or 'unchanged'}")
    what = "written as GTiff (bytes)" if args.write else "summed (checksum)"
    print(f"graph    built in {build:.2f} s; {what} in {wall:.1f} s "
          f"with {args.workers} threads: {total:.6g}")
    print(f"memory   peak extra RSS {rss.extra / mib:,.0f} MiB = "
          f"{100 * rss.extra / cube_bytes:.1f} % of the cube")


if __name__ == "__main__":
    main()
