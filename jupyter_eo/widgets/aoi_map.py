"""AOIMap: an ipyleaflet map whose drawn rectangle/polygon is the single synced AOI (``aoi``/``bbox``)."""
from __future__ import annotations

from typing import Any, Callable

import ipyleaflet
import ipywidgets as w
import traitlets as t

from jupyter_eo.widgets.geometry import (AOIInvalid, BBox, bbox_geometry, geometry_bbox,
                                         normalize_geometry, parse_aoi_text)
from jupyter_eo.widgets.map_layers import HALF_WORLD, mercator
from jupyter_eo.widgets.style import css_style, error_html

AOI_STYLE = {"color": "#ff7800", "weight": 2, "fillOpacity": 0.08}
#: Optional internet basemaps (name, URL template, attribution), offered besides the offline one.
ONLINE_BASEMAPS = (
    ("OpenStreetMap", "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "© OpenStreetMap contributors"),
    ("Esri World Imagery",
     "https://server.arcgisonline.com/ArcGIS/rest/services/World_Imagery/MapServer/tile/{z}/{y}/{x}",
     "Esri, Maxar, Earthstar Geographics"),
)


def fit_view(bbox: BBox, view_px: tuple[float, float], *, padding: float = 0.1,
             max_zoom: int = 18) -> tuple[tuple[float, float], int]:
    """(centre (lat, lon), zoom) showing ``bbox`` in a ``view_px`` (width, height) map with
    ``padding`` (share of the view) around it; the centre is the middle in Web Mercator."""
    import math

    west, south, east, north = bbox
    if east < west:
        east += 360.0
    x0, y0 = mercator(west, south)
    x1, y1 = mercator(east, north)
    width, height = (max(v * (1 - 2 * padding), 16.0) for v in view_px)
    per_px_zoom0 = 2 * HALF_WORLD / 256
    spans = [max(x1 - x0, 1e-3) / width, max(y1 - y0, 1e-3) / height]
    zoom = int(math.floor(math.log2(per_px_zoom0 / max(spans))))
    zoom = max(0, min(max_zoom, zoom))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    lat = math.degrees(2 * math.atan(math.exp(cy / HALF_WORLD * math.pi)) - math.pi / 2)
    lon = cx / HALF_WORLD * 180.0
    lon = (lon + 180.0) % 360.0 - 180.0
    return (round(lat, 9), round(lon, 9)), zoom


def default_basemap_url(backend_id: str = "local") -> str | None:
    """Tile URL template of the embedded backend's offline basemap through the lab's proxy,
    origin-relative so the browser's lab cookie authenticates it (None outside Jupyter)."""
    from jupyter_eo import connection as _conn

    import os  # the Jupyter server exports its own offline basemap route (or an online URL)
    if os.environ.get("JUPYTER_EO_BASEMAP_URL"):
        return os.environ["JUPYTER_EO_BASEMAP_URL"]
    base = _conn.proxy_url(backend_id)
    if not base:
        return None
    return _conn.browser_url(base + "basemap/{z}/{x}/{y}.png")


class AOIMap(w.VBox):
    """A map to draw (rectangle, polygon), edit or delete one area of interest.

    ``aoi`` (GeoJSON Polygon/MultiPolygon dict, or None) is the single source of truth; ``bbox``
    ``(west, south, east, north)`` is derived from it. Longitudes are normalised to [-180, 180]
    (shapes crossing the antimeridian are split; their bbox has west > east).
    """

    aoi = t.Dict(allow_none=True, default_value=None, help="The AOI as a GeoJSON geometry")
    bbox = t.Tuple(allow_none=True, default_value=None, help="(west, south, east, north), derived")

    def __init__(self, aoi: dict | str | BBox | None = None, *, center: tuple[float, float] = (46.5, 11.3),
                 zoom: int = 8, basemap_url: str | None = "auto", height: str = "420px",
                 online_basemaps: bool = False, **kwargs: Any) -> None:
        self._aoi_callbacks = w.CallbackDispatcher()
        self._syncing = False
        self.map = ipyleaflet.Map(layers=(), center=center, zoom=zoom, scroll_wheel_zoom=True,
                                  world_copy_jump=True, attribution_control=False,
                                  layout=w.Layout(height=height, width="100%"))
        if basemap_url == "auto":
            basemap_url = default_basemap_url()
        self.basemap: ipyleaflet.TileLayer | None = None
        if basemap_url:
            self.basemap = ipyleaflet.TileLayer(url=basemap_url, name="Offline basemap", base=True,
                                                max_zoom=18, attribution="jupyter_eo embedded backend")
            self.map.add(self.basemap)
        if online_basemaps:  # only useful when the browser reaches the internet
            for name, url, attribution in ONLINE_BASEMAPS:
                self.map.add(ipyleaflet.TileLayer(url=url, name=name, base=True, max_zoom=19,
                                                  attribution=attribution, visible=self.basemap is None))
            self.map.add(ipyleaflet.LayersControl(position="topright"))
        self.draw = ipyleaflet.GeomanDrawControl(
            rectangle={"pathOptions": AOI_STYLE}, polygon={"pathOptions": AOI_STYLE},
            polyline={}, circlemarker={}, marker={}, circle={}, text={},
            edit=True, remove=True, drag=True, cut=False, rotate=False, position="topleft")
        self.map.add(self.draw)
        self.map.add(ipyleaflet.ScaleControl(position="bottomleft"))
        self.footprints = ipyleaflet.LayerGroup(name="Collection footprints")
        self.map.add(self.footprints)
        self.draw.observe(self._on_draw_data, names="data")

        self.text = w.Text(placeholder="GeoJSON, WKT or west, south, east, north",
                           description="AOI", layout=w.Layout(flex="1 1 auto", min_width="10em"),
                           continuous_update=False)
        self.import_button = w.Button(description="Set AOI", tooltip="Use the text as AOI",
                                      icon="check")
        self.clear_button = w.Button(description="Clear", tooltip="Remove the AOI", icon="trash")
        self.status = w.HTML(layout=w.Layout(min_height="1.5em"))
        self.import_button.on_click(lambda _: self.set_aoi_text(self.text.value))
        self.text.observe(lambda change: self.set_aoi_text(change["new"]) if change["new"] else None,
                          names="value")
        self.clear_button.on_click(lambda _: self.clear())
        from jupyter_eo.widgets.vector_upload import VectorUpload

        self.vector_upload = VectorUpload()  # a polygon from a GeoPackage, Shapefile, GeoJSON, ...
        self.vector_upload.on_feature(self.set_aoi)
        toolbar = w.HBox([self.text, self.import_button, self.clear_button],
                         layout=w.Layout(flex_flow="row wrap", width="100%"))
        super().__init__([css_style(), self.map, toolbar, self.vector_upload, self.status], **kwargs)
        self.add_class("jeo-aoi-map")
        if aoi is not None:
            self.set_aoi(aoi)
        self._describe()

    # -- public API ------------------------------------------------------------------
    def on_aoi_change(self, callback: Callable[[dict | None], Any], remove: bool = False) -> None:
        """Call ``callback(aoi)`` whenever the AOI changes (drawn, edited, deleted or set)."""
        self._aoi_callbacks.register_callback(callback, remove=remove)

    def set_aoi(self, value: dict | str | BBox | list | None) -> None:
        """Set the AOI from a GeoJSON dict, WKT/GeoJSON/bbox text, a bbox tuple, or None."""
        if value is None:
            self.aoi = None
        elif isinstance(value, str):
            self.aoi = parse_aoi_text(value)
        elif isinstance(value, (tuple, list)) and len(value) == 4:
            self.aoi = bbox_geometry(*(float(v) for v in value))
        else:
            self.aoi = value
        if self.aoi is not None and self.bbox is not None:
            self.fit_bounds()

    def set_aoi_text(self, text: str) -> bool:
        """Import AOI text; shows a readable error instead of raising. True when accepted."""
        try:
            self.set_aoi(text)
        except AOIInvalid as exc:
            self.status.value = error_html(str(exc))
            return False
        return True

    def clear(self) -> None:
        """Remove the AOI (and the drawn shape)."""
        self.aoi = None

    def fit_bounds(self) -> None:
        """Zoom the map to the AOI (centre and zoom set at once, no round trip to the browser)."""
        if self.bbox is None:
            return
        center, zoom = fit_view(self.bbox, self._view_pixels(), max_zoom=int(self.map.max_zoom or 18))
        self.map.center = center
        self.map.zoom = zoom

    def _view_pixels(self) -> tuple[float, float]:
        """The map's size in CSS pixels, from its current bounds and zoom (a guess before shown)."""
        try:
            (south, west), (north, east) = self.map.bounds
            x0, y0 = mercator(west, south)
            x1, y1 = mercator(east, north)
            per_px = 2 * HALF_WORLD / (256 * 2 ** float(self.map.zoom))
            width, height = abs(x1 - x0) / per_px, abs(y1 - y0) / per_px
            if width > 50 and height > 50:
                return width, height
        except (TypeError, ValueError):
            pass
        height = str(self.map.layout.height or "420px")
        return 800.0, float(height[:-2]) if height.endswith("px") else 420.0

    def show_footprint(self, bbox: BBox | None, name: str = "footprint") -> None:
        """Show a collection's spatial extent as an outline (replaces earlier footprints)."""
        self.footprints.clear_layers()
        if bbox is None:
            return
        geometry = bbox_geometry(*bbox) if abs(bbox[2] - bbox[0]) < 360 else None
        if geometry is None:
            return
        self.footprints.add(ipyleaflet.GeoJSON(
            data={"type": "Feature", "properties": {"name": name}, "geometry": geometry},
            style={"color": "#3388ff", "weight": 1, "fill": False, "dashArray": "4 4"},
            name=name))

    # -- traits ----------------------------------------------------------------------
    @t.validate("aoi")
    def _validate_aoi(self, proposal: dict) -> dict | None:
        value = proposal["value"]
        if value is None or value == {}:
            return None
        return normalize_geometry(value)

    @t.observe("aoi")
    def _aoi_changed(self, change: dict) -> None:
        aoi = change["new"]
        self.bbox = geometry_bbox(aoi) if aoi is not None else None
        if not self._syncing:
            self._syncing = True
            try:
                self.draw.data = ([{"type": "Feature", "properties": {"style": AOI_STYLE},
                                    "geometry": aoi}] if aoi is not None else [])
            finally:
                self._syncing = False
        self._describe()
        self._aoi_callbacks(aoi)

    def _on_draw_data(self, change: dict) -> None:
        if self._syncing:
            return
        features = [f for f in (change["new"] or [])
                    if isinstance(f, dict) and (f.get("geometry") or {}).get("type")
                    in ("Polygon", "MultiPolygon")]
        self._syncing = True
        try:
            if not features:
                self.aoi = None
                return
            newest = features[-1]
            if len(features) > 1:  # one AOI at a time: the newest drawing replaces the others
                self.draw.data = [newest]
            try:
                self.aoi = newest["geometry"]
            except AOIInvalid as exc:
                self.status.value = error_html(str(exc))
        finally:
            self._syncing = False

    def _describe(self) -> None:
        if self.bbox is None:
            self.status.value = ("<span class='jeo-muted'>Draw a rectangle or polygon "
                                 "(toolbar on the map) or type an AOI.</span>")
            return
        from jupyter_eo.widgets.geometry import is_rectangle

        west, south, east, north = self.bbox
        kind = "AOI bbox" if self.aoi is None or is_rectangle(self.aoi) else \
            "Polygon AOI (results are clipped to it), bbox"
        self.status.value = (f"<span class='jeo-muted'>{kind}: W {west:.4f}, S {south:.4f}, "
                             f"E {east:.4f}, N {north:.4f}</span>")
