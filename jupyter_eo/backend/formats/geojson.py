"""GeoJSON writer for vector cubes (``aggregate_spatial`` results): one feature per geometry."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jupyter_eo.backend.formats.common import WrittenFile, format_error
from jupyter_eo.backend.formats.jsonfmt import to_jsonable

MEDIA_TYPE = "application/geo+json"
PARAMETERS: dict[str, Any] = {}


def write(value: Any, path: Path, options: dict[str, Any]) -> WrittenFile:
    if hasattr(value, "to_geojson"):
        document = value.to_geojson()
    elif isinstance(value, dict) and value.get("type") in ("FeatureCollection", "Feature"):
        document = value
    else:
        raise format_error("GeoJSON needs a vector cube (e.g. a result of aggregate_spatial).")
    path.write_text(json.dumps(to_jsonable(document), allow_nan=False), "utf-8")
    return WrittenFile(path, MEDIA_TYPE, {})
