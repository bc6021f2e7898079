"""Vector data cubes: geometries plus a values array with a leading ``geometry`` dimension."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

GEOMETRY = "geometry"


def _json_value(value: Any) -> Any:
    if isinstance(value, (np.floating, float)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.datetime64):
        return np.datetime_as_string(value, unit="s") + "Z"
    if isinstance(value, np.bool_):
        return bool(value)
    return value


@dataclass
class VectorCube:
    """Result of ``aggregate_spatial`` (and input of vector processes).

    ``geometries``: GeoJSON geometry dicts (in ``crs``); ``values``: DataArray whose first
    dimension is ``geometry`` (e.g. ``("geometry", "t", "bands")``), possibly lazy;
    ``properties``: the GeoJSON feature properties per geometry.
    """

    geometries: list[dict[str, Any]]
    values: xr.DataArray
    crs: Any = 4326
    properties: list[dict[str, Any]] = field(default_factory=list)

    @property
    def dims(self) -> tuple[str, ...]:
        return tuple(self.values.dims)

    def materialize(self, ctx: Any = None) -> "VectorCube":
        from jupyter_eo.backend.engine.compute import materialize

        return VectorCube(self.geometries, materialize(self.values, ctx), self.crs,
                          self.properties)

    def _labels(self, dim: str) -> list[Any]:
        return [_json_value(v) for v in self.values[dim].values] if dim in self.values.coords \
            else list(range(self.values.sizes[dim]))

    def to_records(self) -> dict[str, Any]:
        """JSON table: ``{"dims", "coords", "geometry": [...], "data": nested lists}``."""
        values = self.values.values
        return {
            "dims": list(self.values.dims),
            "coords": {d: self._labels(d) for d in self.values.dims if d != GEOMETRY},
            "geometry": self.geometries,
            "data": np.vectorize(_json_value, otypes=[object])(values).tolist()
            if values.size else [],
        }

    def to_geojson(self) -> dict[str, Any]:
        """A FeatureCollection; each feature's properties hold its values by label."""
        values = self.values.values
        other = [d for d in self.values.dims if d != GEOMETRY]
        features = []
        for i, geom in enumerate(self.geometries):
            props = dict(self.properties[i]) if i < len(self.properties) else {}
            row = values[i]
            if not other:
                props["value"] = _json_value(row)
            else:
                for index in np.ndindex(*row.shape):
                    key = "|".join(str(self._labels(d)[k]) for d, k in zip(other, index))
                    props[key] = _json_value(row[index])
            features.append({"type": "Feature", "id": str(i), "geometry": geom,
                             "properties": props})
        return {"type": "FeatureCollection", "features": features}
