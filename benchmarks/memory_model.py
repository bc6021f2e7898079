"""Memory model benchmark: measured peak RSS of one request vs the estimate made before any work.

Usage (from the repository root):

    .venv/bin/python benchmarks/memory_model.py                 # 1 month .. 10 years, GTiff+netCDF
    .venv/bin/python benchmarks/memory_model.py --periods 1y --formats GTiff

Each case is the beginner's one-liner (SENTINEL2_L2A, a ~400 m box, all 15 bands) with a
temporal extent of the given length, run through ``Backend.run_to_file`` (estimate, evaluate,
write) in a fresh process, so caches and earlier cases do not blur the figure. Prints the
output layers, wall time, the measured peak RSS above the level before the request (sampled
every 1 ms) and the estimate of :mod:`jupyter_eo.backend.memory_model`.
"""
from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BOX = {"west": 11.0, "south": 46.0, "east": 11.0052, "north": 46.0036}
PERIODS = {"1m": ("2024-01-01", "2024-02-01"), "3m": ("2024-01-01", "2024-04-01"),
           "1y": ("2024-01-01", "2025-01-01"), "4y": ("2021-01-01", "2025-01-01"),
           "10y": (None, None)}


def run_case(period: str, fmt: str, cache: str) -> dict:
    """One request in this process (called in a child process by ``main``)."""
    from benchmarks.memory import PeakRSS
    from jupyter_eo.backend.app import Backend, BackendConfig
    from jupyter_eo.backend.limits import check_graph
    from jupyter_eo.backend.memory_model import estimate_memory

    data_dir = Path(tempfile.mkdtemp())
    backend = Backend(BackendConfig(data_dir=data_dir, users={"u": "p"},
                                    cache_dir=Path(cache)))
    start, end = PERIODS[period]
    pg = {"l": {"process_id": "load_collection", "arguments": {
              "id": "SENTINEL2_L2A", "spatial_extent": BOX, "temporal_extent":
              None if start is None else [start, end]}},
          "s": {"process_id": "save_result", "arguments": {"data": {"from_node": "l"},
                                                           "format": fmt}, "result": True}}
    estimate = estimate_memory(check_graph(pg, backend.config.limits), backend.catalog)
    started = time.perf_counter()
    with PeakRSS() as mem:
        written = backend.run_to_file(pg, "u", data_dir / "out", "r", max_pixels=None)
    seconds = time.perf_counter() - started
    backend.close()
    return {"period": period, "format": fmt, "layers": estimate.layers,
            "seconds": round(seconds, 1), "peak_mb": round(mem.extra / 2 ** 20),
            "estimate_mb": round(estimate.peak_bytes() / 2 ** 20),
            "file_mb": round(written.path.stat().st_size / 2 ** 20, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--periods", default="1m,3m,1y,4y,10y")
    parser.add_argument("--formats", default="GTiff,netCDF")
    parser.add_argument("--case", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--cache", default=os.path.expanduser("~/.cache/jupyter_eo"))
    args = parser.parse_args()
    os.environ.setdefault("GDAL_CACHEMAX", "128")  # as jupyter-eo serve sets it
    if args.case:
        print(json.dumps(run_case(*args.case, cache=args.cache)))
        return
    print(f"{'period':>6} {'format':>7} {'layers':>7} {'time s':>7} {'peak MB':>8} "
          f"{'estimate MB':>11} {'file MB':>8}")
    for period in args.periods.split(","):
        for fmt in args.formats.split(","):
            out = subprocess.run([sys.executable, __file__, "--case", period, fmt,
                                  "--cache", args.cache], capture_output=True, text=True,
                                 check=True)
            row = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{row['period']:>6} {row['format']:>7} {row['layers']:>7,} "
                  f"{row['seconds']:>7} {row['peak_mb']:>8,} {row['estimate_mb']:>11,} "
                  f"{row['file_mb']:>8}")


if __name__ == "__main__":
    main()
