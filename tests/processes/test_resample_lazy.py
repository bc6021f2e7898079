"""resample_spatial / resample_cube_spatial: lazy block-wise warp vs one eager rasterio warp."""
from __future__ import annotations

import threading
import tracemalloc

import dask
import dask.array as da
import numpy as np
import pytest
import xarray as xr
from pyproj import CRS
from rasterio.enums import Resampling
from rasterio.warp import reproject

from jupyter_eo.backend.cube import set_crs
from jupyter_eo.backend.processes import warp_lazy
from jupyter_eo.backend.processes.cubes_resample import resample_cube_spatial, resample_spatial
from jupyter_eo.errors import OpenEOError

ALL = ["near", "bilinear", "cubic", "cubicspline", "lanczos", "average", "mode", "max", "min",
       "med", "q1", "q3", "sum", "rms"]
PICKERS = {"near", "mode", "max", "min", "med", "q1", "q3"}  # return one source value
NY, NX = 120, 160


def _field() -> np.ndarray:
    """(t=2, bands=2, y, x): smooth values with a no-data hole."""
    yy, xx = np.mgrid[0:NY, 0:NX]
    base = np.sin(xx / 17.0) + np.cos(yy / 23.0) + xx * yy / 20000.0
    data = np.stack([np.stack([base, 2 * base + 1]), np.stack([base - 1, base * base])])
    data[:, :, 40:50, 60:85] = np.nan
    return data


def _cube(data: np.ndarray, chunks: dict | None) -> xr.DataArray:
    cube = xr.DataArray(data, dims=("t", "bands", "y", "x"),
                        coords={"t": np.array(["2021-06-01", "2021-06-06"], "datetime64[ns]"),
                                "bands": ["B04", "B08"],
                                "y": 5_000_000 - 5.0 - 10.0 * np.arange(data.shape[-2]),
                                "x": 400_000 + 5.0 + 10.0 * np.arange(data.shape[-1])})
    cube = set_crs(cube, "EPSG:32633")
    return cube.chunk(chunks) if chunks else cube


def _eager(data: np.ndarray, src: warp_lazy.Grid, dst: warp_lazy.Grid, method: str) -> np.ndarray:
    flat = data.reshape(-1, *data.shape[-2:])
    out = np.full((flat.shape[0], dst.height, dst.width), np.nan)
    reproject(flat, out, src_transform=src.transform, src_crs=warp_lazy._rio_crs(src.crs),
              dst_transform=dst.transform, dst_crs=warp_lazy._rio_crs(dst.crs),
              resampling=Resampling[warp_lazy.METHODS[method]], src_nodata=np.nan,
              dst_nodata=np.nan)
    return out.reshape(*data.shape[:-2], dst.height, dst.width)


def _run(cube: xr.DataArray, method: str, block: int | None, **kwargs) -> tuple:
    src = warp_lazy.grid_of(cube)
    target = CRS.from_user_input(kwargs.get("projection") or src.crs)
    dst = warp_lazy.default_grid(src, target, kwargs.get("resolution"))
    out = warp_lazy.warp(cube, dst, method, block=block)
    return src, dst, out


@pytest.mark.parametrize("chunks,block", [({"y": 40, "x": 64}, 48), ({"y": 120, "x": 160}, None),
                                          ({"t": 1, "y": 64, "x": 50}, 64)])
@pytest.mark.parametrize("resolution", [25.0, 7.0])
def test_resolution_change_equals_eager_warp(chunks, block, resolution):
    data = _field()
    cube = _cube(data, chunks)
    for method in ALL:
        src, dst, out = _run(cube, method, block, resolution=resolution)
        assert isinstance(out.data, da.Array)
        expected = _eager(data, src, dst, method)
        got = out.values
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9, err_msg=method)


