"""Builders for STAC 1.0 Collection documents with the datacube and eo extensions."""
from __future__ import annotations

import datetime as _dt
from typing import Any

STAC_VERSION = "1.0.0"
EXTENSIONS = [
    "https://stac-extensions.github.io/datacube/v2.2.0/schema.json",
    "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
]
_PREFIX_EXTENSIONS = {  # field prefix -> extension schema, added when a document uses the prefix
    "sci:": "https://stac-extensions.github.io/scientific/v1.0.0/schema.json",
    "sar:": "https://stac-extensions.github.io/sar/v1.0.0/schema.json",
    "sat:": "https://stac-extensions.github.io/sat/v1.0.0/schema.json",
}


def iso(value: _dt.datetime | _dt.date | None) -> str | None:
    """RFC 3339 UTC string (None stays None)."""
    if value is None:
        return None
    if not isinstance(value, _dt.datetime):
        value = _dt.datetime(value.year, value.month, value.day)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def eo_band(name: str, common_name: str | None = None, center_wavelength: float | None = None,
            scale: float | None = None, offset: float | None = None, nodata: Any = None,
            description: str | None = None, **extra: Any) -> dict:
    """One ``eo:bands`` entry (omitting unknown fields)."""
    band: dict[str, Any] = {"name": name}
    for key, value in (("common_name", common_name), ("center_wavelength", center_wavelength),
                       ("scale", scale), ("offset", offset), ("nodata", nodata),
                       ("description", description)):
        if value is not None:
            band[key] = value
    band.update(extra)
    return band


def collection_document(*, id: str, title: str, description: str, license: str,
                        providers: list[dict], keywords: list[str],
                        bbox: list[float], interval: list, epsg: int | None, bands: list[dict],
                        x_extent: list[float] | None = None, y_extent: list[float] | None = None,
                        step: float | None = None, t_step: str | None = None,
                        summaries: dict | None = None, extra: dict | None = None,
                        crs_wkt: str | None = None) -> dict:
    """A complete STAC Collection with ``cube:dimensions`` and ``summaries.eo:bands``."""
    ref_sys: Any = epsg if epsg is not None else (crs_wkt or 4326)
    xy_ext_x = x_extent if x_extent is not None else [bbox[0], bbox[2]]
    xy_ext_y = y_extent if y_extent is not None else [bbox[1], bbox[3]]
    dims = {
        "x": {"type": "spatial", "axis": "x", "extent": xy_ext_x, "reference_system": ref_sys},
        "y": {"type": "spatial", "axis": "y", "extent": xy_ext_y, "reference_system": ref_sys},
        "t": {"type": "temporal", "extent": interval},
        "bands": {"type": "bands", "values": [b["name"] for b in bands]},
    }
    if step is not None:
        dims["x"]["step"] = step
        dims["y"]["step"] = step
    if t_step is not None:
        dims["t"]["step"] = t_step
    summ = {"eo:bands": bands}
    summ.update(summaries or {})
    doc = {
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "stac_extensions": list(EXTENSIONS),
        "id": id,
        "title": title,
        "description": description,
        "license": license,
        "providers": providers,
        "keywords": keywords,
        "extent": {"spatial": {"bbox": [bbox]}, "temporal": {"interval": [interval]}},
        "links": [],
        "cube:dimensions": dims,
        "summaries": summ,
    }
    doc.update(extra or {})
    used = list(doc) + list(summ)
    for prefix, url in _PREFIX_EXTENSIONS.items():
        if any(str(k).startswith(prefix) for k in used):
            doc["stac_extensions"].append(url)
    return doc
