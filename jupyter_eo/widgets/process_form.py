"""ProcessForm: a form built from a process's parameters, to preview, run, view and export a call of it.

``ProcessForm(connection, process)``: ``process`` is a process document (dict), the id of one of
the user's UDPs or of a predefined process, a URL (one process, or a catalogue with
``process_id=``), or a :class:`~jupyter_eo.widgets.process_sources.ProcessEntry`.

Every value is checked against its parameter's schema before anything is sent. What runs:
previews, batch jobs and "View cube" send the call with the UDP inlined (its nodes, the values
substituted: :func:`jupyter_eo.graph.udp.inline_udp`), which any backend evaluates; "Insert code"
writes the official client's ``connection.datacube_from_process(id, namespace=..., **arguments)``
(``namespace="user"`` for own UDPs, the URL for shared ones); a process from a local file has no
namespace to call, so its code is the inlined graph.
"""
from __future__ import annotations

import html
import tempfile
from pathlib import Path
from typing import Any

import ipywidgets as w

from jupyter_eo.errors import ProcessGraphInvalid
from jupyter_eo.graph.process_doc import check_document
from jupyter_eo.widgets.process_sources import ProcessEntry, complete, fetch_documents
from jupyter_eo.widgets.safe_markdown import link_html, markdown_html
from jupyter_eo.widgets.schema_widgets import FormContext, ParameterInput, make_input
from jupyter_eo.widgets.style import css_style, error_html, muted_html

__all__ = ["ProcessForm", "resolve_process", "describe_html"]


def resolve_process(connection: Any, process: Any, process_id: str | None = None) -> ProcessEntry:
    """A complete :class:`ProcessEntry` for what ``ProcessForm`` accepts as ``process``."""
    if isinstance(process, ProcessEntry):
        return complete(process, connection)
    if isinstance(process, dict):
        return ProcessEntry(check_document(process), origin="given")
    text = str(process).strip()
    if text.lower().startswith(("http://", "https://")):
        documents = fetch_documents(text, connection)
        if process_id is not None:
            documents = [d for d in documents if d["id"] == process_id]
        if len(documents) != 1:
            raise ProcessGraphInvalid(f"{text[:120]} lists {len(documents)} processes"
                                      f"{' with id ' + repr(process_id) if process_id else ''}: pass process_id=.")
        from jupyter_eo.widgets.process_sources import _namespace_of

        return ProcessEntry(documents[0], origin=text, namespace=_namespace_of(documents[0], text))
    if connection is None:
        raise ProcessGraphInvalid("A process given by id needs a connection.")
    listing = connection.get("/process_graphs", expected_status=200).json().get("processes") or []
    if any(isinstance(p, dict) and p.get("id") == text for p in listing):
        return complete(ProcessEntry({"id": text}, origin="my processes", namespace="user", complete=False),
                        connection)
    return ProcessEntry(check_document(connection.describe_process(text)), origin="backend")


def describe_html(document: dict[str, Any]) -> str:
    """Title, categories, Markdown description, returns and links of a process (safe HTML)."""
    parts = [f"<h3 class='jeo-process-title'>{html.escape(document['id'])}</h3>"]
    if document.get("summary"):
        parts.append(f"<p><b>{html.escape(document['summary'])}</b></p>")
    if document.get("categories"):
        parts.append("<p class='jeo-muted'>" + ", ".join(html.escape(c) for c in document["categories"]) + "</p>")
    parts.append(f"<div class='jeo-process-description'>{markdown_html(document.get('description'))}</div>")
    returns = document.get("returns") or {}
    if returns.get("description"):
        parts.append(f"<p><b>Returns:</b> {markdown_html(returns['description'])}</p>")
    links = [link for link in document.get("links") or [] if isinstance(link, dict)]
    if links:
        items = []
        for link in links:
            title = link.get("title") or link.get("rel") or link["href"]
            items.append(f"<li>{link_html(link['href'], title)}</li>")
        parts.append("<ul class='jeo-process-links'>" + "".join(items) + "</ul>")
    return "\n".join(parts)


