"""Lazy, memory-bounded reprojection of raster cubes: one rasterio warp per output chunk."""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr
from affine import Affine
from pyproj import CRS

from jupyter_eo.backend.cube import X, Y, get_crs
from jupyter_eo.errors import ProcessArgumentInvalid, ProcessParameterInvalid

# openEO method name -> rasterio Resampling member name (the spec's whole enum).
METHODS = {"near": "nearest", "bilinear": "bilinear", "cubic": "cubic",
           "cubicspline": "cubic_spline", "lanczos": "lanczos", "average": "average",
           "mode": "mode", "max": "max", "min": "min", "med": "med", "q1": "q1", "q3": "q3",
           "sum": "sum", "rms": "rms"}
# Kernel radius in source pixels at scale 1 (widened by the downsampling factor, as GDAL does).
_RADIUS = {"near": 1, "bilinear": 1, "cubic": 2, "cubicspline": 2, "lanczos": 3}
BLOCK_BYTES = 16 * 2 ** 20  # target size of one output chunk plus its source window
_SAMPLES = 17  # points per block edge used to find the source window
_MARGIN_EXTRA = 4  # pixels beyond the kernel and GDAL's padding (4 per downsampling step)


def resampling(method: str) -> Any:
    """The rasterio ``Resampling`` member for an openEO method name."""
    from rasterio.enums import Resampling

    if method not in METHODS:
        raise ProcessParameterInvalid(f"Unknown resampling method {method!r}; "
                                      f"one of {sorted(METHODS)}.")
    return Resampling[METHODS[method]]


