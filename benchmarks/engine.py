"""Engine benchmark: NDVI then max over time, hand-written numpy vs our engine vs peers.

Usage (from the repository root):

    .venv/bin/python benchmarks/engine.py                 # 24 x 4 x 2048 x 2048 float32
    .venv/bin/python benchmarks/engine.py --size 1024     # smaller, for a quick check
    .venv/bin/python benchmarks/engine.py --big --big-gb 14  # lazy from disk, > half the RAM
    .venv/bin/python benchmarks/engine.py --http-only     # HTTP path (jupyter-eo serve + client)

Prints median wall time and peak extra memory of each contender (the larger of: RSS above the
level before a timed run, sampled every millisecond; peak tracemalloc-traced allocations of the
warm-up run), and the ratios to the read floor (one pass reading only the two bands) and to
the strip-blocked numpy loop.
"""
from __future__ import annotations

import os
import sys

# Sibling scripts in benchmarks/ (e.g. collections.py) must not shadow standard modules.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse
import gc
import json
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import psutil
import xarray as xr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.memory import PeakRSS  # noqa: E402
from jupyter_eo.backend.cube import set_crs  # noqa: E402
from jupyter_eo.backend.engine import EvalContext, evaluate, materialize  # noqa: E402

BANDS = ["B02", "B04", "B08", "B11"]
GRAPH = {
    "load": {"process_id": "load_collection", "arguments": {
        "id": "BENCH", "spatial_extent": None, "temporal_extent": None, "bands": ["B04", "B08"]}},
    "ndvi": {"process_id": "reduce_dimension", "arguments": {
        "data": {"from_node": "load"}, "dimension": "bands", "reducer": {"process_graph": {
            "nir": {"process_id": "array_element",
                    "arguments": {"data": {"from_parameter": "data"}, "label": "B08"}},
            "red": {"process_id": "array_element",
                    "arguments": {"data": {"from_parameter": "data"}, "label": "B04"}},
            "nd": {"process_id": "normalized_difference",
                   "arguments": {"x": {"from_node": "nir"}, "y": {"from_node": "red"}},
                   "result": True}}}}},
    "tmax": {"process_id": "reduce_dimension", "arguments": {
        "data": {"from_node": "ndvi"}, "dimension": "t", "reducer": {"process_graph": {
            "m": {"process_id": "max", "arguments": {"data": {"from_parameter": "data"}},
                  "result": True}}}}},
    "save": {"process_id": "save_result",
             "arguments": {"data": {"from_node": "tmax"}, "format": "GTiff"}, "result": True},
}


class MemoryCollection:
    """Catalog collection over an existing (numpy- or dask-backed) cube."""

    def __init__(self, cube: xr.DataArray) -> None:
        self.cube = cube

    def metadata(self) -> dict[str, Any]:
        return {"summaries": {"eo:bands": [{"name": b} for b in BANDS]}}

    def load(self, spatial_extent=None, temporal_extent=None, bands=None, property_filter=None,
             **_: Any) -> xr.DataArray:
        if bands is None:
            return self.cube
        idx = [BANDS.index(b) for b in bands]
        if idx == list(range(idx[0], idx[0] + len(idx))):  # contiguous: a view, not a copy
            return self.cube.isel(bands=slice(idx[0], idx[0] + len(idx)))
        return self.cube.isel(bands=idx)


class Catalog:
    def __init__(self, cube: xr.DataArray) -> None:
        self.collection = MemoryCollection(cube)

    def get(self, collection_id: str) -> MemoryCollection:
        return self.collection


def make_cube(nt: int, size: int, seed: int = 0) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    data = np.empty((nt, len(BANDS), size, size), dtype=np.float32)
    for t in range(nt):
        data[t] = rng.random((len(BANDS), size, size), dtype=np.float32)
    cube = xr.DataArray(data, dims=("t", "bands", "y", "x"), coords={
        "t": pd.date_range("2022-01-01", periods=nt, freq="7D"), "bands": BANDS,
        "y": 10.0 * np.arange(size)[::-1] + 5, "x": 10.0 * np.arange(size) + 5})
    return set_crs(cube, "EPSG:32633")


