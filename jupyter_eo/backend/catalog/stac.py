"""STAC sources: static catalogs/collections/items on disk or by URL, and STAC API collections.

Remote sources are probed with a short timeout first; when unreachable the error is the
backend-specific openEO error ``StacUnreachable`` (HTTP 502) instead of a hang.
"""
from __future__ import annotations

import datetime as _dt
import json
import logging
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Sequence
from urllib.parse import urlparse

import pystac
import xarray as xr

from jupyter_eo.errors import OpenEOError

from .base import parse_temporal
from .grid import bbox_to_lonlat, parse_bbox
from .metadata import eo_band
from .raster_stack import RasterItem, RasterStackCollection

log = logging.getLogger(__name__)

REMOTE_TIMEOUT = 8.0  # seconds for probing and reading remote STAC documents
_RASTER_TYPES = ("image/tiff", "image/jp2", "application/x-geotiff", "image/vnd.stac.geotiff")
_RASTER_SUFFIXES = (".tif", ".tiff", ".jp2", ".vrt")


class StacUnreachable(OpenEOError):
    """Backend-specific: a remote STAC URL could not be reached or read."""

    code = "StacUnreachable"
    status = 502


def is_remote(url: str) -> bool:
    return urlparse(str(url)).scheme in ("http", "https")


def fetch_json(url: str, timeout: float | None = None) -> dict:
    """GET a JSON document with a short timeout; StacUnreachable on any network failure."""
    timeout = REMOTE_TIMEOUT if timeout is None else timeout
    try:
        req = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "jupyter_eo"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (http/https only)
            return json.loads(resp.read().decode("utf-8"))
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise StacUnreachable(f"The STAC resource {url} is not reachable or not valid JSON ({reason}). "
                              "The embedded backend may be offline; use a local STAC catalog instead.") from exc


def _read_local(path: str) -> pystac.STACObject:
    p = Path(path.removeprefix("file://"))
    if p.is_dir():
        for name in ("catalog.json", "collection.json"):
            if (p / name).exists():
                p = p / name
                break
    if not p.exists():
        raise OpenEOError(f"STAC file {path} does not exist.", code="NoDataAvailable", status=400)
    try:
        return pystac.read_file(str(p))
    except Exception as exc:
        raise OpenEOError(f"{path} is not a readable STAC document: {exc}", code="NoDataAvailable", status=400) from exc


def _read_remote(url: str) -> pystac.STACObject:
    doc = fetch_json(url)
    try:
        return pystac.read_dict(doc, href=url)
    except Exception as exc:
        raise OpenEOError(f"{url} is not a STAC document: {exc}", code="NoDataAvailable", status=400) from exc


def _items_of(obj: pystac.STACObject) -> list[pystac.Item]:
    if isinstance(obj, pystac.Item):
        return [obj]
    if isinstance(obj, pystac.ItemCollection):
        return list(obj.items)
    return list(obj.get_items(recursive=True))


def _item_time(item: pystac.Item) -> _dt.datetime:
    when = item.datetime or pystac.utils.str_to_datetime(item.properties.get("start_datetime"))
    if when.tzinfo is not None:
        when = when.astimezone(_dt.timezone.utc).replace(tzinfo=None)
    return when


def _is_raster(asset: pystac.Asset) -> bool:
    roles = asset.roles or []
    if "thumbnail" in roles or "overview" in roles or "metadata" in roles:
        return False
    media = (asset.media_type or "").lower()
    return any(media.startswith(t) for t in _RASTER_TYPES) or asset.href.lower().endswith(_RASTER_SUFFIXES)


def _band_info(items: list[pystac.Item], parent: Any) -> list[dict]:
    """eo:bands from the collection summaries, else from asset fields, else the asset keys."""
    names: dict[str, dict] = {}
    for item in items:
        for key, asset in item.assets.items():
            if not _is_raster(asset) or key in names:
                continue
            bands = asset.extra_fields.get("eo:bands") or []
            raster = (asset.extra_fields.get("raster:bands") or [{}])[0]
            info = dict(bands[0]) if len(bands) == 1 else {}
            names[key] = eo_band(key, info.get("common_name"), info.get("center_wavelength"),
                                 scale=raster.get("scale"), offset=raster.get("offset"),
                                 nodata=raster.get("nodata"),
                                 **({"jupyter_eo:dtype": raster["data_type"]} if raster.get("data_type") else {}))
    return list(names.values())


