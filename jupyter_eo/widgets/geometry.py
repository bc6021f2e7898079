"""AOI geometry helpers: parse GeoJSON/WKT/bbox text, dateline-safe normalisation, bbox."""
from __future__ import annotations

import json
import math
import re
from typing import Any

from jupyter_eo.errors import OpenEOError

BBox = tuple[float, float, float, float]  # west, south, east, north (west > east across the dateline)


class AOIInvalid(OpenEOError):
    """The AOI text or geometry cannot be used (openEO code ``InvalidGeometry``-like)."""

    code = "ProcessParameterInvalid"
    status = 400


def _rings(geometry: dict[str, Any]) -> list[list[list[float]]]:
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind == "Polygon":
        return list(coords)
    if kind == "MultiPolygon":
        return [ring for polygon in coords for ring in polygon]
    raise AOIInvalid(f"AOI must be a Polygon or MultiPolygon, got {kind!r}.")


def _check_ring(ring: Any) -> list[list[float]]:
    if not isinstance(ring, list) or len(ring) < 4:
        raise AOIInvalid("A polygon ring needs at least 4 positions (closed).")
    out = []
    for position in ring:
        if (not isinstance(position, (list, tuple)) or len(position) < 2
                or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in position[:2])):
            raise AOIInvalid(f"Invalid position {position!r} in AOI.")
        lon, lat = float(position[0]), float(position[1])
        if not -90.0 <= lat <= 90.0:
            raise AOIInvalid(f"Latitude {lat} is outside [-90, 90].")
        out.append([lon, lat])
    if out[0] != out[-1]:
        out.append(list(out[0]))
    return out


def _unwrap(ring: list[list[float]]) -> list[list[float]]:
    """Make longitudes continuous along the ring (no jumps > 180 degrees between neighbours)."""
    out = [list(ring[0])]
    for lon, lat in ring[1:]:
        prev = out[-1][0]
        while lon - prev > 180:
            lon -= 360
        while lon - prev < -180:
            lon += 360
        out.append([lon, lat])
    return out


def _shift(ring: list[list[float]], delta: float) -> list[list[float]]:
    return [[lon + delta, lat] for lon, lat in ring]


def _split_at_dateline(polygon: list[list[list[float]]]) -> list[list[list[list[float]]]]:
    """Split one polygon (lon range within [-180, 540)) at +180 into parts inside [-180, 180]."""
    from shapely.geometry import Polygon, box, mapping

    shape = Polygon(polygon[0], polygon[1:])
    parts = []
    for window, delta in ((box(-180, -90, 180, 90), 0.0), (box(180, -90, 540, 90), -360.0)):
        piece = shape.intersection(window)
        if piece.is_empty:
            continue
        geoms = getattr(piece, "geoms", [piece])
        for geom in geoms:
            if geom.geom_type != "Polygon" or geom.area == 0:
                continue
            rings = mapping(geom)["coordinates"]  # cut points get float noise: round to ~0.1 mm
            parts.append([[[round(lon, 9), round(lat, 9)] for lon, lat in _shift([list(p) for p in r], delta)]
                          for r in rings])
    return parts


def normalize_geometry(geometry: dict[str, Any]) -> dict[str, Any]:
    """A Polygon/MultiPolygon with longitudes in [-180, 180], split at the antimeridian if needed.

    Leaflet reports longitudes beyond +-180 after panning across the dateline; a polygon drawn
    there is shifted back by whole turns and, when it straddles 180 degrees, split in two.
    """
    if isinstance(geometry, dict) and geometry.get("type") == "Feature":
        geometry = geometry.get("geometry") or {}
    if isinstance(geometry, dict) and geometry.get("type") == "FeatureCollection":
        features = geometry.get("features") or []
        if len(features) != 1:
            raise AOIInvalid("A FeatureCollection AOI must hold exactly one feature.")
        return normalize_geometry(features[0])
    if not isinstance(geometry, dict):
        raise AOIInvalid("AOI must be a GeoJSON object.")
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind == "Polygon":
        polygons = [coords]
    elif kind == "MultiPolygon":
        polygons = coords
    else:
        raise AOIInvalid(f"AOI must be a Polygon or MultiPolygon, got {kind!r}.")
    if not isinstance(polygons, list) or not polygons:
        raise AOIInvalid("AOI has no coordinates.")
    out: list[list[list[list[float]]]] = []
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            raise AOIInvalid("AOI polygon has no rings.")
        rings = [_unwrap(_check_ring(r)) for r in polygon]
        lons = [lon for lon, _ in rings[0]]
        west = min(lons)
        if max(lons) - west >= 360:
            raise AOIInvalid("AOI spans 360 degrees of longitude or more.")
        delta = -360.0 * math.floor((west + 180.0) / 360.0)  # bring west into [-180, 180)
        rings = [_shift(r, delta) for r in rings]
        if max(lon for lon, _ in rings[0]) > 180.0:
            out.extend(_split_at_dateline(rings))
        else:
            out.append(rings)
    if len(out) == 1:
        return {"type": "Polygon", "coordinates": out[0]}
    return {"type": "MultiPolygon", "coordinates": out}


def geometry_bbox(geometry: dict[str, Any]) -> BBox:
    """(west, south, east, north) of a normalised geometry; west > east when it crosses 180."""
    polygons = ([geometry["coordinates"]] if geometry["type"] == "Polygon"
                else geometry["coordinates"])
    lats = [lat for poly in polygons for lon, lat in poly[0]]
    spans = []
    for poly in polygons:
        lons = [lon for lon, _ in poly[0]]
        spans.append((min(lons), max(lons)))
    west = min(s[0] for s in spans)
    east = max(s[1] for s in spans)
    touches_east = any(abs(e - 180.0) < 1e-9 for _, e in spans)
    touches_west = any(abs(w + 180.0) < 1e-9 for w, _ in spans)
    if touches_east and touches_west and len(spans) > 1:
        # parts on both sides of the antimeridian: the bbox wraps
        west = min(w for w, e in spans if w > 0 or abs(e - 180.0) < 1e-9)
        east = max(e for w, e in spans if abs(w + 180.0) < 1e-9)
    return (round(west, 9), round(min(lats), 9), round(east, 9), round(max(lats), 9))