def numpy_streaming(data: np.ndarray, red: int = 1, nir: int = 2, rows: int = 128,
                    threads: int = 2) -> np.ndarray:
    """Hand-written floor: row blocks on a thread pool, running max over time."""
    nt, _, ny, nx = data.shape
    out = np.empty((ny, nx), dtype=np.float32)

    def block(r0: int) -> None:
        sl = slice(r0, min(ny, r0 + rows))
        acc = None
        for t in range(nt):
            n, r = data[t, nir, sl], data[t, red, sl]
            with np.errstate(all="ignore"):
                v = (n - r) / (n + r)
            acc = v if acc is None else np.fmax(acc, v, out=acc)
        out[sl] = acc

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(block, range(0, ny, rows)))
    return out


def read_floor(data: np.ndarray, red: int = 1, nir: int = 2, rows: int = 16,
               threads: int = 2) -> np.ndarray:
    """The real floor: one pass that only reads the two bands (a max of each pair into a
    cache-resident buffer), no NDVI arithmetic. Nothing that reads the bands can be faster."""
    nt, _, ny, nx = data.shape
    out = np.empty((ny, nx), dtype=np.float32)

    def block(r0: int) -> None:
        sl = slice(r0, min(ny, r0 + rows))
        acc = np.full((sl.stop - sl.start, nx), -np.inf, dtype=np.float32)
        tmp = np.empty_like(acc)
        for t in range(nt):
            np.maximum(data[t, nir, sl], data[t, red, sl], out=tmp)
            np.maximum(acc, tmp, out=acc)
        out[sl] = acc

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(block, range(0, ny, rows)))
    return out


def numpy_strips(data: np.ndarray, red: int = 1, nir: int = 2, rows: int = 16,
                 threads: int = 2) -> np.ndarray:
    """Strip-blocked numpy: 16-row strips (128 KiB per temporary at 2048 columns, so they
    stay in cache) and preallocated buffers (``out=``), running ``fmax`` over time."""
    nt, _, ny, nx = data.shape
    out = np.empty((ny, nx), dtype=np.float32)

    def block(r0: int) -> None:
        sl = slice(r0, min(ny, r0 + rows))
        shape = (sl.stop - sl.start, nx)
        acc, num, den = (np.empty(shape, np.float32) for _ in range(3))
        with np.errstate(all="ignore"):
            for t in range(nt):
                n, r = data[t, nir, sl], data[t, red, sl]
                np.subtract(n, r, out=num)
                np.add(n, r, out=den)
                np.divide(num, den, out=num if t else acc)
                if t:
                    np.fmax(acc, num, out=acc)
        out[sl] = acc

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(block, range(0, ny, rows)))
    return out


def ours(cube: xr.DataArray) -> np.ndarray:
    ctx = EvalContext(catalog=Catalog(cube))
    result = evaluate(json.loads(json.dumps(GRAPH)), ctx)
    return np.asarray(materialize(result, ctx).data.values)


def xarray_dask(c: xr.DataArray) -> np.ndarray:
    """Plain xarray + dask, the way most code is written (source chunked per time step)."""
    nir, red = c.sel(bands="B08"), c.sel(bands="B04")
    return ((nir - red) / (nir + red)).max("t").values


