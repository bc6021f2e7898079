"""Benchmark of the simulated collections: generation time per 1024x1024 frame and the disk cache.

Run: ``.venv/bin/python -m benchmarks.simulated_collections`` (or the file path; uses a temporary cache
dir; ~1 minute). Reports CPU (process) time where it can, so other load on the machine matters
less than for wall time.
"""
from __future__ import annotations

import os
import sys

# This file is named like the stdlib module: when run as a script, drop its folder from sys.path.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

import datetime as dt  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jupyter_eo.backend.catalog import basemap, simulated_world as world  # noqa: E402
from jupyter_eo.backend.catalog.cache import ChunkCache  # noqa: E402
from jupyter_eo.backend.catalog.grid import grid_for, to_crs  # noqa: E402
from jupyter_eo.backend.catalog.sentinel1 import Sentinel1GRD, render_s1  # noqa: E402
from jupyter_eo.backend.catalog.sentinel2 import BANDS, Sentinel2L2A, render_s2  # noqa: E402
from jupyter_eo.backend.catalog.world_data import land_bits, set_world_dir  # noqa: E402

ALL_S2 = [b[0] for b in BANDS] + ["SCL"]
PLACES = {"temperate farmland (DE)": (10.0, 51.0), "tropical forest (BR)": (-60.0, -3.0),
          "desert (DZ)": (5.0, 27.0), "coast (PT)": (-9.5, 38.7)}


def cpu(fn, repeat: int = 5) -> float:
    """Median process time of ``fn`` in seconds."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def frame_grid(lon: float, lat: float):
    return grid_for((lon, lat, lon + 0.15, lat + 0.1), to_crs(4326), None, 10.0).sub(0, 0, 1024, 1024)


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="jupyter-eo-bench-"))
    set_world_dir(tmp / "world")
    start = time.perf_counter()
    land_bits()
    print(f"one-off land-mask bit file: {time.perf_counter() - start:.1f} s")
    cloudy = dt.date(2021, 6, 30)  # partly cloudy over most places (seed 2017)
    print("\n1024 x 1024 frame, CPU seconds (median of 5)")
    print(f"{'place':28s} {'static':>7s} {'S2 13+SCL':>9s} {'S2 B04,B08':>10s} {'S1 VV,VH':>8s}")
    for name, (lon, lat) in PLACES.items():
        grid = frame_grid(lon, lat)
        t_static = cpu(lambda: world.land_cover(grid, 2017))
        static = world.land_cover(grid, 2017)
        t_all = cpu(lambda: render_s2(grid, cloudy, ALL_S2, 2017, static))
        t_two = cpu(lambda: render_s2(grid, cloudy, ["B04", "B08"], 2017, static))
        t_s1 = cpu(lambda: render_s1(grid, cloudy, ["VV", "VH"], 2017, static))
        print(f"{name:28s} {t_static:7.3f} {t_all:9.3f} {t_two:10.3f} {t_s1:8.3f}")

    print("\nlazy load + compute, 2048 x 2048 px x 6 dates x 3 bands (B04, B08, SCL), 1 thread")
    aoi = {"west": 10.0, "south": 51.0, "east": 10.29, "north": 51.18}
    for label, cache in (("no cache", ChunkCache(None)), ("cold disk cache", ChunkCache(tmp / "chunks")),
                         ("warm disk cache", None)):
        coll = Sentinel2L2A(cache=cache or ChunkCache(tmp / "chunks"))
        cube = coll.load(aoi, ["2021-06-01", "2021-07-01"], ["B04", "B08", "SCL"])
        cube = cube.isel(x=slice(0, 2048), y=slice(0, 2048))
        start, start_cpu = time.perf_counter(), time.process_time()
        cube.compute(scheduler="threads", num_workers=1)
        print(f"  {label:18s} wall {time.perf_counter() - start:5.2f} s, CPU {time.process_time() - start_cpu:5.2f} s"
              f"  ({cube.sizes['t']} dates, {len(cube.chunks[2]) * len(cube.chunks[3])} spatial chunks)")
    s1 = Sentinel1GRD()
    start = time.perf_counter()
    s1.load(aoi, ["2021-06-01", "2021-07-01"], ["VV", "VH"]).isel(x=slice(0, 1024), y=slice(0, 1024)).compute(
        scheduler="threads", num_workers=1)
    print(f"  S1 1024 x 1024 x 5 dates x 2 bands, no cache: {time.perf_counter() - start:.2f} s")

    print("\nbasemap tile 256 x 256, CPU ms (median of 5)")
    for zxy in ((0, 0, 0), (5, 16, 10), (9, 268, 172), (14, 8590, 5600)):
        basemap.render_tile(*zxy)
        print(f"  z/x/y {zxy}: {cpu(lambda: basemap.render_tile(*zxy)) * 1000:5.1f} ms")


if __name__ == "__main__":
    main()