def bbox_geometry(west: float, south: float, east: float, north: float) -> dict[str, Any]:
    """A rectangle Polygon for a bbox (east < west means it crosses the antimeridian)."""
    if east < west:
        east += 360.0
    if not (-90 <= south < north <= 90):
        raise AOIInvalid(f"Invalid bbox latitudes south={south} north={north}.")
    if east == west:
        raise AOIInvalid("Invalid bbox: west equals east.")
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return normalize_geometry({"type": "Polygon", "coordinates": [ring]})


_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def _parse_wkt(text: str) -> dict[str, Any]:
    from shapely import wkt
    from shapely.geometry import mapping

    try:
        shape = wkt.loads(text)
    except Exception as exc:  # shapely raises several types
        raise AOIInvalid(f"Cannot parse WKT: {exc}") from None
    return json.loads(json.dumps(mapping(shape)))  # tuples -> lists


def parse_aoi_text(text: str) -> dict[str, Any]:
    """Parse GeoJSON, WKT or 'west, south, east, north' text into a normalised geometry."""
    text = (text or "").strip()
    if not text:
        raise AOIInvalid("Empty AOI text.")
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise AOIInvalid(f"Invalid GeoJSON: {exc.msg}") from None
        if isinstance(value, dict) and {"west", "south", "east", "north"} <= set(value):
            return bbox_geometry(*(float(value[k]) for k in ("west", "south", "east", "north")))
        return normalize_geometry(value)
    numbers = re.findall(_NUMBER, text)
    if re.fullmatch(rf"\[?\s*(?:{_NUMBER}\s*[,;\s]\s*){{3}}{_NUMBER}\s*\]?", text) and len(numbers) == 4:
        return bbox_geometry(*(float(n) for n in numbers))
    if re.match(r"^(MULTI)?POLYGON", text, re.IGNORECASE):
        return normalize_geometry(_parse_wkt(text))
    raise AOIInvalid("AOI text must be GeoJSON, WKT (POLYGON/MULTIPOLYGON) or 'west, south, east, north'.")


def spatial_extent(bbox: BBox) -> dict[str, float]:
    """The openEO ``spatial_extent`` dict of a bbox."""
    west, south, east, north = bbox
    return {"west": west, "south": south, "east": east, "north": north}


def _continuous_parts(geometry: dict[str, Any], bbox: BBox) -> list[list[list[list[float]]]]:
    """The polygons of a normalised geometry, parts west of the antimeridian shifted by +360
    when the bbox wraps (west > east), so that they sit next to the eastern parts."""
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    west, _south, east, _north = bbox
    if west <= east:
        return polygons
    out = []
    for polygon in polygons:
        if max(lon for lon, _ in polygon[0]) <= east + 1e-9:
            polygon = [_shift(ring, 360.0) for ring in polygon]
        out.append(polygon)
    return out


def is_rectangle(geometry: dict[str, Any], tolerance: float = 1e-9) -> bool:
    """True when a (normalised) AOI covers exactly its bounding box: an axis-aligned rectangle,
    also when it was split at the antimeridian into two rectangles. Vertex order, start corner
    and extra points along the edges do not matter; holes or any slanted edge do."""
    from shapely.geometry import Polygon, box
    from shapely.ops import unary_union

    geometry = normalize_geometry(geometry)
    bbox = geometry_bbox(geometry)
    west, south, east, north = bbox
    if east < west:
        east += 360.0
    frame = box(west, south, east, north)
    if frame.area <= 0:
        return False
    shape = unary_union([Polygon(p[0], p[1:]) for p in _continuous_parts(_repaired(geometry), bbox)])
    return shape.symmetric_difference(frame).area <= tolerance * frame.area


def _repaired(geometry: dict[str, Any]) -> dict[str, Any]:
    """A normalised geometry with self-intersections (e.g. a "bow tie" drawn with the polygon
    tool) resolved into the polygons it encloses; valid geometries come back unchanged."""
    import json

    from shapely.geometry import MultiPolygon, mapping, shape
    from shapely.validation import make_valid

    shp = shape(geometry)
    if shp.is_valid:
        return geometry
    fixed = make_valid(shp)
    polygons = [g for g in getattr(fixed, "geoms", [fixed]) if g.geom_type in ("Polygon", "MultiPolygon")]
    parts = [p for g in polygons for p in getattr(g, "geoms", [g]) if p.area > 0]
    if not parts:
        raise AOIInvalid("The AOI polygon has no area.")
    merged = parts[0] if len(parts) == 1 else MultiPolygon(parts)
    return normalize_geometry(json.loads(json.dumps(mapping(merged))))  # tuples -> lists


def load_extent(geometry: dict[str, Any] | None, bbox_extent: dict[str, Any]) -> dict[str, Any]:
    """The ``spatial_extent`` for ``load_collection``: ``bbox_extent`` unchanged when there is no
    AOI geometry or it is a rectangle, else the normalised GeoJSON geometry (openEO then masks
    the pixels outside the polygons; self-intersecting outlines are resolved first)."""
    if geometry is None:
        return dict(bbox_extent)
    normalised = _repaired(normalize_geometry(geometry))
    if is_rectangle(normalised):
        return dict(bbox_extent)
    return normalised
