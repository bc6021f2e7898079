"""``GET jupyter-eo/basemap/{z}/{x}/{y}.png``: the offline basemap, rendered by the server itself.

Maps in notebooks need a basemap even where the embedded backend is disabled (remote-only
deployments) and where the browser has no internet: tiles are rendered here with the embedded
backend's renderer (``jupyter_eo.backend.catalog.basemap``) in a small thread pool, never on the
event loop, and cached by the browser for a day.
"""
from __future__ import annotations

import asyncio
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ..errors import OpenEOError
from .base import JupyterEOHandler, eo_authenticated

MAX_ZOOM = 18
_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="jupyter-eo-basemap")
    return _POOL


def warm_up_in_background(log: Any) -> "Future[float | None]":
    """Load the renderer and its data in the tile pool now (server start), so the user's first
    tile costs only its own rendering (see benchmarks/cold_start.py). The future gives the
    seconds taken, or None when the warm-up failed (logged; tiles then report their errors)."""

    def run() -> float | None:
        try:
            from jupyter_eo.backend.catalog import basemap

            seconds = basemap.warm_up()
        except Exception as exc:  # noqa: BLE001 - the route reports errors per tile anyway
            log.warning("jupyter_eo: offline basemap warm-up failed: %s", exc)
            return None
        log.debug("jupyter_eo: offline basemap ready (%.2f s)", seconds)
        return seconds

    return _pool().submit(run)


def tile_index(z: str, x: str, y: str) -> tuple[int, int, int]:
    """Validated (z, x, y); a clear 400 openEO error otherwise."""
    if not (z.isdigit() and x.isdigit() and y.isdigit()) or max(len(z), len(x), len(y)) > 7:
        raise OpenEOError("Tile indices must be non-negative integers.",
                          code="ProcessParameterInvalid", status=400)
    zi, xi, yi = int(z), int(x), int(y)
    if zi > MAX_ZOOM or xi >= 2 ** zi or yi >= 2 ** zi:
        raise OpenEOError(f"Tile {zi}/{xi}/{yi} does not exist (zoom 0-{MAX_ZOOM}).",
                          code="ProcessParameterInvalid", status=400)
    return zi, xi, yi


class BasemapTileHandler(JupyterEOHandler):
    """One 256 px PNG tile of the simulated world (Web Mercator)."""

    @eo_authenticated
    async def get(self, z: str, x: str, y: str) -> None:
        zi, xi, yi = tile_index(z, x, y)
        from jupyter_eo.backend.catalog import basemap

        data = await asyncio.get_running_loop().run_in_executor(
            _pool(), basemap.render_tile, zi, xi, yi)
        self.set_header("Cache-Control", "private, max-age=86400")
        self.finish(data, set_content_type="image/png")
