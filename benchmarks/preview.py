"""Benchmark: time from Preview to overlay for a 512 x 512 px AOI over a year of SENTINEL2_L2A.

Run: ``.venv/bin/python -m benchmarks.preview`` (a few minutes; temporary state and cache dirs).
The embedded backend runs in this process (``serve_in_thread``), the widget talks to it through
the official ``openeo`` client, exactly as in a notebook. Timed: ``Preview.update(...)`` until
the overlay's PNG data URL is set (graph building, HTTP, evaluation, GeoTIFF decoding, colour
mapping, PNG encoding). "Cold" is the first run on an empty chunk cache; "warm" runs reuse the
chunk cache. Runs alternate the temporal reducer (median/mean) so no response can be a repeat.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

AOI = {"west": 11.0, "south": 46.0, "east": 11.0662, "north": 46.046}  # ≈ 5.12 km ≈ 512 px at 10 m
YEAR = ("2023-01-01", "2024-01-01")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=6, help="warm runs (default 6)")
    parser.add_argument("--recipe", default="NDVI")
    parser.add_argument("--no-cloud-mask", action="store_true",
                        help="also time the recipe without SCL cloud masking")
    args = parser.parse_args()

    import numpy as np
    import openeo

    from jupyter_eo.backend.config import BackendConfig
    from jupyter_eo.backend.testing import serve_in_thread
    from jupyter_eo.widgets.preview import Preview
    from jupyter_eo.widgets.preview_run import native_resolution
    from jupyter_eo.widgets.recipes import RECIPES, RecipeInputs

    root = Path(tempfile.mkdtemp(prefix="jeo-bench-preview-"))
    os.environ["OPENEO_CONFIG_HOME"] = str(root / "openeo")
    config = BackendConfig(data_dir=root / "state", users={"bench": "bench-pw"})
    with serve_in_thread(config) as url:
        connection = openeo.connect(url).authenticate_basic("bench", "bench-pw")
        meta = connection.describe_collection("SENTINEL2_L2A")
        preview = Preview(connection, delay=0.0, max_pixels=512)
        done = threading.Event()
        preview.on_result(lambda _result: done.set())

        fetch: list[float] = []

        def one(reducer: str, cloud_mask: bool = True) -> float:
            inputs = RecipeInputs("SENTINEL2_L2A", AOI, YEAR, meta, reducer=reducer, cloud_mask=cloud_mask)
            recipe = RECIPES[args.recipe]
            done.clear()
            start = time.perf_counter()
            preview.update(recipe.graph(inputs), AOI, cmap=recipe.cmap, range=recipe.range,
                           immediate=True, resolution_m=native_resolution(meta))
            if not done.wait(600):
                raise RuntimeError(f"no preview: {preview.status.value}")
            elapsed = time.perf_counter() - start
            assert preview.overlay is not None and preview.overlay.url.startswith("data:image/png")
            # run_preview's own clock: graph -> HTTP -> evaluation -> GeoTIFF decoded
            fetch.append(preview.result.seconds)
            return elapsed

        cold = one("median")
        shape = preview.result.data.shape
        valid = float(np.isfinite(preview.result.data).mean())
        warm = {"median": [], "mean": []}
        for i in range(args.runs):
            reducer = "mean" if i % 2 == 0 else "median"
            warm[reducer].append(one(reducer))
        unmasked = {"median": [], "mean": []}
        if args.no_cloud_mask:
            for i in range(args.runs):
                reducer = "mean" if i % 2 == 0 else "median"
                unmasked[reducer].append(one(reducer, cloud_mask=False))
        preview.close()
    print(f"recipe {args.recipe}, AOI {AOI}, {YEAR[0]}..{YEAR[1]}, overlay {shape[-1]}x{shape[-2]} px, "
          f"{valid:.0%} valid pixels")
    print(f"cold (empty chunk cache): {cold:.2f} s")
    print(f"of which fetch + decode (backend side, HTTP, GeoTIFF): median {statistics.median(fetch):.2f} s; "
          f"the rest is scheduling, colour mapping and PNG encoding")
    for label, table in (("cloud-masked (SCL)", warm), ("without cloud mask", unmasked)):
        for reducer, times in table.items():
            if times:
                print(f"warm, {label}, {reducer} composite: median {statistics.median(times):.2f} s "
                      f"(runs: {', '.join(f'{t:.2f}' for t in times)})")


if __name__ == "__main__":
    main()