def items_collection(items: list[pystac.Item], cid: str, *, title: str | None = None,
                     description: str | None = None, license: str = "proprietary",
                     source: str = "") -> RasterStackCollection:
    """A RasterStackCollection over STAC items (band = raster asset key)."""
    if not items:
        raise OpenEOError(f"The STAC source {source} has no items for the given extents.",
                          code="NoDataAvailable", status=400)
    bands = _band_info(items, None)
    if not bands:
        raise OpenEOError(f"The STAC items of {source} have no raster (GeoTIFF/JP2) assets.",
                          code="NoDataAvailable", status=400)
    band_names = {b["name"] for b in bands}
    raster_items = []
    for item in items:
        assets = {k: a.get_absolute_href() or a.href for k, a in item.assets.items() if k in band_names}
        assets = {k: (f"/vsicurl/{h}" if is_remote(h) else h) for k, h in assets.items()}
        props = {k: v for k, v in item.properties.items() if k != "datetime"}
        raster_items.append(RasterItem(_item_time(item), assets, props))
    return RasterStackCollection(
        cid, raster_items, bands, title=title or cid,
        description=description or f"Collection from the STAC source {source}.",
        license=license, keywords=["STAC"], providers=[{"name": "STAC source", "roles": ["host"], "url": source}]
        if is_remote(source) else [{"name": "local STAC catalog", "roles": ["host"]}],
        queryable_props={k: {"type": "number" if isinstance(v, (int, float)) else "string"}
                         for k, v in items[0].properties.items() if k != "datetime" and isinstance(v, (int, float, str))})


class StacCollection(RasterStackCollection):
    """A static STAC catalog/collection registered as a collection of the catalog."""

    def __init__(self, path_or_url: str, collection_id: str | None = None) -> None:
        source = str(path_or_url)
        obj = _read_remote(source) if is_remote(source) else _read_local(source)
        cid = collection_id or re.sub(r"[^A-Za-z0-9_-]+", "_", obj.id)
        title = getattr(obj, "title", None) or obj.id
        description = getattr(obj, "description", None) or f"STAC catalog {source}"
        license_ = getattr(obj, "license", None) or "proprietary"
        built = items_collection(_items_of(obj), cid, title=title, description=description,
                                 license=license_, source=source)
        self.__dict__.update(built.__dict__)
        self.source = source


def _search_api(url: str, bbox: list[float] | None, temporal_extent, limit: int = 500) -> tuple[list[pystac.Item], str]:
    """Items of a STAC API collection URL (.../collections/<id>) via pystac-client."""
    m = re.match(r"(.*)/collections/([^/?#]+)/?$", url)
    if not m:
        raise OpenEOError(f"{url} is neither a static STAC document nor a STAC API collection URL.",
                          code="NoDataAvailable", status=400)
    root, cid = m.group(1), m.group(2)
    fetch_json(root)  # fast reachability probe with our timeout
    import pystac_client

    try:
        client = pystac_client.Client.open(root, timeout=REMOTE_TIMEOUT)
        start, end = parse_temporal(temporal_extent)
        dt = None
        if start or end:
            dt = f"{start.isoformat() + 'Z' if start else '..'}/{end.isoformat() + 'Z' if end else '..'}"
        search = client.search(collections=[cid], bbox=bbox, datetime=dt, max_items=limit)
        return list(search.items()), cid
    except OpenEOError:
        raise
    except Exception as exc:
        raise StacUnreachable(f"Searching the STAC API {root} failed: {exc}") from exc


def load_stac(url_or_path: str, spatial_extent: dict | None = None, temporal_extent: Sequence | None = None,
              bands: list[str] | None = None, properties_filter: Callable[[dict], bool] | None = None,
              **kwargs: Any) -> xr.DataArray:
    """openEO ``load_stac``: a lazy cube from a STAC catalog/collection/item or STAC API collection."""
    source = str(url_or_path)
    if is_remote(source):
        doc = fetch_json(source)
        if doc.get("type") == "Collection" and any(l.get("rel") == "items" for l in doc.get("links", [])) \
                and not any(l.get("rel") == "item" for l in doc.get("links", [])):
            parsed = parse_bbox(spatial_extent)
            bbox = list(bbox_to_lonlat(*parsed)) if parsed else None
            items, cid = _search_api(source, bbox, temporal_extent)
            coll = items_collection(items, cid, source=source)
        else:
            obj = pystac.read_dict(doc, href=source)
            coll = items_collection(_items_of(obj), re.sub(r"[^A-Za-z0-9_-]+", "_", obj.id), source=source)
    else:
        coll = StacCollection(source)
    return coll.load(spatial_extent, temporal_extent, bands, properties_filter, **kwargs)