def openeo_processes_dask(cube: xr.DataArray) -> np.ndarray | None:
    """The openeo-processes-dask graph path, when that package is importable."""
    try:
        from openeo_pg_parser_networkx import OpenEOProcessGraph, ProcessRegistry  # noqa: F401
        from openeo_pg_parser_networkx.process_registry import Process
        from openeo_processes_dask.process_implementations.core import process
        import openeo_processes_dask.specs  # noqa: F401
    except Exception:  # noqa: BLE001 - optional peer
        return None
    import importlib
    import inspect

    registry = ProcessRegistry(wrap_funcs=[process])
    impl_mod = importlib.import_module("openeo_processes_dask.process_implementations")
    spec_mod = importlib.import_module("openeo_processes_dask.specs")
    for name, func in inspect.getmembers(impl_mod, inspect.isfunction):
        spec = getattr(spec_mod, name, None)
        if spec is not None:
            registry[("predefined", name)] = Process(spec=spec, implementation=func)
    source = cube

    def load_collection(*args: Any, **kwargs: Any) -> xr.DataArray:
        return source.sel(bands=["B04", "B08"])

    registry[("predefined", "load_collection")] = Process(
        spec=registry[("predefined", "load_collection")].spec if ("predefined", "load_collection")
        in registry else {}, implementation=load_collection)
    graph = {k: v for k, v in GRAPH.items() if k != "save"}
    graph = json.loads(json.dumps(graph))
    graph["tmax"]["result"] = True
    pg = OpenEOProcessGraph(pg_data={"process_graph": graph})
    result = pg.to_callable(process_registry=registry)()
    return np.asarray(result.compute() if hasattr(result, "compute") else result)


def measure(func: Callable[[], Any], repeats: int) -> tuple[float, int, Any]:
    times, peaks, result = [], [], None
    for _ in range(repeats):
        result = None
        gc.collect()
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            result = func()
            times.append(time.perf_counter() - t0)
        peaks.append(mem.extra)
    return statistics.median(times), max(peaks), result


def traced_peak(func: Callable[[], Any]) -> int:
    """Peak bytes allocated during one call (tracemalloc sees numpy buffers in all threads;
    unlike RSS it is not hidden by memory the allocator kept from earlier runs)."""
    import tracemalloc

    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = func()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    del result
    return peak


def fmt_mb(n: int) -> str:
    return f"{n / 2**20:8.1f} MB"


def run_in_memory(nt: int, size: int, repeats: int, peers: bool) -> None:
    cube = make_cube(nt, size)
    cube_bytes = cube.nbytes
    print(f"cube {nt}x{len(BANDS)}x{size}x{size} float32 = {cube_bytes / 2**30:.2f} GiB in memory, "
          f"{os.cpu_count()} cores, median of {repeats}")
    data = cube.values
    rows = [("read floor (2 bands, 2 threads)", lambda: read_floor(data))]
    rows.append(("numpy strips (2 threads)", lambda: numpy_strips(data)))
    rows.append(("numpy streaming (2 threads)", lambda: numpy_streaming(data)))
    rows.append(("jupyter_eo engine (graph JSON)", lambda: ours(cube)))
    if peers:
        # peers get the source already chunked (chunking, i.e. hashing, is not timed)
        chunked = cube.chunk({"t": 1, "bands": -1, "y": 1024, "x": 1024})
        rows.append(("xarray + dask (pre-chunked source)", lambda: xarray_dask(chunked)))
        rows.append(("openeo-processes-dask (pre-chunked)",
                     lambda: openeo_processes_dask(chunked)))
    traced: dict[str, int] = {}
    for name, func in rows:  # warm-up (imports, spec loading, pools) doubling as memory run
        try:
            traced[name] = traced_peak(func)
        except Exception:  # noqa: BLE001 - reported below
            pass
    # interleave the contenders so machine load hits all of them alike
    stats: dict[str, dict[str, Any]] = {name: {"times": [], "peaks": [], "result": None,
                                               "error": None} for name, _ in rows}
    for _ in range(repeats):
        for name, func in rows:
            entry = stats[name]
            if entry["error"] is not None:
                continue
            try:
                seconds, extra, result = measure(func, 1)
            except Exception as exc:  # noqa: BLE001 - report and continue
                entry["error"] = f"{type(exc).__name__}: {exc}"
                continue
            if result is None:
                entry["error"] = "not available"
                continue
            entry["times"].append(seconds)
            entry["peaks"].append(extra)
            entry["result"] = result
    floor_time = numpy_time = reference = None
    print(f"{'':36s} {'time':>9s}  {'/floor':>6s} {'/numpy':>6s}  extra memory")
    for name, _ in rows:
        entry = stats[name]
        if entry["error"] is not None:
            print(f"{name:36s} {entry['error']}")
            continue
        seconds, extra, result = (statistics.median(entry["times"]), max(entry["peaks"]),
                                  entry["result"])
        if floor_time is None:
            floor_time = seconds  # the read floor computes no NDVI: not compared
            same = "floor"
        else:
            if reference is None:
                reference, numpy_time = result, seconds
            same = str(np.array_equal(result, reference, equal_nan=True))
        ratio_numpy = f"{seconds / numpy_time:6.2f}" if numpy_time else "     -"
        peak = max(extra, traced.get(name, 0))
        print(f"{name:36s} {seconds:7.3f} s  {seconds / floor_time:6.2f} {ratio_numpy}  "
              f"{fmt_mb(peak)} ({peak / cube_bytes:5.3f} of cube)  equal={same}")