@pytest.mark.parametrize("chunks,block", [({"y": 40, "x": 64}, 48), ({"y": 64, "x": 160}, 100)])
def test_utm_to_wgs84_matches_eager_warp(chunks, block):
    """Across a CRS change GDAL approximates the transform (1/8 pixel) per warped region, so
    tiles and the whole warp may pick a neighbouring source pixel now and then."""
    data = _field()
    cube = _cube(data, chunks)
    for method in ALL:
        src, dst, out = _run(cube, method, block, projection="EPSG:4326")
        assert out.rio.crs.to_epsg() == 4326
        expected = _eager(data, src, dst, method)
        got = out.values
        both = ~np.isnan(got) & ~np.isnan(expected)
        assert (np.isnan(got) != np.isnan(expected)).mean() < 0.005, method
        diff = np.abs(got[both] - expected[both])
        if method in PICKERS:
            assert (diff < 1e-9).mean() > 0.95, method
            assert diff.max() < 0.5, method  # a neighbour's value, never garbage
        elif method != "sum":
            assert diff.max() < 0.05, method
        else:  # GDAL's sum weights also depend on the warped region's overall scale
            assert np.percentile(diff / np.maximum(np.abs(expected[both]), 1), 99) < 0.03


def test_resample_spatial_process_is_lazy_keeps_dims_and_nodata():
    data = _field()
    cube = _cube(data, {"y": 50, "x": 50})
    out = resample_spatial(cube, resolution=20, method="bilinear")
    assert isinstance(out.data, da.Array)
    assert out.dims == ("t", "bands", "y", "x") and out.sizes["x"] == 80
    assert list(out.bands.values) == ["B04", "B08"]
    values = out.values
    assert np.isnan(values[:, :, 22, 35]).all()  # inside the hole: NaN, not 0
    assert np.isfinite(values[:, :, 0, 0]).all()
    assert out.rio.crs.to_epsg() == 32633
    assert resample_spatial(cube, resolution=10) is cube  # same grid: unchanged


def test_south_up_and_two_dimensional_cubes():
    cube = _cube(_field(), {"y": 40, "x": 64})
    flip = cube.isel(y=slice(None, None, -1))
    for kwargs in ({"resolution": 25, "method": "bilinear"},
                   {"projection": 4326, "method": "average"}):
        a, b = resample_spatial(cube, **kwargs), resample_spatial(flip, **kwargs)
        np.testing.assert_array_equal(a.y.values, b.y.values)
        np.testing.assert_allclose(a.values, b.values, atol=1e-9)
    plane = resample_spatial(cube.isel(t=0, bands=0), resolution=25, method="cubic")
    assert plane.dims == ("y", "x")
    whole = resample_spatial(cube, resolution=25, method="cubic").isel(t=0, bands=0)
    np.testing.assert_array_equal(plane.values, whole.values)


def test_integer_cube_nodata_attribute_becomes_nan():
    data = np.full((1, 60, 80), 7, dtype="uint16")
    data[0, :20, :] = 0
    cube = xr.DataArray(data, dims=("bands", "y", "x"),
                        coords={"bands": ["B1"], "y": 100.0 - 0.5 - np.arange(60),
                                "x": 0.5 + np.arange(80)}, attrs={"nodata": 0})
    cube = set_crs(cube, "EPSG:32633").chunk({"y": 16, "x": 32})
    out = resample_spatial(cube, resolution=2, method="average")
    assert out.dtype == np.float64 and "nodata" not in out.attrs
    vals = out.values
    assert np.isnan(vals[0, :10]).all() and np.allclose(vals[0, 11:], 7)


def test_align_corners():
    cube = _cube(_field(), {"y": 50, "x": 50})  # 1600 m x 1200 m
    left, top = 400_000.0, 5_000_000.0
    right, bottom = left + 1600, top - 1200
    ul = resample_spatial(cube, resolution=300, align="upper-left")
    lr = resample_spatial(cube, resolution=300, align="lower-right")
    assert ul.sizes["x"] == lr.sizes["x"] == 6 and ul.sizes["y"] == lr.sizes["y"] == 4
    assert float(ul.x[0]) == left + 150 and float(ul.y[0]) == top - 150
    assert float(lr.x[-1]) == right - 150 and float(lr.y[-1]) == bottom + 150
    ll = resample_spatial(cube, resolution=[300, 250], align="lower-left")
    assert float(ll.x[0]) == left + 150 and float(ll.y[-1]) == bottom + 125
    assert ll.sizes["y"] == 5
    with pytest.raises(OpenEOError):
        resample_spatial(cube, resolution=300, align="middle")
    with pytest.raises(OpenEOError):
        resample_spatial(cube, resolution=300, method="gauss")


