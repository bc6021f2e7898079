"""Peak-memory estimate of a request before any work: loaded data, output layers, the writer."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jupyter_eo.errors import PayloadTooLarge

MIB = 1024 * 1024
# Coefficients measured with benchmarks/memory_model.py (peak RSS growth of one request on the
# embedded backend, SENTINEL2_L2A, 400 m box, 1 month .. 10 years, all bands):
BASE_BYTES = 64 * MIB          # dask graph, GDAL cache share, xarray objects (~70 MB at 90 layers)
LAYER_BYTES = {"GTiff": 16 * 1024, "netCDF": 12 * 1024}  # per output layer (time step x band)
OTHER_LAYER_BYTES = 16 * 1024
SLICE_COPIES = 4               # chunks (one date, all bands) in flight: 2 threads x in+out
CHUNK_SIDE = 1024              # collections load in chunks of at most 1024 x 1024 pixels
VALUE_BYTES = 4                # collections load as float32
PNG_BYTES_PER_PIXEL = 4 * 8 * 2  # up to 4 bands as float64, plus the RGBA image and a copy


@dataclass
class Load:
    """One ``load_collection`` of the graph, as estimated from its arguments and metadata."""

    collection: str
    times: int
    bands: int
    rows: int
    cols: int

    @property
    def values(self) -> int:
        return self.times * self.bands * self.rows * self.cols


@dataclass
class MemoryEstimate:
    """Estimated peak bytes of one request and what they are made of."""

    format: str
    loads: list[Load] = field(default_factory=list)

    @property
    def layers(self) -> int:
        """Upper bound of the output layers: every loaded date times band."""
        return sum(load.times * load.bands for load in self.loads)

    def peak_bytes(self, fmt: str | None = None) -> int:
        from jupyter_eo.backend.formats.gtiff import COG_TILE_BUDGET, cog_tile_bytes

        fmt = fmt or self.format
        if not self.loads:
            return BASE_BYTES
        chunk_bytes = VALUE_BYTES * max(load.bands * min(load.rows, CHUNK_SIDE)
                                        * min(load.cols, CHUNK_SIDE) for load in self.loads)
        total = BASE_BYTES + SLICE_COPIES * chunk_bytes
        total += self.layers * LAYER_BYTES.get(fmt, OTHER_LAYER_BYTES)
        if fmt == "GTiff":
            tile = cog_tile_bytes(self.layers, VALUE_BYTES)
            total += tile if tile <= COG_TILE_BUDGET else 0
        elif fmt == "PNG":
            total += max(load.rows * load.cols for load in self.loads) * PNG_BYTES_PER_PIXEL
        return total

    def describe(self) -> str:
        parts = [f"{load.times:,} date(s) x {load.bands} band(s) of {load.rows:,} x "
                 f"{load.cols:,} pixels from {load.collection}" for load in self.loads]
        return "; ".join(parts) + f", written as {self.layers:,} {self.format} layer(s)"


def estimate_memory(graphs: list[dict], catalog: Any) -> MemoryEstimate:
    """Estimate from the literal ``load_collection`` nodes and the ``save_result`` format.

    ``graphs`` is what :func:`jupyter_eo.backend.limits.check_graph` returns (top level
    first). Loads whose arguments come from parameters are not counted (the guard watches
    those while they run).
    """
    from jupyter_eo.backend.limits import load_shape

    estimate = MemoryEstimate(format=_output_format(graphs[0] if graphs else {}))
    for graph in graphs:
        for node in graph.values():
            args = node.get("arguments", {})
            if node.get("process_id") != "load_collection" or node.get("namespace") or \
                    not isinstance(args.get("id"), str) or catalog is None:
                continue
            try:
                meta = catalog.get(args["id"]).metadata()
            except Exception:  # noqa: BLE001 - unknown ids are reported by the pixel check
                continue
            times, bands, rows, cols = load_shape(meta, args)
            estimate.loads.append(Load(args["id"], times, bands, rows, cols))
    return estimate


def _output_format(graph: dict) -> str:
    from jupyter_eo.backend.formats import canonical_format

    for node in graph.values():
        if node.get("process_id") == "save_result":
            try:
                return canonical_format(node.get("arguments", {}).get("format"))
            except Exception:  # noqa: BLE001 - an unknown format is reported by the engine
                return "GTiff"
    return "GTiff"


def check_memory(estimate: MemoryEstimate, budget: int | None) -> int:
    """Raise PayloadTooLarge (413) when the estimated peak exceeds ``budget`` bytes; saying
    what to narrow (dates, bands, area, or a format that fits)."""
    peak = estimate.peak_bytes()
    if not budget or peak <= budget:
        return peak
    advice = []
    if any(load.times > 1 for load in estimate.loads):
        advice.append("fewer dates (temporal_extent)")
    if any(load.bands > 1 for load in estimate.loads):
        advice.append("fewer bands (bands)")
    advice.append("a smaller area (spatial_extent)")
    for other in ("netCDF", "GTiff"):
        if other != estimate.format and estimate.peak_bytes(other) <= budget:
            advice.append(f"or save as {other} (about "
                          f"{estimate.peak_bytes(other) / MIB:,.0f} MB)")
            break
    raise PayloadTooLarge(
        f"This request would need about {peak / MIB:,.0f} MB of memory, more than the "
        f"limit of {budget / MIB:,.0f} MB per request ({estimate.describe()}). Narrow it: "
        f"{', '.join(advice)}.")