class ProcessForm(w.VBox):
    """Inputs for every parameter of ``process`` plus Preview, Run as batch job, View cube and Insert code."""

    def __init__(self, connection: Any, process: Any, *, process_id: str | None = None,
                 basemap_url: str | None = "auto", max_pixels: int = 512, delay: float = 0.2,
                 code_ending: str = "view", backend_id: str | None = None,
                 center: tuple[float, float] = (46.5, 11.3), zoom: int = 8, **kwargs: Any) -> None:
        self.connection = connection
        self.entry = resolve_process(connection, process, process_id)
        self.document = self.entry.document
        self.max_pixels = max_pixels
        from jupyter_eo.widgets.aoi_map import AOIMap

        self.context = FormContext(connection, lambda: AOIMap(basemap_url=basemap_url, height="360px",
                                                                     center=center, zoom=zoom))
        parameters = self.document.get("parameters") or []
        # the collection first, so band and date inputs follow it whatever the declared order
        ordered = sorted(parameters, key=lambda p: 0 if _is_collection(p) else 1)
        built = {p["name"]: make_input(p, self.context) for p in ordered}
        self.inputs: list[ParameterInput] = [built[p["name"]] for p in parameters]
        self.header = w.HTML(describe_html(self.document))
        self.header.add_class("jeo-process-header")
        self.message = w.HTML()
        from jupyter_eo.widgets.preview import Preview

        preview_map = self.context.aoi_maps[0].map if self.context.aoi_maps else None
        self.preview = Preview(connection, map=preview_map, delay=delay, max_pixels=max_pixels)
        self.preview_button = w.Button(description="Preview", icon="eye", button_style="info",
                                       tooltip="Run the process on the AOI at low resolution and show it on the map")
        self.job_button = w.Button(description="Run as batch job", icon="cogs", layout=w.Layout(width="auto"))
        self.view_button = w.Button(description="View cube", icon="cube", layout=w.Layout(width="auto"),
                                    tooltip="Compute the result and open it in the cube viewer")
        from jupyter_eo.widgets.export import CodeExport
        from jupyter_eo.widgets.jobs import JobsPanel

        self.export = CodeExport(self.code_graph, connection=connection, backend_id=backend_id,
                                 ending=code_ending, result_name=lambda: self.document["id"])
        self.jobs = JobsPanel(connection)
        self.jobs_box = w.Accordion(children=[self.jobs], titles=("Batch jobs",), selected_index=None)
        self.viewer_box = w.VBox()
        self.viewer: Any = None
        self.preview_button.on_click(lambda _: self.run_preview())
        self.job_button.on_click(lambda _: self.run_batch_job())
        self.view_button.on_click(lambda _: self.view_cube())
        namespace = self.entry.namespace
        where = {"user": "your user-defined processes", None: "the backend's processes"}.get(
            namespace, namespace or "")
        origin = w.HTML(muted_html(f"From {where or self.entry.origin}."))
        form = w.VBox([i.box for i in self.inputs], layout=w.Layout(width="100%"))
        form.add_class("jeo-process-inputs")
        actions = w.HBox([self.preview_button, self.job_button, self.view_button],
                         layout=w.Layout(flex_flow="row wrap"))
        children = [css_style(), self.header, origin, form, actions, self.message, self.preview, self.export,
                    self.viewer_box, self.jobs_box]
        if not self.context.aoi_maps:
            children.insert(children.index(self.preview) + 1, self.preview.map)
        super().__init__(children, **kwargs)
        self.add_class("jeo-process-form")
        self.layout.width = "100%"

    # -- values ----------------------------------------------------------------------------
    def arguments(self) -> tuple[dict[str, Any], list[str]]:
        """(arguments, errors): every input read and checked; errors are also shown inline."""
        values: dict[str, Any] = {}
        errors: list[str] = []
        for item in self.inputs:
            value, error = item.read()
            if error:
                errors.append(f"{item.name}: {error}")
            elif value is not None:
                values[item.name] = value
        return values, errors

    def call_graph(self, arguments: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """The one-node graph calling the process (None, with inline errors, when a value is invalid)."""
        if arguments is None:
            arguments, errors = self.arguments()
            if errors:
                return None
        node: dict[str, Any] = {"process_id": self.document["id"], "arguments": arguments, "result": True}
        if self.entry.namespace is not None:
            node["namespace"] = self.entry.namespace
        return {self.document["id"]: node}

    def run_graph(self, save_format: str | None = None) -> dict[str, Any] | None:
        """The graph that runs: the call with the UDP inlined (predefined processes: the call)."""
        graph = self.call_graph()
        if graph is None:
            return None
        if isinstance(self.document.get("process_graph"), dict):
            from jupyter_eo.graph.udp import inline_udp

            graph = inline_udp(graph, self.document)
        return _with_save(graph, save_format) if save_format else graph

    def code_graph(self) -> dict[str, Any] | None:
        """What "Insert code" renders: the namespaced call, or (no namespace: a file) the inlined graph."""
        if self.entry.namespace is None and self.entry.origin != "backend":
            return self.run_graph()
        return self.call_graph()

    def spatial_extent(self, graph: dict[str, Any]) -> dict[str, float] | None:
        """The bounding box the preview covers: the first AOI input, else the first load's extent."""
        for aoi_map in self.context.aoi_maps:
            if aoi_map.bbox is not None:
                west, south, east, north = aoi_map.bbox
                return {"west": west, "south": south, "east": east, "north": north}
        for node in graph.values():
            extent = node.get("arguments", {}).get("spatial_extent")
            if node.get("process_id") == "load_collection" and isinstance(extent, dict) and "west" in extent:
                return {k: extent[k] for k in ("west", "south", "east", "north")}
        return None

    # -- actions ---------------------------------------------------------------------------
    def _checked_graph(self, save_format: str | None = None) -> dict[str, Any] | None:
        _, errors = self.arguments()
        if errors:
            self.message.value = error_html(f"{len(errors)} value(s) need attention: " + "; ".join(errors))
            return None
        try:
            return self.run_graph(save_format)
        except Exception as exc:  # noqa: BLE001 - shown to the user
            self.message.value = error_html(f"Cannot build the call: {exc}")
            return None

    def run_preview(self, immediate: bool = True) -> bool:
        """Validate, then schedule a low-resolution preview on the map; False when it cannot run."""
        graph = self._checked_graph()
        if graph is None:
            return False
        extent = self.spatial_extent(graph)
        if extent is None:
            self.message.value = error_html("Draw an area of interest on the map to preview.")
            return False
        self.message.value = ""
        self.preview.update(graph, extent, label=self.document["id"], immediate=immediate)
        return True

    def run_batch_job(self, title: str | None = None) -> Any:
        """Validate, then submit the full-resolution run as a batch job (shown in the jobs panel)."""
        graph = self._checked_graph("GTiff")
        if graph is None:
            return None
        from jupyter_eo.widgets.preview import describe_error

        try:
            job = self.jobs.submit(graph, title=title or f"{self.document['id']} (process plaza)")
        except Exception as exc:  # noqa: BLE001 - shown to the user
            self.message.value = error_html(f"Batch job failed — {describe_error(exc)}")
            return None
        self.jobs_box.selected_index = 0
        self.message.value = muted_html(f"Batch job {job.job_id} submitted.")
        return job

    def view_cube(self) -> Any:
        """Validate, compute the result (netCDF) and show it in a CubeViewer."""
        graph = self._checked_graph("netCDF")
        if graph is None:
            return None
        from jupyter_eo.widgets.cube_viewer import CubeViewer
        from jupyter_eo.widgets.preview import describe_error

        self.message.value = muted_html("Computing the cube…")
        try:
            payload = self.connection.download(graph)
            target = Path(tempfile.mkdtemp(prefix="jeo-process-")) / f"{self.document['id']}.nc"
            target.write_bytes(payload)
            self.viewer = CubeViewer(target)
        except Exception as exc:  # noqa: BLE001 - shown to the user
            self.message.value = error_html(f"Cannot show the cube — {describe_error(exc)}")
            return None
        self.viewer_box.children = [self.viewer]
        self.message.value = ""
        return self.viewer


def _is_collection(parameter: dict[str, Any]) -> bool:
    from jupyter_eo.graph.process_doc import parameter_kind

    return parameter_kind(parameter) == "collection"


def _with_save(graph: dict[str, Any], save_format: str) -> dict[str, Any]:
    """The graph ending in ``save_result(format)`` (kept when it already ends in one)."""
    from jupyter_eo.graph.model import result_node_id

    graph = {k: dict(v) for k, v in graph.items()}
    result = result_node_id(graph)
    if graph[result]["process_id"] == "save_result":
        return graph
    graph[result].pop("result", None)
    graph["save_form_result"] = {"process_id": "save_result", "result": True,
                                 "arguments": {"data": {"from_node": result}, "format": save_format}}
    return graph