def test_resample_cube_spatial_uses_target_grid_lazily():
    data = _field()
    cube = _cube(data, {"y": 40, "x": 40})
    target = resample_spatial(_cube(data, None).isel(bands=[0]), projection=4326,
                              resolution=0.0004)
    out = resample_cube_spatial(cube, target, method="cubic")
    assert isinstance(out.data, da.Array)
    np.testing.assert_array_equal(out.x.values, target.x.values)
    np.testing.assert_array_equal(out.y.values, target.y.values)
    assert out.rio.crs.to_epsg() == 4326 and out.sizes["bands"] == 2
    dst = warp_lazy.grid_of(target)
    expected = _eager(data, warp_lazy.grid_of(cube), dst, "cubic")
    got = out.values
    both = ~np.isnan(got) & ~np.isnan(expected)
    assert both.mean() > 0.8 and np.abs(got[both] - expected[both]).max() < 0.05


class _Recorder:
    """A source whose blocks are generated on demand and remembered when read."""

    def __init__(self) -> None:
        self.read: list[tuple[int, ...]] = []
        self.lock = threading.Lock()

    def block(self, block_info=None):
        info = block_info[None]
        with self.lock:
            self.read.append(tuple(info["chunk-location"]))
        (y0, y1), (x0, x1) = info["array-location"][-2:]
        yy, xx = np.mgrid[y0:y1, x0:x1]
        return np.broadcast_to((np.sin(xx / 50.0) + yy / 1000.0).astype("float32"),
                               info["chunk-shape"]).copy()


