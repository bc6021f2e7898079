"""Explorer: draw an AOI → pick collection, time, recipe → live preview → batch job, code, UDP."""
from __future__ import annotations

from typing import Any

import ipywidgets as w

from jupyter_eo.widgets.aoi_map import AOIMap
from jupyter_eo.widgets.export import CodeExport, save_udp
from jupyter_eo.widgets.geometry import is_rectangle, spatial_extent
from jupyter_eo.widgets.jobs import JobsPanel
from jupyter_eo.widgets.pickers import CollectionPicker, TemporalExtentPicker
from jupyter_eo.widgets.preview import Preview, describe_error
from jupyter_eo.widgets.recipe_picker import RecipePicker
from jupyter_eo.widgets.recipes import RECIPES, RecipeInputs
from jupyter_eo.widgets.style import css_style, error_html, muted_html

BBox = tuple[float, float, float, float]


def _overlaps(a: BBox, b: BBox) -> bool:
    """Whether two (west, south, east, north) boxes share any area (no antimeridian wrap)."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


class Explorer(w.VBox):
    """One widget composing the AOI map, pickers, recipes, preview, jobs and exports.

    ``Explorer(connection)`` works with any ``openeo.Connection`` (``jupyter_eo.connect("local")``
    for the embedded backend, ``jupyter_eo.connect("cdse")`` for a remote one) and any collection:
    recipes that do not fit its bands are listed with the reason, and the band view and the
    band-math formula fit every collection. The current graph is ``explorer.graph()``; it is what
    the preview runs (at low resolution), what "Run as batch job" submits, what "Insert code"
    renders and what "Save as UDP" stores; the controls always show the values it uses.
    ``temporal_extent`` is kept (clamped, with a note, only where a collection does not cover
    it). ``backend_id`` of the exported code defaults to the connection's own backend;
    ``code_ending`` is what the inserted cell does at its end ("view", "download" or "none").
    The widget never holds credentials: the connection does, in the kernel.
    """

    def __init__(self, connection: Any, *, aoi: Any = None, collection: str | None = None,
                 temporal_extent: tuple[str, str] | None = None, recipe: str = "NDVI",
                 auto_preview: bool = True, backend_id: str | None = None, delay: float = 0.4,
                 max_pixels: int = 512, basemap_url: str | None = "auto",
                 center: tuple[float, float] = (46.5, 11.3), zoom: int = 8, code_ending: str = "view",
                 **kwargs: Any) -> None:
        self.connection = connection
        self.map = AOIMap(basemap_url=basemap_url, center=center, zoom=zoom)
        self.collection = CollectionPicker.from_connection(connection, value=collection)
        self.temporal = TemporalExtentPicker(temporal_extent)
        self.temporal.bind(self.collection)
        self.recipe = RecipePicker(self.collection.collection, value=recipe)
        self.recipe.bind(self.collection)
        self.preview = Preview(connection, map=self.map.map, delay=delay, max_pixels=max_pixels)
        self.auto = w.Checkbox(value=auto_preview, description="Live preview", indent=False,
                               layout=w.Layout(width="auto"))
        self.preview_button = w.Button(description="Preview", icon="eye", button_style="info",
                                       tooltip="Compute a low-resolution preview of the AOI now")
        self.job_button = w.Button(description="Run as batch job", icon="cogs", layout=w.Layout(width="auto"),
                                   tooltip="Submit the full-resolution computation as a batch job")
        self.export = CodeExport(self.graph, backend_id=backend_id, connection=connection, ending=code_ending,
                                 result_name=lambda: f"{self.recipe.value}_{self.collection.value}")
        self.zoom_button = w.Button(description="Zoom to collection", icon="search-plus",
                                    tooltip="Show the collection's spatial extent on the map",
                                    layout=w.Layout(width="auto", display="none"))
        self.udp_id = w.Text(placeholder="udp_id", description="UDP id", layout=w.Layout(width="16em"))
        self.udp_button = w.Button(description="Save as UDP", icon="save",
                                   tooltip="Store the graph as a user-defined process (parameters: AOI, time)")
        self.message = w.HTML()
        self.jobs = JobsPanel(connection)
        self.jobs_box = w.Accordion(children=[self.jobs], titles=("Batch jobs",), selected_index=None)

        self.map.on_aoi_change(lambda _aoi: self._changed())
        self.temporal.observe(lambda c: (self.recipe.follow_first_period(c["new"]), self._changed()),
                              names="value")
        self.collection.observe(lambda _: self._on_collection(), names="collection")
        for name in ("value", "reducer", "cloud_mask", "second_period", "bands", "expression"):
            self.recipe.observe(lambda _: self._changed(), names=name)
        self.zoom_button.on_click(lambda _: self.zoom_to_collection())
        self.preview.on_result(self._on_preview_result)
        self.auto.observe(lambda c: self._changed() if c["new"] else None, names="value")
        self.preview_button.on_click(lambda _: self.run_preview(immediate=True))
        self.job_button.on_click(lambda _: self.run_batch_job())
        self.udp_button.on_click(lambda _: self.save_udp())

        wrap = w.Layout(flex_flow="row wrap", width="100%", align_items="flex-start")
        pickers = w.HBox([w.VBox([self.collection], layout=w.Layout(flex="1 1 18em", min_width="16em")),
                          w.VBox([self.temporal, self.recipe], layout=w.Layout(flex="1 1 18em", min_width="16em"))],
                         layout=wrap)
        actions = w.HBox([self.preview_button, self.auto, self.zoom_button, self.job_button, self.udp_id,
                          self.udp_button], layout=wrap)
        super().__init__([css_style(), self.map, pickers, self.preview, actions, self.export,
                          self.message, self.jobs_box], **kwargs)
        self.add_class("jeo-explorer")
        self.layout.width = "100%"
        self.recipe.follow_first_period(self.temporal.value)
        self._on_collection()
        if aoi is not None:
            self.map.set_aoi(aoi)

    # -- the current graph ---------------------------------------------------------------
    def inputs(self) -> RecipeInputs | None:
        """The recipe inputs from the current widget state (None without an AOI)."""
        if self.map.bbox is None or self.collection.value is None:
            return None
        return RecipeInputs(collection_id=self.collection.value, spatial_extent=spatial_extent(self.map.bbox),
                            temporal_extent=tuple(self.temporal.value), metadata=self.collection.collection or {},
                            cloud_mask=self.recipe.cloud_mask, reducer=self.recipe.reducer,
                            second_period=self.recipe.second_period, geometry=self.map.aoi,
                            bands=tuple(self.recipe.bands), expression=self.recipe.expression)

    def clipped(self) -> bool:
        """True when the AOI is not a rectangle: loads then use its GeoJSON and the result has
        no-data outside the polygon(s) (previews still cover the bounding box)."""
        return self.map.aoi is not None and not is_rectangle(self.map.aoi)

    def graph(self, save_format: str | None = "GTiff") -> dict[str, Any] | None:
        """The flat process graph of the current choices (None when incomplete)."""
        inputs = self.inputs()
        if inputs is None:
            return None
        recipe = RECIPES[self.recipe.value]
        if recipe.kind == "timeseries":
            save_format = "JSON" if save_format else None
        return recipe.graph(inputs, save_format=save_format)

    # -- actions -------------------------------------------------------------------------
    def run_preview(self, immediate: bool = False) -> bool:
        """Schedule a preview of the current graph; False (with a hint) when incomplete."""
        try:
            graph = self.graph(save_format=None)
        except Exception as exc:
            self.message.value = error_html(describe_error(exc))
            return False
        if graph is None:
            self.message.value = muted_html("Draw an area of interest on the map to see a preview.")
            return False
        outside = self.outside_collection()
        if outside:
            self.clear_preview()
            self.message.value = error_html(outside)
            return False
        self.message.value = (muted_html("Clipped to the drawn polygon: outside it the result has no data.")
                              if self.clipped() else "")
        recipe = RECIPES[self.recipe.value]
        from jupyter_eo.widgets.preview_run import native_resolution
        from jupyter_eo.widgets.product_styles import product_style

        self.preview.update(graph, spatial_extent(self.map.bbox), cmap=recipe.cmap, range=recipe.range,
                            label=self.product_label(), immediate=immediate,
                            resolution_m=native_resolution(self.collection.collection or {}),
                            style=product_style(recipe))
        return True

    def product_label(self) -> str:
        """What the preview shows: the recipe's short name, the band(s) viewed, or the formula."""
        recipe = RECIPES[self.recipe.value]
        if recipe.kind == "bands":
            bands = list(self.recipe.bands)
            return bands[0] if len(bands) == 1 else "RGB " + " / ".join(bands)
        if recipe.kind == "expression":
            return self.recipe.expression or "formula"
        return recipe.title.split(" — ")[0]

    def collection_bbox(self) -> BBox | None:
        """The current collection's spatial extent (None when unknown or global)."""
        from jupyter_eo.widgets.metadata import spatial_bbox

        bbox = spatial_bbox(self.collection.collection or {})
        return bbox if bbox and (bbox[2] - bbox[0]) < 359 else None

    def outside_collection(self) -> str | None:
        """Why nothing can be previewed (the AOI misses the collection), or None."""
        extent, aoi = self.collection_bbox(), self.map.bbox
        if extent is None or aoi is None or aoi[2] < aoi[0] or _overlaps(aoi, extent):
            return None
        box = ", ".join(f"{v:g}" for v in extent)
        return (f"The AOI lies outside {self.collection.value}'s extent (W, S, E, N: {box}): nothing to "
                "preview, the previous preview was removed. Use “Zoom to collection” and draw an AOI there.")

    def zoom_to_collection(self) -> None:
        """Fit the map to the collection's spatial extent."""
        extent = self.collection_bbox()
        if extent is not None:
            west, south, east, north = extent
            self.map.map.fit_bounds([[south, west], [north, east]])

    def clear_preview(self) -> None:
        """Cancel pending previews and take the shown one off the map (overlay, tiles, legends)."""
        from jupyter_eo.widgets.preview_tiles import delete_tile_preview

        preview = self.preview
        preview.scheduler.cancel()
        for layer in (preview.overlay, preview.tile_layer):
            if layer is not None and layer in preview.map.layers:
                preview.map.remove(layer)
        delete_tile_preview(self.connection, preview.tiles)
        preview.overlay = preview.tile_layer = preview.tiles = preview.result = None
        preview.colorbar.value = preview.rgb_legend.value = ""
        preview.keep_button.disabled = True
        preview.status.value = muted_html("No preview: the AOI is outside the collection.")

    def run_batch_job(self, title: str | None = None) -> Any:
        """Submit the current graph as a batch job (shown in the jobs panel)."""
        graph = self.graph()
        if graph is None:
            self.message.value = error_html("Nothing to run: draw an AOI first.")
            return None
        try:
            job = self.jobs.submit(graph, title=title or f"{self.recipe.value} {self.collection.value} "
                                                        f"{self.temporal.value[0]}…{self.temporal.value[1]}")
        except Exception as exc:
            self.message.value = error_html(f"Batch job failed — {describe_error(exc)}")
            return None
        self.jobs_box.selected_index = 0
        self.message.value = muted_html(f"Batch job {job.job_id} submitted.")
        return job

    def save_udp(self, udp_id: str | None = None) -> dict[str, Any] | None:
        """Store the current graph as a user-defined process; returns its document."""
        udp_id = udp_id or self.udp_id.value.strip()
        graph = self.graph(save_format=None)
        if graph is None:
            self.message.value = error_html("Nothing to save: draw an AOI first.")
            return None
        try:
            doc = save_udp(self.connection, graph, udp_id, summary=RECIPES[self.recipe.value].title)
        except Exception as exc:
            self.message.value = error_html(f"Saving the UDP failed — {describe_error(exc)}")
            return None
        self.message.value = muted_html(f"Saved user-defined process '{udp_id}' "
                                        f"(parameters: {', '.join(p['name'] for p in doc['parameters'])}).")
        return doc

    # -- reactions -----------------------------------------------------------------------
    def _on_collection(self) -> None:
        bbox = self.collection_bbox()
        self.map.show_footprint(bbox, name=self.collection.value or "")
        self.zoom_button.layout.display = "" if bbox is not None else "none"
        self._changed()

    def _changed(self) -> None:
        outside = self.outside_collection()
        if outside:  # say why at once, whether or not previews are live
            self.clear_preview()
            self.message.value = error_html(outside)
            return
        if "outside" in self.message.value and "extent" in self.message.value:
            self.message.value = ""  # back inside: the explanation no longer holds
        if self.auto.value and self.map.bbox is not None:
            self.run_preview()

    def _on_preview_result(self, result: Any) -> None:
        note = getattr(result, "fallback", "")
        if note:
            self.message.value = muted_html(note)