def run_cpu(nt: int, size: int, repeats: int) -> None:
    """CPU seconds on one thread (less sensitive to other jobs than wall time), interleaved:
    the read floor, the strip-blocked loop and the engine on dask's synchronous scheduler."""
    cube = make_cube(nt, size)
    data = cube.values

    def engine_sync() -> np.ndarray:
        ctx = EvalContext(catalog=Catalog(cube))
        result = evaluate(json.loads(json.dumps(GRAPH)), ctx)
        return np.asarray(result.data.data.compute(scheduler="sync"))

    rows = {"read floor (1 thread)": lambda: read_floor(data, threads=1),
            "numpy strips (1 thread)": lambda: numpy_strips(data, threads=1),
            "jupyter_eo engine (sync scheduler)": engine_sync}
    engine_sync()  # warm-up
    cpu: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(repeats):
        for name, func in rows.items():
            t0 = time.process_time()
            func()
            cpu[name].append(time.process_time() - t0)
    floor = statistics.median(cpu["read floor (1 thread)"])
    print(f"CPU time, one thread, median of {repeats}:")
    for name, values in cpu.items():
        seconds = statistics.median(values)
        print(f"{name:36s} {seconds:7.3f} s CPU  {seconds / floor:6.2f} x floor")


def write_big(folder: Path, nt: int, size: int) -> xr.DataArray:
    """Zarr on disk, chunked per time step and 2048² tile; returns the lazily opened cube."""
    import dask.array as da

    chunks = (1, len(BANDS), 2048, 2048)  # one chunk per time step and 2048² tile
    arr = da.random.default_rng(1).random((nt, len(BANDS), size, size), dtype=np.float32,
                                          chunks=chunks)
    cube = xr.DataArray(arr, dims=("t", "bands", "y", "x"), coords={
        "t": pd.date_range("2022-01-01", periods=nt, freq="7D"), "bands": BANDS,
        "y": 10.0 * np.arange(size)[::-1] + 5, "x": 10.0 * np.arange(size) + 5}, name="v")
    store = folder / "big.zarr"
    if not store.exists():
        cube.to_dataset().to_zarr(store, mode="w", encoding={"v": {"compressors": None}})
    opened = xr.open_zarr(store)["v"]
    return set_crs(opened, "EPSG:32633")


def run_big(gb: float, folder: Path | None) -> None:
    size = 8192
    nt = max(2, int(gb * 2**30 / (len(BANDS) * size * size * 4)))
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        t0 = time.perf_counter()
        cube = write_big(Path(tmp), nt, size)
        print(f"big cube {nt}x{len(BANDS)}x{size}x{size} float32 = {cube.nbytes / 2**30:.1f} GiB "
              f"on disk (written in {time.perf_counter() - t0:.0f} s), RAM "
              f"{psutil.virtual_memory().total / 2**30:.0f} GiB")
        seconds, extra, result = measure(lambda: ours(cube), 1)
        print(f"jupyter_eo engine (lazy from Zarr)   {seconds:7.1f} s  extra {fmt_mb(extra)} "
              f"({extra / cube.nbytes:5.3f} of cube), result {result.shape}")


# -- HTTP path: a Zarr user collection served by ``jupyter-eo serve``, official client ----------
HTTP_BANDS = ("B04", "B08")


