"""Evaluation context objects: what the caller provides and what processes receive."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from jupyter_eo.errors import OpenEOError


@dataclass
class EvalContext:
    """Everything an evaluation needs from its caller.

    * ``catalog``: ``.get(collection_id) -> Collection`` (raises ``CollectionNotFound``);
      optionally ``.load_stac(url, spatial_extent, temporal_extent, bands, properties)``.
    * ``udp_resolver(process_id, namespace) -> dict | None``: a user-defined process document.
    * ``udf_enabled``: allow ``run_udf`` (only for single-user backends); ``udf_sandboxed``
      False runs UDFs without the Linux sandbox (an admin's explicit opt-out).
    * ``dask_address``: address of an existing dask.distributed scheduler to run blocks on.
    * ``max_pixels``: refuse to load more pixels (x*y*t*bands) than this (``PayloadTooLarge``).
    * ``progress(fraction)`` is called with 0..1; setting ``cancel_event`` stops the run with
      ``OpenEOError(code="Cancelled")``; ``workspace`` is the user's files directory.
    """

    catalog: Any = None
    udp_resolver: Callable[[str, "str | None"], "dict | None"] | None = None
    user: Any = None
    udf_enabled: bool = False
    dask_address: str | None = None
    max_pixels: int | None = None
    progress: Callable[[float], None] | None = None
    cancel_event: threading.Event | None = None
    workspace: Path | None = None
    udf_timeout: float = 60.0
    udf_memory_mb: int = 2048
    udf_sandboxed: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def check_cancel(self) -> None:
        """Raise ``Cancelled`` when the caller asked to stop."""
        if self.cancel_event is not None and self.cancel_event.is_set():
            raise OpenEOError("The computation was cancelled.", code="Cancelled", status=400)

    def report(self, fraction: float) -> None:
        """Report progress (0..1) to the caller, never failing the run because of it."""
        if self.progress is not None:
            try:
                self.progress(max(0.0, min(1.0, float(fraction))))
            except Exception:  # noqa: BLE001 - a broken progress sink must not kill the job
                pass


@dataclass
class ProcessContext:
    """Handed to process implementations that declare a ``ctx`` parameter."""

    eval: EvalContext
    node_id: str
    process_id: str
    parameters: dict[str, Any]

    @property
    def catalog(self) -> Any:
        return self.eval.catalog

    def check_cancel(self) -> None:
        self.eval.check_cancel()


@dataclass
class SaveResult:
    """The outcome of ``save_result``: what to write and how.

    ``data`` is one of:

    * an ``xarray.DataArray`` raster cube, dims among ``("t", "bands", "y", "x")`` (plus added
      dims), CRS in ``spatial_ref`` (see :mod:`jupyter_eo.backend.cube`); usually dask-backed
      and lazy — compute it block by block (e.g. ``engine.materialize(data, ctx)`` or writing
      it chunk-wise) — NaN is no-data;
    * a vector cube: :class:`jupyter_eo.backend.engine.vector.VectorCube` with
      ``.geometries`` (list of GeoJSON geometry dicts), ``.values`` (``xarray.DataArray`` with
      dims ``("geometry", ...)``, e.g. ``("geometry", "t", "bands")``) and ``.crs``;
      ``.to_geojson()`` gives a FeatureCollection, ``.to_records()`` a JSON table;
    * any JSON-able value (number, string, bool, None, list, dict) for non-cube results.

    ``format`` is the output format name as given (e.g. ``"GTiff"``, ``"netCDF"``, ``"JSON"``),
    ``options`` the format options dict.
    """

    data: Any
    format: str
    options: dict[str, Any] = field(default_factory=dict)
