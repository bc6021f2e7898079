"""Benchmark: where a fresh backend's first preview goes — one-time work vs frame generation.

Run: ``.venv/bin/python -m benchmarks.cold_start_split`` (a few seconds). In one fresh process,
without HTTP, the same graph as ``benchmarks/cold_start.py``'s first preview (NDVI median of
June 2023 over its ~515 x 513 px AOI, float32 GTiff) is run by ``Backend.run_to_file``:

* ``first``: the process's first request, empty chunk cache (imports made by the first
  computation, GDAL set-up, world data paged in, frames generated and cached);
* ``cold cache again``: a second backend with another empty cache dir in the same process
  (one-time work done; frames generated and cached again);
* ``warm``: the same request on a filled chunk cache.

With ``--profile`` the first request runs in one thread (dask ``synchronous`` scheduler) under
cProfile and the share of the simulated collection's frames (``SimulatedCollection.frame``:
rendering plus chunk-cache writes) is printed; the other two requests then run in one thread too.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

AOI = {"west": 11.0, "south": 46.0, "east": 11.0647, "north": 46.045}  # as in cold_start.py
MONTH = ("2023-06-01", "2023-07-01")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", action="store_true", help="first request in one thread under cProfile")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="jeo-bench-split-"))
    os.environ["OPENEO_CONFIG_HOME"] = str(root / "openeo")

    from jupyter_eo.backend.app import Backend
    from jupyter_eo.backend.config import BackendConfig
    from jupyter_eo.widgets.preview_run import preview_graph
    from jupyter_eo.widgets.recipes import RECIPES, RecipeInputs

    def backend(name: str) -> Backend:
        return Backend(BackendConfig(data_dir=root / f"state-{name}", cache_dir=root / f"cache-{name}",
                                     users={"bench": "bench-pw"}))

    first_backend = backend("1")
    meta = first_backend.catalog.get("SENTINEL2_L2A").metadata()
    graph = preview_graph(RECIPES["NDVI"].graph(RecipeInputs("SENTINEL2_L2A", AOI, MONTH, meta)), AOI,
                          max_pixels=512, push_resample=False,
                          save_options={"compression": "NONE", "data_type": "float32"})

    def run(b: Backend) -> float:
        start = time.perf_counter()
        b.run_to_file(graph, "bench", Path(tempfile.mkdtemp(dir=root)), "result", max_pixels=None)
        return time.perf_counter() - start

    profile = None
    if args.profile:
        import cProfile

        import dask

        dask.config.set(scheduler="synchronous")
        profile = cProfile.Profile()
        profile.enable()
    first = run(first_backend)
    if profile is not None:
        profile.disable()
    warm = run(first_backend)
    cold_again = run(backend("2"))
    print(f"first request (fresh process, empty chunk cache): {first:.2f} s")
    print(f"cold cache again (second backend, same process): {cold_again:.2f} s")
    print(f"warm chunk cache: {warm:.2f} s")
    if profile is not None:
        import pstats

        stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
        frames = sum(v[3] for (path, _, name), v in stats.items()
                     if name == "frame" and path.endswith("catalog/simulated.py"))
        print(f"profiled first request (one thread): frames generated and cached {frames:.2f} s of {first:.2f} s")


if __name__ == "__main__":
    main()
