"""Read what the widgets need from openEO/STAC collection metadata dicts (bands, extents, summary)."""
from __future__ import annotations

import datetime as dt
from typing import Any


def collection_bands(meta: dict[str, Any]) -> list[dict[str, Any]]:
    """Band dicts ``{"name", "common_name"?, "center_wavelength"?}`` in the collection's order."""
    summaries = meta.get("summaries") or {}
    bands = summaries.get("eo:bands") or summaries.get("raster:bands") or []
    out = [dict(b) for b in bands if isinstance(b, dict) and b.get("name")]
    if out:
        return out
    dims = meta.get("cube:dimensions") or {}
    for dim in dims.values():
        if isinstance(dim, dict) and dim.get("type") == "bands":
            return [{"name": str(v)} for v in dim.get("values") or []]
    return []


def band_names(meta: dict[str, Any]) -> list[str]:
    """The band names of a collection."""
    return [b["name"] for b in collection_bands(meta)]


def _parse_date(value: Any) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()
    except ValueError:
        try:
            return dt.date.fromisoformat(str(value)[:10])
        except ValueError:
            return None


def temporal_bounds(meta: dict[str, Any]) -> tuple[dt.date | None, dt.date | None]:
    """(first, last) date of a collection (None for open ends)."""
    intervals = ((meta.get("extent") or {}).get("temporal") or {}).get("interval") or [[None, None]]
    first = intervals[0] if intervals and isinstance(intervals[0], list) else [None, None]
    start = _parse_date(first[0] if len(first) > 0 else None)
    end = _parse_date(first[1] if len(first) > 1 else None)
    return start, end


def spatial_bbox(meta: dict[str, Any]) -> tuple[float, float, float, float] | None:
    """The collection's overall bbox (west, south, east, north), if given."""
    boxes = ((meta.get("extent") or {}).get("spatial") or {}).get("bbox") or []
    if boxes and isinstance(boxes[0], list) and len(boxes[0]) >= 4:
        b = boxes[0]
        if len(b) == 6:
            return (float(b[0]), float(b[1]), float(b[3]), float(b[4]))
        return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))
    return None


def band_label(band: dict[str, Any]) -> str:
    """A readable band label: ``B04 · red · 665 nm``."""
    parts = [band["name"]]
    if band.get("common_name"):
        parts.append(str(band["common_name"]))
    wavelength = band.get("center_wavelength")
    if isinstance(wavelength, (int, float)):
        parts.append(f"{wavelength * 1000:.0f} nm" if wavelength < 30 else f"{wavelength:g}")
    return " · ".join(parts)


def find_band(meta: dict[str, Any], common_name: str) -> str | None:
    """The band name with the given common name (or the same name), if the collection has it."""
    for band in collection_bands(meta):
        if band.get("common_name") == common_name or band["name"] == common_name:
            return band["name"]
    return None