@dataclass(frozen=True)
class Grid:
    """A north-up pixel grid: CRS, affine transform of the pixel corners, and shape."""

    crs: CRS
    transform: Affine
    width: int
    height: int

    def x_coords(self) -> np.ndarray:
        t = self.transform
        return t.c + (np.arange(self.width) + 0.5) * t.a

    def y_coords(self) -> np.ndarray:
        t = self.transform
        return t.f + (np.arange(self.height) + 0.5) * t.e

    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top), sorted."""
        t = self.transform
        xs = (t.c, t.c + self.width * t.a)
        ys = (t.f, t.f + self.height * t.e)
        return min(xs), min(ys), max(xs), max(ys)

    def same_as(self, other: "Grid") -> bool:
        return (self.width, self.height) == (other.width, other.height) and \
            self.crs == other.crs and self.transform.almost_equals(other.transform, 1e-9)


def _rio_crs(crs: CRS) -> Any:
    from rasterio.crs import CRS as RioCRS

    return RioCRS.from_wkt(crs.to_wkt())


def grid_of(cube: xr.DataArray, what: str = "The cube") -> Grid:
    """The pixel grid of a cube from its x/y coordinates (pixel centres) and CRS."""
    crs = get_crs(cube)
    if crs is None:
        raise ProcessArgumentInvalid("ProcessParameterInvalid", f"{what} has no CRS.")
    if X not in cube.dims or Y not in cube.dims:
        raise ProcessArgumentInvalid("DimensionNotAvailable", f"{what} has no x/y dimensions.")
    xs, ys = np.asarray(cube[X].values, float), np.asarray(cube[Y].values, float)
    if len(xs) >= 2 and len(ys) >= 2:
        xres = (xs[-1] - xs[0]) / (len(xs) - 1)
        yres = (ys[-1] - ys[0]) / (len(ys) - 1)
        transform = Affine(xres, 0.0, xs[0] - xres / 2, 0.0, yres, ys[0] - yres / 2)
    else:
        try:  # a one-pixel axis: only a recorded GeoTransform tells the resolution
            transform = cube.rio.transform()
        except Exception as exc:  # noqa: BLE001
            raise ProcessArgumentInvalid(
                "ProcessParameterInvalid",
                f"{what} is one pixel wide or high; its resolution is unknown.") from exc
        if len(xs) == 0 or len(ys) == 0:
            raise ProcessArgumentInvalid("ProcessParameterInvalid", f"{what} is empty.")
        transform = Affine(transform.a, 0.0, xs[0] - transform.a / 2,
                           0.0, transform.e, ys[0] - transform.e / 2)
    if transform.a == 0 or transform.e == 0:
        raise ProcessArgumentInvalid("ProcessParameterInvalid",
                                     f"{what} has a zero pixel size.")
    return Grid(crs, transform, len(xs), len(ys))


def default_grid(src: Grid, dst_crs: CRS, resolution: float | tuple[float, float] | None,
                 align: str = "upper-left") -> Grid:
    """The output grid of ``resample_spatial`` (GDAL's suggested warp output, as gdalwarp).

    Without ``resolution`` the grid is GDAL's suggestion for ``dst_crs``. With it, the pixel
    size changes and the grid is anchored at the ``align`` corner of that extent (rasterio's
    ``calculate_default_transform`` anchors upper-left, which is the spec's default); the far
    edges grow to a whole number of pixels. A 0 resolution for one axis keeps that axis'.
    """
    from rasterio.warp import calculate_default_transform

    if align not in ("upper-left", "upper-right", "lower-left", "lower-right"):
        raise ProcessParameterInvalid(f"Unknown align {align!r}.")
    left, bottom, right, top = src.bounds()
    try:
        aff, width, height = calculate_default_transform(
            _rio_crs(src.crs), _rio_crs(dst_crs), src.width, src.height, left, bottom, right,
            top)
    except Exception as exc:  # noqa: BLE001  (GDAL cannot map the extent into that CRS)
        raise ProcessArgumentInvalid(
            "ProcessParameterInvalid",
            f"The cube's extent cannot be projected to {dst_crs.to_string()}: {exc}") from exc
    if width < 1 or height < 1:
        raise ProcessArgumentInvalid(
            "ProcessParameterInvalid",
            f"No output grid in {dst_crs.to_string()} could be derived for the cube's extent; "
            "crop it first (e.g. filter_bbox).")
    if src.crs == dst_crs:  # keep the source grid itself (GDAL may round it)
        aff, width, height = src.transform, src.width, src.height
    if resolution is None:
        return Grid(dst_crs, aff, int(width), int(height))
    xres, yres = resolution if isinstance(resolution, tuple) else (resolution, resolution)
    xres = abs(aff.a) if not xres else float(xres)
    yres = abs(aff.e) if not yres else float(yres)
    ext_w, ext_h = width * abs(aff.a), height * abs(aff.e)
    new_w = max(1, math.ceil(ext_w / xres - 1e-9))
    new_h = max(1, math.ceil(ext_h / yres - 1e-9))
    x0 = min(aff.c, aff.c + width * aff.a)
    y0 = max(aff.f, aff.f + height * aff.e)
    if align.endswith("right"):
        x0 = x0 + ext_w - new_w * xres
    if align.startswith("lower"):
        y0 = y0 - ext_h + new_h * yres
    return Grid(dst_crs, Affine(xres, 0.0, x0, 0.0, -yres, y0), new_w, new_h)


def _edges(chunks: tuple[int, ...]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(chunks)]).astype(int)


def _block_points(dst: Grid, r0: int, r1: int, c0: int, c1: int) -> tuple[np.ndarray, ...]:
    """Dense sample points (edges and interior) of an output block, in dst coordinates."""
    rows = np.linspace(r0, r1, _SAMPLES)
    cols = np.linspace(c0, c1, _SAMPLES)
    cc, rr = np.meshgrid(cols, rows)
    t = dst.transform
    return t.c + cc * t.a + rr * t.b, t.f + cc * t.d + rr * t.e


class _Windows:
    """Finds, for an output block, the source pixel window it needs (with kernel margin)."""

    def __init__(self, src: Grid, dst: Grid, method: str) -> None:
        from pyproj import Transformer

        self.src, self.dst = src, dst
        self.radius = _RADIUS.get(method, 1)
        self.same_crs = src.crs == dst.crs
        self.tr = None if self.same_crs else Transformer.from_crs(dst.crs, src.crs,
                                                                  always_xy=True)
        self.inv = ~src.transform

    def window(self, r0: int, r1: int, c0: int, c1: int) -> tuple[int, int, int, int] | None:
        """(row0, row1, col0, col1) of the source, or None when nothing overlaps."""
        x, y = _block_points(self.dst, r0, r1, c0, c1)
        if self.tr is not None:
            x, y = self.tr.transform(x, y, errcheck=False)
        x, y = np.asarray(x, float).ravel(), np.asarray(y, float).ravel()
        ok = np.isfinite(x) & np.isfinite(y)
        if not ok.any():
            return None
        cols, rows = self.inv @ (x[ok], y[ok])
        lo_c, hi_c = float(np.min(cols)), float(np.max(cols))
        lo_r, hi_r = float(np.min(rows)), float(np.max(rows))
        # margin: the kernel radius widened by the downsampling factor, plus room for GDAL's
        # own padding (a window edge that clips it changes GDAL's scale, hence sum/average)
        scale_c = max(1.0, (hi_c - lo_c) / max(c1 - c0, 1))
        scale_r = max(1.0, (hi_r - lo_r) / max(r1 - r0, 1))
        mc = math.ceil((self.radius + 1) * scale_c) + _MARGIN_EXTRA + 4 * math.ceil(scale_c)
        mr = math.ceil((self.radius + 1) * scale_r) + _MARGIN_EXTRA + 4 * math.ceil(scale_r)
        w0 = max(0, math.floor(lo_c) - mc)
        w1 = min(self.src.width, math.ceil(hi_c) + mc)
        h0 = max(0, math.floor(lo_r) - mr)
        h1 = min(self.src.height, math.ceil(hi_r) + mr)
        if w0 >= w1 or h0 >= h1:
            return None
        return h0, h1, w0, w1


def _nan_block(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    return np.full(shape, np.nan, dtype=dtype)


def _warp_block(parts: list[list[np.ndarray]], row_slices: list[slice],
                col_slices: list[slice], src_transform: Affine, src_crs: Any,
                dst_transform: Affine, dst_crs: Any, out_shape: tuple[int, int],
                method: str, dtype: Any, nodata: Any) -> np.ndarray:
    """Cut the source window out of its blocks and warp it onto one output block."""
    from rasterio.warp import reproject

    rows = [np.concatenate([blk[..., rs, cs] for blk, cs in zip(row, col_slices)], axis=-1)
            for row, rs in zip(parts, row_slices)]
    window = np.concatenate(rows, axis=-2) if len(rows) > 1 else rows[0]
    lead = window.shape[:-2]
    src = np.asarray(window).reshape((-1,) + window.shape[-2:])
    if src.dtype != dtype:
        if nodata is not None and src.dtype.kind in "iub":
            invalid = src == nodata
            src = src.astype(dtype)
            src[invalid] = np.nan
        else:
            src = src.astype(dtype)
    elif nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
        src = np.where(src == nodata, np.nan, src).astype(dtype, copy=False)
    out = np.full((src.shape[0],) + tuple(out_shape), np.nan, dtype=dtype)
    if src.shape[0]:
        reproject(np.ascontiguousarray(src), out, src_transform=src_transform,
                  src_crs=src_crs, src_nodata=np.nan, dst_transform=dst_transform,
                  dst_crs=dst_crs, dst_nodata=np.nan, resampling=resampling(method),
                  init_dest_nodata=True, num_threads=1)
    return out.reshape(lead + tuple(out_shape))


def _as_dask(data: Any) -> da.Array:
    if isinstance(data, da.Array):
        return data
    chunks = tuple([-1] * (np.ndim(data) - 2)) + (1024, 1024)
    return da.from_array(np.asarray(data), chunks=chunks)


def _block_side(lead_elems: int, itemsize: int, area_ratio: float, budget: int) -> int:
    """Side of a square output chunk so that it and its source window fit ``budget`` bytes."""
    per_px = max(1, lead_elems) * itemsize * (1.0 + max(area_ratio, 0.0))
    side = int(math.sqrt(budget / per_px))
    side = max(64, min(2048, side))
    return side - side % 64 if side >= 256 else side


def _lead_elems(src: da.Array) -> int:
    return int(np.prod([max(c) if c else 1 for c in src.chunks[:-2]]))


def _fit_chunks(src: da.Array, itemsize: int, area: float, budget: int) -> tuple[da.Array, int]:
    """The source (lead dims split if needed) and the output chunk side that fit ``budget``.

    Many time steps or bands in one source chunk would force tiny output chunks; splitting the
    leading dimensions (first ones first) keeps output chunks at least 256 pixels wide.
    """
    side = _block_side(_lead_elems(src), itemsize, area, budget)
    for axis in range(src.ndim - 2):
        if side >= 256:
            break
        src = src.rechunk({axis: 1})
        side = _block_side(_lead_elems(src), itemsize, area, budget)
    return src, side


def warp(cube: xr.DataArray, dst: Grid, method: str = "near",
         budget: int | None = None, block: int | None = None) -> xr.DataArray:
    """Reproject ``cube`` onto ``dst`` lazily: a dask graph with one warp task per output chunk.

    Each task receives only the source chunks its window (output block footprint plus the
    kernel margin) touches, so memory stays bounded by the chunk sizes, not the cube size.
    Non-float data becomes float64; no-data (``attrs['nodata']`` or NaN) becomes NaN.
    """
    resampling(method)  # validate early
    src_grid = grid_of(cube)
    lead = [d for d in cube.dims if d not in (Y, X)]
    work = cube.transpose(*lead, Y, X)
    src = _as_dask(work.data)
    dtype = np.dtype(work.dtype) if work.dtype.kind == "f" else np.dtype(np.float64)
    nodata = cube.attrs.get("nodata")
    if nodata is not None:
        try:
            nodata = float(nodata)
        except (TypeError, ValueError):
            nodata = None
    windows = _Windows(src_grid, dst, method)
    if block is None:
        whole = windows.window(0, dst.height, 0, dst.width)
        area = 0.0 if whole is None else \
            (whole[1] - whole[0]) * (whole[3] - whole[2]) / max(1, dst.width * dst.height)
        src, block = _fit_chunks(src, dtype.itemsize, area, budget or BLOCK_BYTES)
    lead_chunks = src.chunks[:-2]
    out_rows = tuple(min(block, dst.height - r) for r in range(0, dst.height, block))
    out_cols = tuple(min(block, dst.width - c) for c in range(0, dst.width, block))
    src_r, src_c = _edges(src.chunks[-2]), _edges(src.chunks[-1])
    src_crs, dst_crs = _rio_crs(src_grid.crs), _rio_crs(dst.crs)
    name = f"warp-{method}-{da.core.tokenize(src.name, dst, method, block, str(dtype))}"
    dsk: dict[Any, Any] = {}
    r_edges, c_edges = _edges(out_rows), _edges(out_cols)
    for i, j in itertools.product(range(len(out_rows)), range(len(out_cols))):
        r0, r1, c0, c1 = r_edges[i], r_edges[i + 1], c_edges[j], c_edges[j + 1]
        win = windows.window(r0, r1, c0, c1)
        dst_tf = dst.transform @ Affine.translation(c0, r0)
        for lead_idx in itertools.product(*[range(len(c)) for c in lead_chunks]):
            lead_shape = tuple(lead_chunks[k][n] for k, n in enumerate(lead_idx))
            key = (name, *lead_idx, i, j)
            if win is None:
                dsk[key] = (_nan_block, lead_shape + (r1 - r0, c1 - c0), dtype)
                continue
            h0, h1, w0, w1 = win
            bys = [b for b in range(len(src_r) - 1) if src_r[b] < h1 and src_r[b + 1] > h0]
            bxs = [b for b in range(len(src_c) - 1) if src_c[b] < w1 and src_c[b + 1] > w0]
            row_slices = [slice(max(h0, src_r[b]) - src_r[b], min(h1, src_r[b + 1]) - src_r[b])
                          for b in bys]
            col_slices = [slice(max(w0, src_c[b]) - src_c[b], min(w1, src_c[b + 1]) - src_c[b])
                          for b in bxs]
            parts = [[(src.name, *lead_idx, by, bx) for bx in bxs] for by in bys]
            src_tf = src_grid.transform @ Affine.translation(w0, h0)
            dsk[key] = (_warp_block, parts, row_slices, col_slices, src_tf, src_crs, dst_tf,
                        dst_crs, (r1 - r0, c1 - c0), method, dtype, nodata)
    from dask.highlevelgraph import HighLevelGraph

    graph = HighLevelGraph.from_collections(name, dsk, dependencies=[src])
    arr = da.Array(graph, name, chunks=tuple(lead_chunks) + (out_rows, out_cols), dtype=dtype)
    coords: dict[str, Any] = {d: work[d] for d in lead if d in work.coords}
    for cname, coord in work.coords.items():
        if cname not in coords and cname not in (X, Y, "spatial_ref") and \
                set(coord.dims) <= set(lead):
            coords[cname] = coord
    coords[Y], coords[X] = dst.y_coords(), dst.x_coords()
    out = xr.DataArray(arr, dims=(*lead, Y, X), coords=coords)
    out = out.rio.write_crs(_rio_crs(dst.crs))
    out.attrs = {k: v for k, v in cube.attrs.items() if k not in ("_FillValue", "nodata")}
    return out.transpose(*cube.dims)
