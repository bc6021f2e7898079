"""Getting work out of the widgets: openeo client code (inserted as a cell below) and UDPs."""
from __future__ import annotations

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
    """A user-defined process from ``graph``: ``spatial_extent`` (and ``temporal_extent``) become
    parameters whose defaults are the current values, when every load uses the same one (the
    two periods of a change recipe stay fixed). Built with :mod:`jupyter_eo.graph.udp`."""
    from jupyter_eo.graph.udp import make_udp, parameterize

    if not re.fullmatch(r"[A-Za-z0-9_]+", udp_id or ""):
        raise ProcessParameterInvalid("A UDP id may contain only letters, digits and underscores.")
    loads = [n for n in graph.values() if n["process_id"] in ("load_collection", "load_stac")]

    def shared(argument: str) -> bool:
        values = [n["arguments"].get(argument) for n in loads]
        return bool(loads) and values[0] is not None and all(v == values[0] for v in values)

    flat, parameters = parameterize(graph, spatial_extent=shared("spatial_extent"),
                                    temporal_extent=shared("temporal_extent"))
    _drop_final_save_result(flat)  # a UDP returns its data; saving is the caller's choice
    return make_udp(flat, udp_id, parameters, summary=summary or None,
                    description=description or None)


def _drop_final_save_result(graph: dict[str, Any]) -> None:
    """Remove a result ``save_result`` node in place, making its input the result."""
    for node_id, node in graph.items():
        if node["process_id"] == "save_result" and node.get("result"):
            source = node["arguments"]["data"]["from_node"]
            del graph[node_id]
            graph[source]["result"] = True
            return


def save_udp(connection: Any, graph: dict[str, Any], udp_id: str, **kwargs: Any) -> dict[str, Any]:
    """Store ``graph`` as UDP ``udp_id`` on the connection's backend; returns the document."""
    from jupyter_eo.graph.udp import save_udp as store

    doc = udp_document(graph, udp_id, **kwargs)
    store(connection, doc)
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
