"""Local threaded engine vs. a 2-worker process cluster: time and backend-process memory.

Run: ``.venv/bin/python -m benchmarks.scale_out`` (about 2 minutes). It starts a ``dask
scheduler`` and two ``dask worker --nworkers 1 --nthreads 1`` processes, and two ``jupyter-eo
serve`` backends (one local, one with ``--dask-address``), each with its own fresh chunk cache in
a temporary folder; then it sends the same request through the official openeo client: a cold
run (rendering the simulated scenes, filling the cache) and warm runs (cache hits), and samples
the backend process's resident memory (``/proc/PID/status`` every 10 ms) while each runs.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

DASK = str(Path(sys.executable).with_name("dask"))
PASSWORD = "benchmark-password"


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class PeakRss:
    """Largest resident set of ``pid`` while the ``with`` block runs (sampled every 10 ms)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mib(self.pid))
            self._stop.wait(0.01)

    def __enter__(self) -> "PeakRss":
        self.before = rss_mib(self.pid)
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


def start_cluster(tmp: Path, env: dict[str, str]) -> tuple[list[subprocess.Popen], str]:
    tmp.mkdir(parents=True, exist_ok=True)
    sched_file = tmp / "scheduler.json"
    procs = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(sched_file)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    while not sched_file.exists():
        if procs[0].poll() is not None:
            raise SystemExit(f"dask scheduler exited with {procs[0].returncode}")
        time.sleep(0.1)
    for _ in range(2):
        procs.append(subprocess.Popen(
            [DASK, "worker", "--scheduler-file", str(sched_file), "--nworkers", "1",
             "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1",
             "--local-directory", str(tmp / "workers")], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    from distributed import Client

    with Client(scheduler_file=str(sched_file), timeout=60) as client:
        client.wait_for_workers(2, timeout=120)
        return procs, client.scheduler.address


def start_serve(tmp: Path, extra: list[str]) -> tuple[subprocess.Popen, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_EO_")}
    env.update(JUPYTER_EO_CACHE_DIR=str(tmp / "cache"), JUPYTER_EO_BACKEND_PASSWORD=PASSWORD)
    tmp.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "jupyter_eo.cli", "serve", "--port", "0",
                             "--data-dir", str(tmp / "state"), "--sync-timeout", "600",
                             *extra], stdout=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline()  # type: ignore[union-attr]
    return proc, re.search(r"serving openEO API at (\S+)", line).group(1)  # type: ignore


def request(url: str, box: float, months: int) -> bytes:
    import openeo

    con = openeo.connect(url).authenticate_basic("local", PASSWORD)
    end = f"2024-{5 + months:02d}-01"
    cube = con.load_collection("SENTINEL2_L2A", spatial_extent={
        "west": 5.0, "south": 51.2, "east": 5.0 + box, "north": 51.2 + box},
        temporal_extent=["2024-05-01", end], bands=["B04", "B08"])
    return cube.ndvi().max_time().download(format="GTiff")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--box", type=float, default=0.1, help="AOI side in degrees")
    parser.add_argument("--months", type=int, default=3)
    parser.add_argument("--warm-runs", type=int, default=3)
    args = parser.parse_args(argv)
    os.environ.setdefault("OPENEO_CONFIG_HOME", tempfile.mkdtemp())
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_EO_")}
        cluster, address = start_cluster(tmp / "cluster", env)
        backends = {"local threads": start_serve(tmp / "local", []),
                    "2-worker process cluster": start_serve(tmp / "dask",
                                                            ["--dask-address", address])}
        try:
            print(f"NDVI max of SENTINEL2_L2A, {args.box} deg box, {args.months} months, GTiff")
            print("| engine | cold s | warm s (median) | backend RSS before MiB "
                  "| backend peak RSS MiB |")
            print("|---|---:|---:|---:|---:|")
            results = {}
            for name, (proc, url) in backends.items():
                times, peaks = [], []
                for _ in range(1 + args.warm_runs):
                    with PeakRss(proc.pid) as rss:
                        t0 = time.perf_counter()
                        results.setdefault(name, request(url, args.box, args.months))
                        times.append(time.perf_counter() - t0)
                    peaks.append(rss.peak)
                    before = rss.before if len(times) == 1 else before
                print(f"| {name} | {times[0]:.2f} | {statistics.median(times[1:]):.2f} | "
                      f"{before:.0f} | {max(peaks):.0f} |")
            same = len(set(results.values())) == 1
            print(f"identical GeoTIFF bytes: {same}")
        finally:
            for proc, _ in backends.values():
                proc.terminate()
                proc.wait(timeout=30)
            for proc in reversed(cluster):
                proc.terminate()
                proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
