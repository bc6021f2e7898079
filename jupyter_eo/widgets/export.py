"""Getting work out of the widgets: openeo client code (inserted as a cell below) and UDPs."""
from __future__ import annotations

import copy
import re
from typing import Any, Callable

import ipywidgets as w

from jupyter_eo.errors import ProcessParameterInvalid
from jupyter_eo.widgets.style import error_html, muted_html

GraphSource = Callable[[], "dict[str, Any] | None"]


def code_for(graph: dict[str, Any], *, flavour: str = "lab", backend_id: str = "local",
             url: str | None = None) -> str:
    """Python code for the official ``openeo`` client that rebuilds ``graph``."""
    from jupyter_eo.graph.codegen import to_python

    kwargs: dict[str, Any] = {"flavour": flavour, "backend_id": backend_id}
    if url:
        kwargs["url"] = url
    return to_python(graph, **kwargs)


def udp_document(graph: dict[str, Any], udp_id: str, *, summary: str = "",
                 description: str = "") -> dict[str, Any]:
    """A user-defined process from ``graph``: ``spatial_extent`` (and ``temporal_extent`` when
    every load uses the same one) become parameters whose defaults are the current values."""
    if not re.fullmatch(r"[A-Za-z0-9_]+", udp_id or ""):
        raise ProcessParameterInvalid("A UDP id may contain only letters, digits and underscores.")
    graph = copy.deepcopy(graph)
    loads = [n for n in graph.values() if n["process_id"] in ("load_collection", "load_stac")]
    parameters: list[dict[str, Any]] = []
    extents = [n["arguments"].get("spatial_extent") for n in loads]
    if loads and all(e == extents[0] for e in extents) and extents[0] is not None:
        parameters.append({"name": "spatial_extent", "description": "Area of interest (bounding box).",
                           "schema": {"type": "object", "subtype": "bounding-box"},
                           "optional": True, "default": extents[0]})
        for node in loads:
            node["arguments"]["spatial_extent"] = {"from_parameter": "spatial_extent"}
    periods = [n["arguments"].get("temporal_extent") for n in loads]
    if loads and all(p == periods[0] for p in periods) and periods[0] is not None:
        parameters.append({"name": "temporal_extent", "description": "Time range [start, end).",
                           "schema": {"type": "array", "subtype": "temporal-interval"},
                           "optional": True, "default": periods[0]})
        for node in loads:
            node["arguments"]["temporal_extent"] = {"from_parameter": "temporal_extent"}
    for node in graph.values():  # a UDP returns its data; saving is the caller's choice
        if node["process_id"] == "save_result" and node.get("result"):
            source = node["arguments"]["data"]["from_node"]
            del graph[next(k for k, v in graph.items() if v is node)]
            graph[source]["result"] = True
            break
    doc: dict[str, Any] = {"id": udp_id, "process_graph": graph, "parameters": parameters}
    if summary:
        doc["summary"] = summary
    if description:
        doc["description"] = description
    return doc


def save_udp(connection: Any, graph: dict[str, Any], udp_id: str, **kwargs: Any) -> dict[str, Any]:
    """Store ``graph`` as UDP ``udp_id`` on the connection's backend; returns the document."""
    from openeo.api.process import Parameter

    doc = udp_document(graph, udp_id, **kwargs)
    connection.save_user_defined_process(
        user_defined_process_id=udp_id, process_graph=doc["process_graph"],
        parameters=[Parameter(name=p["name"], description=p["description"], schema=p["schema"],
                              default=p["default"]) for p in doc["parameters"]],
        summary=doc.get("summary"), description=doc.get("description"))
    return doc


class CodeExport(w.VBox):
    """"Insert code" (new cell below, via the labextension bridge, with a copy fallback), plus a
    code preview and a choice between lab code (``jupyter_eo.connect``) and portable code."""

    def __init__(self, graph: GraphSource, *, backend_id: str = "local", **kwargs: Any) -> None:
        self._graph = graph
        self.backend_id = backend_id
        self.flavour = w.ToggleButtons(options=[("This lab", "lab"), ("Portable", "portable")],
                                       value="lab", description="Code for",
                                       tooltips=["jupyter_eo.connect(...)", "openeo.connect(url)"],
                                       style={"button_width": "6em"})
        self.insert = w.Button(description="Insert code", icon="plus", button_style="primary",
                               tooltip="Insert the openeo client code as a new cell below")
        self.show = w.ToggleButton(description="Show code", icon="code", value=False)
        self.code_view = w.Textarea(layout=w.Layout(width="100%", height="14em", display="none"),
                                    disabled=True)
        self.code_view.add_class("jeo-copybox")
        self.status = w.HTML()
        self.last_code: str | None = None
        self.last_result: str | None = None
        self.insert.on_click(lambda _: self.insert_code())
        self.show.observe(self._toggle, names="value")
        super().__init__([w.HBox([self.insert, self.show, self.flavour], layout=w.Layout(flex_flow="row wrap")),
                          self.status, self.code_view], **kwargs)
        try:
            from jupyter_eo import bridge

            bridge.start()
        except Exception:  # outside a kernel: the fallback will be used
            pass

    def code(self) -> str | None:
        """The code for the current graph (None when there is nothing to export)."""
        graph = self._graph()
        if not graph:
            return None
        return code_for(graph, flavour=self.flavour.value, backend_id=self.backend_id)

    def insert_code(self) -> str | None:
        """Insert the code below the cell showing this widget; returns the bridge's answer."""
        try:
            code = self.code()
        except Exception as exc:
            self.status.value = error_html(f"Cannot generate code: {exc}")
            return None
        if code is None:
            self.status.value = error_html("Nothing to export yet: draw an AOI and pick a recipe.")
            return None
        from jupyter_eo.bridge import insert_code_cell

        self.last_code = code
        self.last_result = insert_code_cell(code, anchor=self)
        self.status.value = muted_html({"sent": "Code inserted below.", "pending": "Inserting code…",
                                        "fallback": "Copy the code shown below."}.get(self.last_result, ""))
        if self.show.value:
            self.code_view.value = code
        return self.last_result

    def _toggle(self, change: dict) -> None:
        self.code_view.layout.display = "" if change["new"] else "none"
        if change["new"]:
            try:
                self.code_view.value = self.code() or "# nothing to export yet"
            except Exception as exc:
                self.code_view.value = f"# cannot generate code: {exc}"
