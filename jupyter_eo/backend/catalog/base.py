"""The Collection interface and shared helpers: temporal extents, band selection, lazy assembly."""
from __future__ import annotations

import datetime as _dt
from abc import ABC, abstractmethod
from typing import Any, Callable, Sequence

import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr

from jupyter_eo.backend.cube import set_crs
from jupyter_eo.errors import OpenEOError, ProcessParameterInvalid

PropertyFilter = Callable[[dict], bool]


class Collection(ABC):
    """A loadable collection: STAC metadata, queryables and a lazy ``load``."""

    id: str

    @abstractmethod
    def metadata(self) -> dict:
        """The complete STAC Collection document (links left empty for the backend to fill)."""

    def queryables(self) -> dict:
        """JSON schema of the properties usable in ``load_collection(properties=...)``."""
        return queryables_schema(self.id, {})

    @abstractmethod
    def load(self, spatial_extent: dict | None = None, temporal_extent: Sequence | None = None,
             bands: list[str] | None = None, property_filter: PropertyFilter | None = None, *,
             resolution: float | None = None, crs: Any = None) -> xr.DataArray:
        """A lazy (dask) cube with dims ("t", "bands", "y", "x")."""

    def band_names(self) -> list[str]:
        return [b["name"] for b in self.metadata().get("summaries", {}).get("eo:bands", [])]


def queryables_schema(collection_id: str, properties: dict[str, dict]) -> dict:
    """A JSON Schema (2019-09) queryables document as in OGC API Features part 3."""
    return {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": f"queryables/{collection_id}",
        "type": "object",
        "title": f"Queryables of {collection_id}",
        "properties": properties,
        "additionalProperties": False,
    }


def to_datetime(value: Any, what: str = "temporal_extent") -> _dt.datetime | None:
    """A naive UTC datetime from an ISO string, date, datetime or None."""
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ProcessParameterInvalid(f"{what}: {value!r} is not a valid date/time.") from exc
    if ts is pd.NaT:
        raise ProcessParameterInvalid(f"{what}: {value!r} is not a valid date/time.")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.to_pydatetime()


def parse_temporal(temporal_extent: Sequence | None) -> tuple[_dt.datetime | None, _dt.datetime | None]:
    """(start inclusive, end exclusive) of an openEO temporal interval; None means open."""
    if temporal_extent is None:
        return None, None
    if isinstance(temporal_extent, (str, _dt.date)):
        start = to_datetime(temporal_extent)
        return start, start + _dt.timedelta(days=1)
    if len(temporal_extent) != 2:
        raise ProcessParameterInvalid("temporal_extent must be a list of two dates [start, end].")
    start, end = (to_datetime(v) for v in temporal_extent)
    if start is not None and end is not None and end <= start:
        raise OpenEOError(
            f"temporal_extent is empty: end {temporal_extent[1]} is not after start {temporal_extent[0]}.",
            code="TemporalExtentEmpty", status=400)
    return start, end


def no_data(collection_id: str, why: str) -> OpenEOError:
    """The spec's ``NoDataAvailable`` error for load_collection/load_stac."""
    return OpenEOError(f"There is no data available in {collection_id} for the given extents: {why}.",
                       code="NoDataAvailable", status=400)


def resolve_bands(requested: list[str] | None, eo_bands: list[dict]) -> list[str]:
    """Band names for ``requested`` (names or common names), all bands if None."""
    names = [b["name"] for b in eo_bands]
    if requested is None:
        return names
    if isinstance(requested, str):
        requested = [requested]
    common = {}
    for b in eo_bands:
        if b.get("common_name"):
            common.setdefault(b["common_name"], b["name"])
    out = []
    for name in requested:
        if name in names:
            out.append(name)
        elif name in common:
            out.append(common[name])
        else:
            raise ProcessParameterInvalid(
                f"Band {name!r} is not available; available bands: {', '.join(names)}.")
    if not out:
        raise ProcessParameterInvalid("bands must name at least one band.")
    return out


def assemble(name: str, times: list[np.datetime64], bands: list[str], xs: np.ndarray, ys: np.ndarray,
             crs: Any, dtype: Any, chunk_fn: Callable[[int, int, int, int, int], np.ndarray],
             chunk: int = 1024, nodata: Any = None, attrs: dict | None = None,
             offsets: tuple[int, int] = (0, 0)) -> xr.DataArray:
    """A lazy cube whose block (t, all bands, rows, cols) is ``chunk_fn(t, row0, col0, ny, nx)``.

    ``offsets`` (row, col) are the global indices of the first pixel, so that chunk borders fall
    on global multiples of ``chunk`` (neighbouring AOIs then share cached chunks).
    """
    ny, nx = len(ys), len(xs)

    def split(n: int, off: int) -> tuple[int, ...]:
        sizes, i = [], 0
        first = chunk - (off % chunk)
        while i < n:
            size = min(first if i == 0 else chunk, n - i)
            sizes.append(size)
            i += size
        return tuple(sizes) or (0,)

    chunks = ((1,) * len(times) or (0,), (len(bands),), split(ny, offsets[0]), split(nx, offsets[1]))

    data = da.map_blocks(_ChunkBlock(chunk_fn), chunks=chunks, dtype=dtype, meta=np.empty((0, 0, 0, 0), dtype), name=name)
    cube = xr.DataArray(
        data, dims=("t", "bands", "y", "x"),
        coords={"t": np.array(times, dtype="datetime64[ns]"), "bands": np.array(bands, dtype=str),
                "y": ys, "x": xs},
        attrs=dict(attrs or {}))
    cube.name = None  # not the dask key
    if nodata is not None:
        cube.attrs["nodata"] = nodata
    return set_crs(cube, crs)


class _ChunkBlock:
    """The block function of :func:`assemble`: a picklable callable (dask workers may be other
    processes), so ``chunk_fn`` must be picklable too (a module-level function or a partial)."""

    def __init__(self, chunk_fn: Callable[[int, int, int, int, int], np.ndarray]) -> None:
        self.chunk_fn = chunk_fn

    def __call__(self, block_info: dict | None = None) -> np.ndarray:
        (t0, _), _, (r0, r1), (c0, c1) = block_info[None]["array-location"]
        return self.chunk_fn(t0, r0, c0, r1 - r0, c1 - c0)[None]
