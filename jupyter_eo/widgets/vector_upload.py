"""AOI from a vector file: read GeoPackage, zipped Shapefile, GeoJSON, KML, FlatGeobuf or GeoParquet
(pyogrio; GeoParquet with pyarrow), list its polygon features in lon/lat, pick one as the AOI."""
from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import ipywidgets as w

from jupyter_eo.widgets.geometry import AOIInvalid, normalize_geometry
from jupyter_eo.widgets.style import error_html, muted_html

SUFFIXES = (".gpkg", ".zip", ".geojson", ".json", ".kml", ".kmz", ".fgb", ".parquet", ".geoparquet")
MAX_BYTES = 50 * 1024 * 1024
MAX_FEATURES = 5000
_LABEL_FIELDS = ("name", "title", "label", "id", "nom", "naam")


@dataclass(frozen=True)
class VectorFeature:
    """One polygon feature of an uploaded file, in WGS84 (normalised GeoJSON geometry)."""

    label: str
    geometry: dict[str, Any]


def read_vector(name: str, content: bytes) -> list[VectorFeature]:
    """The Polygon/MultiPolygon features of a vector file given as bytes (any CRS, reprojected
    to lon/lat). Raises :class:`AOIInvalid` with a readable message for anything else."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise AOIInvalid(f"Unsupported vector file {name!r}: use one of {', '.join(SUFFIXES)}.")
    if len(content) > MAX_BYTES:
        raise AOIInvalid(f"{name!r} is larger than {MAX_BYTES // 2**20} MB.")
    with tempfile.TemporaryDirectory(prefix="jupyter-eo-vector-") as tmp:
        path = Path(tmp) / Path(name).name
        path.write_bytes(content)
        if suffix in (".parquet", ".geoparquet"):
            records = _read_geoparquet(path)
        else:
            source = f"/vsizip/{path}" if suffix in (".zip", ".kmz") else str(path)
            records = _read_ogr(source)
    features = []
    for label, shape in records:
        if shape is None or shape.is_empty or shape.geom_type not in ("Polygon", "MultiPolygon"):
            continue
        try:
            geometry = normalize_geometry(json.loads(json.dumps(shape.__geo_interface__)))
        except AOIInvalid:
            continue
        features.append(VectorFeature(label, geometry))
        if len(features) >= MAX_FEATURES:
            break
    if not features:
        raise AOIInvalid(f"{name!r} has no polygon features (an AOI must be a polygon).")
    return features


def _label(fields: dict[str, Any], fallback: str) -> str:
    lowered = {str(k).lower(): v for k, v in fields.items()}
    for key in _LABEL_FIELDS:
        value = lowered.get(key)
        if value not in (None, ""):
            return str(value)
    return fallback


def _to_wgs84(shapes: list[Any], crs: str | None) -> list[Any]:
    if not crs:
        return shapes
    import shapely
    from pyproj import CRS, Transformer

    source = CRS.from_user_input(crs)
    if source.equals(CRS.from_epsg(4326), ignore_axis_order=True):
        return shapes
    transformer = Transformer.from_crs(source, 4326, always_xy=True)
    return [None if s is None else shapely.transform(s, lambda xy: _stack(transformer.transform(xy[:, 0], xy[:, 1])))
            for s in shapes]


def _stack(xy: tuple[Any, Any]) -> Any:
    import numpy as np

    return np.column_stack(xy)


def _read_ogr(source: str) -> list[tuple[str, Any]]:
    import pyogrio
    import shapely

    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(source)]
    except Exception as exc:  # pyogrio/GDAL raise several types for unreadable files
        raise AOIInvalid(f"Cannot read the vector file: {exc}") from None
    out: list[tuple[str, Any]] = []
    for layer in layers:
        try:
            meta, fids, wkb, fields = pyogrio.raw.read(source, layer=layer, return_fids=True,
                                                       max_features=MAX_FEATURES)
        except Exception as exc:
            raise AOIInvalid(f"Cannot read layer {layer!r}: {exc}") from None
        shapes = _to_wgs84([None if g is None else shapely.from_wkb(g) for g in wkb], meta.get("crs"))
        names = [str(n) for n in (meta.get("fields") if meta.get("fields") is not None else [])]
        for i, shape in enumerate(shapes):
            record = {n: fields[j][i] for j, n in enumerate(names)}
            fid = fids[i] if fids is not None else i
            prefix = f"{layer}: " if len(layers) > 1 else ""
            out.append((prefix + _label(record, f"Feature {fid}"), shape))
    return out


def _read_geoparquet(path: Path) -> list[tuple[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise AOIInvalid("Reading GeoParquet needs pyarrow (pip install pyarrow).") from None
    import shapely

    table = pq.read_table(path)
    geo = json.loads((table.schema.metadata or {}).get(b"geo", b"{}") or b"{}")
    column = geo.get("primary_column", "geometry")
    if column not in table.column_names:
        raise AOIInvalid(f"{path.name!r} is not GeoParquet (no geometry column).")
    crs = (geo.get("columns", {}).get(column) or {}).get("crs")
    crs_text = json.dumps(crs) if isinstance(crs, dict) else crs
    shapes = _to_wgs84([None if g is None else shapely.from_wkb(g) for g in table.column(column).to_pylist()],
                       crs_text)
    rows = table.drop([column]).to_pylist()
    return [(_label(row, f"Feature {i}"), shape) for i, (row, shape) in enumerate(zip(rows, shapes))]


class VectorUpload(w.HBox):
    """An upload button for a vector file and a list of its polygon features; choosing one calls
    ``on_feature`` callbacks with its geometry (the first feature is chosen right away)."""

    def __init__(self, **kwargs: Any) -> None:
        self.features: list[VectorFeature] = []
        self._callbacks = w.CallbackDispatcher()
        self.upload = w.FileUpload(accept=",".join(SUFFIXES), multiple=False, description="Upload AOI",
                                   tooltip="GeoPackage, zipped Shapefile, GeoJSON, KML, FlatGeobuf, GeoParquet",
                                   layout=w.Layout(width="auto"))
        self.choice = w.Dropdown(options=[], description="Feature", layout=w.Layout(width="auto", display="none"))
        self.message = w.HTML()
        self.upload.observe(self._on_upload, names="value")
        self.choice.observe(self._on_choice, names="value")
        super().__init__([self.upload, self.choice, self.message],
                         layout=w.Layout(flex_flow="row wrap", align_items="center"), **kwargs)
        self.add_class("jeo-vector-upload")

    def on_feature(self, callback: Callable[[dict[str, Any]], Any], remove: bool = False) -> None:
        """Call ``callback(geometry)`` when a feature is chosen."""
        self._callbacks.register_callback(callback, remove=remove)

    def load(self, name: str, content: bytes) -> list[VectorFeature]:
        """Read a vector file (as if uploaded) and choose its first polygon feature."""
        try:
            features = read_vector(name, bytes(content))
        except AOIInvalid as exc:
            self.message.value = error_html(str(exc))
            return []
        self.features = features
        self.choice.options = [(f.label, i) for i, f in enumerate(features)]
        self.choice.layout.display = "" if len(features) > 1 else "none"
        more = f"{len(features)} polygon features; choose one." if len(features) > 1 else "1 polygon feature."
        self.message.value = muted_html(f"{Path(name).name}: {more}")
        if self.choice.value == 0:
            self._callbacks(features[0].geometry)
        else:
            self.choice.value = 0
        return features

    def _on_upload(self, change: dict) -> None:
        files = change["new"] or ()
        if not files:
            return
        item = files[0]
        self.load(item["name"], bytes(item["content"]))

    def _on_choice(self, change: dict) -> None:
        index = change["new"]
        if isinstance(index, int) and 0 <= index < len(self.features):
            self._callbacks(self.features[index].geometry)


__all__ = ["VectorUpload", "VectorFeature", "read_vector", "SUFFIXES"]