def _lazy_source(recorder: _Recorder, ny: int, nx: int, chunk: int, nt: int = 1) -> xr.DataArray:
    arr = da.map_blocks(recorder.block, dtype="float32",
                        chunks=((1,) * nt, (chunk,) * (ny // chunk), (chunk,) * (nx // chunk)))
    cube = xr.DataArray(arr, dims=("t", "y", "x"),
                        coords={"t": np.arange(nt), "y": 6_000_000 - 5.0 - 10.0 * np.arange(ny),
                                "x": 500_000 + 5.0 + 10.0 * np.arange(nx)})
    return set_crs(cube, "EPSG:32632")


def test_one_output_chunk_reads_only_nearby_source_blocks(monkeypatch):
    monkeypatch.setattr(warp_lazy, "BLOCK_BYTES", 2**18)  # small output chunks
    rec = _Recorder()
    cube = _lazy_source(rec, 1024, 1024, 64)  # 16 x 16 source blocks
    assert rec.read == []
    for method, kwargs in (("bilinear", {"resolution": 20}),
                           ("average", {"projection": 4326})):
        out = resample_spatial(cube, method=method, **kwargs)
        assert rec.read == []  # building the graph reads nothing
        blocks = out.data.blocks
        mid = tuple(n // 2 for n in blocks.shape)
        blocks[mid].compute(scheduler="sync")
        read = set(rec.read)
        assert 0 < len(read) <= 16 * 16 // 4, (method, len(read))
        rows = {r[1] for r in read}
        assert max(rows) - min(rows) <= 8  # a compact window, not whole rows
        rec.read.clear()


def _traced_peak(ny: int) -> tuple[int, int]:
    """(peak traced bytes, cube bytes) of summing a lazily resampled ny x 1024 float32 cube."""
    rec = _Recorder()
    cube = _lazy_source(rec, ny, 1024, 256)
    out = resample_spatial(cube, resolution=15, method="bilinear")
    assert isinstance(out.data, da.Array) and out.data.npartitions >= ny // 512
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        total = out.sum().compute(scheduler="threads", num_workers=2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert np.isfinite(float(total))
    assert len(rec.read) == (ny // 256) * 4  # every source block read once
    return peak, ny * 1024 * 4


def test_large_lazy_cube_streams_in_bounded_memory(monkeypatch):
    monkeypatch.setattr(warp_lazy, "BLOCK_BYTES", 2**21)  # 2 MiB per task
    _traced_peak(512)  # warm-up: first-use imports and caches are not the cube's memory
    small, small_bytes = _traced_peak(2048)
    big, big_bytes = _traced_peak(16384)  # 64 MiB of source
    mib = 2 ** 20
    assert big < big_bytes / 2, f"peak {big / mib:.1f} MiB for a {big_bytes / mib} MiB cube"
    # four times the pixels: the peak grows by the graph's bookkeeping, not by the pixels
    assert big - small < (big_bytes - small_bytes) / 3, (small / mib, big / mib)


def test_graph_size_grows_with_chunks_not_pixels():
    rec = _Recorder()
    cube = _lazy_source(rec, 512, 512, 128)
    out = warp_lazy.warp(cube, warp_lazy.default_grid(warp_lazy.grid_of(cube),
                                                      CRS.from_epsg(32632), 20.0),
                         "near", block=64)
    assert out.data.numblocks == (1, 4, 4)
    with dask.config.set(scheduler="sync"):
        assert np.isfinite(out.values).all()


def test_apply_neighborhood_metres_and_time_tiles():
    from jupyter_eo.backend.processes.cubes_apply import apply_neighborhood

    cube = _cube(_field(), None)
    calls: list[dict] = []

    def process(data, context=None):
        calls.append(dict(data.sizes))
        return data * 2

    size = [{"dimension": "x", "value": 640, "unit": "m"},  # 64 px of 10 m
            {"dimension": "y", "value": 500, "unit": None},  # CRS units: 50 px
            {"dimension": "t", "value": 1, "unit": "px"}]
    overlap = [{"dimension": "x", "value": 4, "unit": "px"}]
    out = apply_neighborhood(cube, process, size, overlap)
    np.testing.assert_array_equal(out.values, cube.values * 2)
    assert out.dims == cube.dims and list(out.t.values) == list(cube.t.values)
    assert all(c["t"] == 1 and c["y"] <= 50 and c["x"] <= 72 for c in calls)
    assert max(c["y"] for c in calls) == 50 and max(c["x"] for c in calls) == 72
    assert len(calls) == 2 * -(-NY // 50) * -(-NX // 64)  # t x y x x tiles
    with pytest.raises(OpenEOError):
        apply_neighborhood(cube, process, [{"dimension": "t", "value": "P5D"}])
    geo = resample_spatial(cube, projection=4326)
    with pytest.raises(OpenEOError):
        apply_neighborhood(geo, process, [{"dimension": "x", "value": 100, "unit": "m"}])


def test_many_time_steps_in_one_chunk_are_split_not_tiny_tiles(monkeypatch):
    monkeypatch.setattr(warp_lazy, "BLOCK_BYTES", 2**22)
    rng = np.random.default_rng(3)
    data = rng.random((40, 2, 300, 300)).astype("float32")
    cube = xr.DataArray(data, dims=("t", "bands", "y", "x"),
                        coords={"t": np.arange(40), "bands": ["a", "b"],
                                "y": 100.0 - 5 - 10 * np.arange(300), "x": 5 + 10 * np.arange(300)})
    cube = set_crs(cube, "EPSG:32633").chunk({"t": 40, "y": 150, "x": 300})
    out = resample_spatial(cube, resolution=20, method="average")
    assert out.data.chunks[0] == (1,) * 40 and out.data.chunksize[2] == 150
    src = warp_lazy.grid_of(cube)
    dst = warp_lazy.grid_of(out)
    np.testing.assert_allclose(out.values, _eager(data, src, dst, "average"), rtol=1e-6)


def test_unprojectable_extent_is_an_openeo_error():
    world = xr.DataArray(np.zeros((90, 180)), dims=("y", "x"),
                         coords={"y": 89.5 - np.arange(90) * 2, "x": -179 + np.arange(180) * 2})
    world = set_crs(world, "EPSG:4326")
    with pytest.raises(OpenEOError) as info:
        resample_spatial(world, projection=3031)  # Antarctic polar stereographic
    assert info.value.code == "ProcessParameterInvalid"
    with pytest.raises(OpenEOError):
        resample_spatial(world, projection="EPSG:9999999")
    with pytest.raises(OpenEOError):
        resample_spatial(world, resolution=-1)