def write_http_store(folder: Path, nt: int, size: int) -> Path:
    """A Zarr store written the standard way (rioxarray CRS, one variable per band, one
    uncompressed chunk per time step), as a user would drop into ``--collections-dir``."""
    import rioxarray  # noqa: F401 - registers .rio

    rng = np.random.default_rng(3)
    coords = {"t": pd.date_range("2022-01-01", periods=nt, freq="7D"),
              "y": 10.0 * np.arange(size)[::-1] + 5_000_005.0,
              "x": 10.0 * np.arange(size) + 500_005.0}
    data = {band: (("t", "y", "x"), rng.random((nt, size, size), dtype=np.float32))
            for band in HTTP_BANDS}
    ds = xr.Dataset(data, coords=coords).rio.write_crs("EPSG:32633")
    store = folder / "bench.zarr"
    ds.to_zarr(store, mode="w", encoding={b: {"compressors": None, "chunks": (1, size, size)}
                                          for b in HTTP_BANDS})
    return store


def numpy_store_to_gtiff(store: Path, out: Path, profile: dict[str, Any],
                         threads: int = 2) -> np.ndarray:
    """The hand-written path: zarr reads of B04/B08 per time step, NDVI with ``out=`` buffers
    and a running ``fmax`` (time steps split over ``threads``), then rasterio writes a GTiff
    with the engine's own profile (driver, tiling, compression, CRS, transform)."""
    import rasterio
    import zarr

    group = zarr.open_group(str(store), mode="r")
    red, nir = group["B04"], group["B08"]
    nt = red.shape[0]

    def fold(ts: range) -> np.ndarray:
        acc = num = None
        for t in ts:
            r, n = red[t], nir[t]
            if num is None:
                num, den = np.empty_like(r), np.empty_like(r)
            with np.errstate(all="ignore"):
                np.subtract(n, r, out=num)
                np.add(n, r, out=den)
                np.divide(num, den, out=num)
            if acc is None:
                acc = num.copy()
            else:
                np.fmax(acc, num, out=acc)
        return acc

    with ThreadPoolExecutor(threads) as pool:
        parts = [p for p in pool.map(fold, [range(i, nt, threads) for i in range(threads)])
                 if p is not None]
    result = parts[0]
    for part in parts[1:]:
        np.fmax(result, part, out=result)
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(result, 1)
    return result


