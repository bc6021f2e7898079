"""Benchmark: cold start — time to the first offline basemap tile and to the first preview on an
empty chunk cache for a ~500 x 500 px AOI.

Run: ``.venv/bin/python -m benchmarks.cold_start`` (about a minute). Every measurement runs in a
fresh Python process (nothing imported or cached in memory) with a fresh backend cache dir; the
shared world data (land mask, built once per installation by ``make setup``) is prepared first
and not timed, as on an installed machine.

* ``tile, renderer``: process start -> PNG bytes of one basemap tile from
  ``jupyter_eo.backend.catalog.basemap.render_tile`` (what a server handler calls).
* ``tile, after warm_up``: the same once ``basemap.warm_up()`` ran (as a server would at start).
* ``tile, embedded backend``: process start -> backend app serving (fresh cache dir) -> HTTP
  ``GET /basemap/z/x/y.png`` answered.
* ``first preview``: in that same process, the widget's ``run_preview`` through the official
  ``openeo`` client: NDVI median composite of one month (6 acquisitions) over the AOI, cloud
  masked, on the empty chunk cache (the backend has just started).
* ``coarse first``: the same in another fresh process the way the Preview widget does a new
  area: a 128 px pass first (shown at once), then the 515 x 513 px one.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AOI = {"west": 11.0, "south": 46.0, "east": 11.0647, "north": 46.045}  # ≈ 5.0 x 5.0 km ≈ 500 px at 10 m
MONTH = ("2023-06-01", "2023-07-01")
TILES = [(12, 2173, 1456), (15, 17387, 11654)]  # Trentino: zoom 12 and zoom 15 over the AOI

_RENDERER = """
import time, sys
t0 = float(sys.argv[1])
from jupyter_eo.backend.catalog.basemap import render_tile
png = render_tile(*map(int, sys.argv[2:5]))
assert png[:4] == b"\\x89PNG"
print(time.time() - t0)
"""

_WARM = """
import time, sys
from jupyter_eo.backend.catalog.basemap import render_tile, warm_up
warm_up()
t0 = time.perf_counter()
png = render_tile(*map(int, sys.argv[2:5]))
print(time.perf_counter() - t0)
"""

_BACKEND = """
import json, os, sys, time, urllib.request
t0 = float(sys.argv[1])
root = sys.argv[2]
z, x, y = map(int, sys.argv[3:6])
os.environ["OPENEO_CONFIG_HOME"] = root + "/openeo"
from jupyter_eo.backend.config import BackendConfig
from jupyter_eo.backend.testing import serve_in_thread
config = BackendConfig(data_dir=root + "/state", cache_dir=root + "/cache", users={"bench": "bench-pw"})
out = {}
with serve_in_thread(config) as url:
    import base64
    login = urllib.request.Request(url + "credentials/basic", headers={
        "Authorization": "Basic " + base64.b64encode(b"bench:bench-pw").decode()})
    with urllib.request.urlopen(login, timeout=60) as resp:
        token = json.loads(resp.read())["access_token"]
    tile = urllib.request.Request(f"{url}basemap/{z}/{x}/{y}.png",
                                  headers={"Authorization": f"Bearer basic//{token}"})
    with urllib.request.urlopen(tile, timeout=120) as resp:
        assert resp.status == 200 and resp.read(4) == b"\\x89PNG"
    out["tile"] = time.time() - t0
    import openeo
    from jupyter_eo.widgets.preview_run import native_resolution, run_preview
    from jupyter_eo.widgets.recipes import RECIPES, RecipeInputs
    connection = openeo.connect(url).authenticate_basic("bench", "bench-pw")
    meta = connection.describe_collection("SENTINEL2_L2A")
    aoi = json.loads(sys.argv[6])
    inputs = RecipeInputs("SENTINEL2_L2A", aoi, tuple(json.loads(sys.argv[7])), meta)
    graph = RECIPES["NDVI"].graph(inputs)
    if sys.argv[8] == "coarse-first":  # what Preview does for a new area: 128 px, then 512 px
        start = time.perf_counter()
        run_preview(connection, graph, aoi, max_pixels=128, resolution_m=native_resolution(meta))
        out["coarse"] = time.perf_counter() - start
    start = time.perf_counter()
    result = run_preview(connection, graph, aoi, max_pixels=512, resolution_m=native_resolution(meta))
    out["preview"] = time.perf_counter() - start
    out["shape"] = list(result.data.shape)
    start = time.perf_counter()
    run_preview(connection, graph, aoi, max_pixels=512, resolution_m=native_resolution(meta))
    out["preview_warm"] = time.perf_counter() - start
print(json.dumps(out))
"""


def _run(code: str, *args: str) -> str:
    env = dict(os.environ)
    env.setdefault("PYTHONPATH", str(Path(__file__).resolve().parents[1]))
    t0 = time.time()
    proc = subprocess.run([sys.executable, "-c", code, repr(t0), *args], capture_output=True, text=True,
                          env=env, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return proc.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per measurement (default 3)")
    args = parser.parse_args()

    from jupyter_eo.backend.catalog.world_data import prepare

    print(f"shared world data: {prepare()}")
    for z, x, y in TILES:
        times = [float(_run(_RENDERER, str(z), str(x), str(y))) for _ in range(args.runs)]
        print(f"tile {z}/{x}/{y}, renderer in a fresh process: median {statistics.median(times):.2f} s "
              f"(runs: {', '.join(f'{t:.2f}' for t in times)})")
        times = [float(_run(_WARM, str(z), str(x), str(y))) for _ in range(args.runs)]
        print(f"tile {z}/{x}/{y}, renderer after basemap.warm_up() (server start): median "
              f"{statistics.median(times):.2f} s (runs: {', '.join(f'{t:.2f}' for t in times)})")
    tiles, previews, warm, coarse, refined = [], [], [], [], []
    for _ in range(args.runs):
        for mode in ("full", "coarse-first"):
            with tempfile.TemporaryDirectory(prefix="jeo-bench-cold-") as root:
                z, x, y = TILES[1]
                out = json.loads(_run(_BACKEND, root, str(z), str(x), str(y), json.dumps(AOI),
                                      json.dumps(MONTH), mode))
            if mode == "full":
                tiles.append(out["tile"])
                previews.append(out["preview"])
                warm.append(out["preview_warm"])
            else:
                coarse.append(out["coarse"])
                refined.append(out["coarse"] + out["preview"])
    print(f"tile {z}/{x}/{y}, embedded backend started in a fresh process with a fresh cache dir: "
          f"median {statistics.median(tiles):.2f} s (runs: {', '.join(f'{t:.2f}' for t in tiles)})")
    print(f"first preview, NDVI {MONTH[0]}..{MONTH[1]}, {out['shape'][-1]}x{out['shape'][-2]} px, empty chunk "
          f"cache: median {statistics.median(previews):.2f} s (runs: {', '.join(f'{t:.2f}' for t in previews)})")
    print(f"same preview again (warm chunk cache): median {statistics.median(warm):.2f} s")
    print(f"coarse first pass (128 px) of that preview, fresh process, empty chunk cache: median "
          f"{statistics.median(coarse):.2f} s (runs: {', '.join(f'{t:.2f}' for t in coarse)}); "
          f"full preview after it: median {statistics.median(refined):.2f} s")


if __name__ == "__main__":
    main()