def run_http(nt: int, size: int, repeats: int, folder: Path | None) -> None:
    """HTTP path vs the hand-written path on the same Zarr store, interleaved, same run."""
    import subprocess
    import threading

    import openeo
    import rasterio

    with tempfile.TemporaryDirectory(dir=folder) as tmp_name:
        tmp = Path(tmp_name)
        collections = tmp / "collections"
        collections.mkdir()
        t0 = time.perf_counter()
        store = write_http_store(collections, nt, size)
        store_bytes = sum(p.stat().st_size for p in store.rglob("*") if p.is_file())
        print(f"\nHTTP path: Zarr store {nt} x {len(HTTP_BANDS)} x {size}² float32, "
              f"{store_bytes / 2**20:.0f} MiB on disk (written in {time.perf_counter() - t0:.0f}"
              f" s), load average {os.getloadavg()[0]:.1f}")
        users = tmp / "users"
        users.write_text("bench:bench-password\n")
        os.chmod(users, 0o600)
        env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_EO_")}
        env["JUPYTER_EO_CACHE_DIR"] = str(tmp / "cache")
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyter_eo.cli", "serve", "--port", "0", "--data-dir",
             str(tmp / "state"), "--collections-dir", str(collections), "--users-file",
             str(users), "--max-pixels", str(4 * nt * size * size),
             "--max-request-memory", "0", "--sync-timeout", "600"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
            cwd=Path(__file__).resolve().parents[1])
        try:
            line = server.stdout.readline().strip()  # type: ignore[union-attr]
            url = line.rsplit(" ", 1)[-1]
            if not url.startswith("http://127.0.0.1:"):
                raise RuntimeError(f"jupyter-eo serve did not start: {line!r}")
            drain = server.stdout.read  # type: ignore[union-attr]
            threading.Thread(target=drain, daemon=True).start()
            connection = openeo.connect(url)
            connection.authenticate_basic("bench", "bench-password")
            cid = next(c["id"] for c in connection.list_collections()
                       if "bench.zarr" in c.get("title", ""))
            graph = json.loads(json.dumps(GRAPH))
            graph["load"]["arguments"]["id"] = cid
            http_out, numpy_out = tmp / "http.tif", tmp / "numpy.tif"

            def http() -> str:
                connection.download(graph, http_out)
                return "ok"

            http()  # warm-up (imports, catalog, pools); gives the engine's GTiff profile
            with rasterio.open(http_out) as src:
                profile = dict(src.profile)
                engine_result = src.read(1)
            numpy_result = numpy_store_to_gtiff(store, numpy_out, profile)  # warm-up
            times: dict[str, list[float]] = {"http": [], "numpy": []}
            loads = []
            for _ in range(repeats):
                for name, func in (("http", http),
                                   ("numpy", lambda: numpy_store_to_gtiff(store, numpy_out,
                                                                          profile))):
                    gc.collect()
                    t0 = time.perf_counter()
                    func()
                    times[name].append(time.perf_counter() - t0)
                loads.append(os.getloadavg()[0])
            http_s, numpy_s = statistics.median(times["http"]), statistics.median(times["numpy"])
            equal = (engine_result.dtype == numpy_result.dtype
                     and np.array_equal(engine_result, numpy_result, equal_nan=True))
            print(f"GTiff {profile.get('width')}x{profile.get('height')} {profile.get('dtype')}, "
                  f"compress={profile.get('compress')}, tiled={profile.get('tiled')}; "
                  f"median of {repeats}, load average {min(loads):.1f}-{max(loads):.1f}")
            print(f"{'numpy (zarr read + rasterio GTiff)':36s} {numpy_s:7.3f} s  1.00")
            print(f"{'HTTP: openeo client -> serve -> GTiff':36s} {http_s:7.3f} s  "
                  f"{http_s / numpy_s:5.2f}  equal={equal} (values and dtype)")
            print("runs (s): http " + ", ".join(f"{t:.2f}" for t in times["http"])
                  + "; numpy " + ", ".join(f"{t:.2f}" for t in times["numpy"]))
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048, help="pixels per side (default 2048)")
    parser.add_argument("--nt", type=int, default=24, help="time steps (default 24)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-peers", action="store_true", help="skip xarray/dask peers")
    parser.add_argument("--big", action="store_true", help="also run the lazy-from-disk case")
    parser.add_argument("--cpu", action="store_true",
                        help="also report single-thread CPU time (stabler on a busy machine)")
    parser.add_argument("--big-gb", type=float, default=13.0, help="size of the big cube, GiB")
    parser.add_argument("--http", action="store_true",
                        help="also run the HTTP path (Zarr user collection, jupyter-eo serve, "
                             "official client, GTiff) against numpy + rasterio on the same store")
    parser.add_argument("--http-only", action="store_true", help="run only the HTTP path")
    parser.add_argument("--http-nt", type=int, default=12, help="time steps of the HTTP store")
    parser.add_argument("--http-size", type=int, default=2048, help="pixels per side (HTTP)")
    parser.add_argument("--tmp", type=Path, default=None, help="folder for the big cube")
    parser.add_argument("--peer-path", type=Path, default=None,
                        help="extra import path holding openeo-processes-dask (kept out of the "
                             "product's environment; see benchmarks/README.md)")
    args = parser.parse_args()
    if args.peer_path is not None:
        sys.path.append(str(args.peer_path))
    if not args.http_only:
        run_in_memory(args.nt, args.size, args.repeats, not args.no_peers)
        if args.cpu:
            run_cpu(args.nt, args.size, args.repeats)
        if args.big:
            run_big(args.big_gb, args.tmp)
    if args.http or args.http_only:
        run_http(args.http_nt, args.http_size, args.repeats, args.tmp)


if __name__ == "__main__":
    main()
