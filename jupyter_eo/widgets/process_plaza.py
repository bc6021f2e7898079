"""ProcessPlaza: find, understand, run and publish shared processes (UDPs) in the lab.

``ProcessPlaza(connection, sources=None)`` lists processes from ``sources``: ``"user"`` (own
UDPs, ``GET /process_graphs``), ``"backend"`` (predefined, ``GET /processes``), URLs of a public
process or catalogue (``{"processes": [...]}``) and local JSON files; default: own UDPs and the
backend's processes. More can be added with the URL/file box (loaded safely, see
:mod:`jupyter_eo.widgets.process_sources`). Search matches id, summary, categories and
description; the selected process shows its description (Markdown, rendered without any HTML of
its own), parameters, returns and links; "Open form" (``open_form()``) builds its :class:`ProcessForm`.

Publishing: :func:`publish_process` saves a graph as a UDP whose parameters are the AOI, the
dates and chosen literal numbers, and returns its shareable namespace URL: the ``canonical`` link
the backend gives a public UDP (the embedded backend's ``/public/process_graphs/{user}/{id}``),
else its ``/process_graphs/{id}`` URL.
"""
from __future__ import annotations

import html
import json
from typing import Any, Callable, Iterable

import ipywidgets as w

from jupyter_eo.graph.process_doc import number_literals, parameter_kind, parameterize_numbers, search
from jupyter_eo.widgets.process_form import ProcessForm, describe_html
from jupyter_eo.widgets.process_sources import ProcessEntry, complete, load_source, load_sources
from jupyter_eo.widgets.style import css_style, error_html, muted_html

__all__ = ["ProcessPlaza", "publish_process", "parameters_html"]


def parameters_html(document: dict[str, Any]) -> str:
    """A table of a process's parameters: name (required marked), input kind, default, description."""
    rows = []
    for parameter in document.get("parameters") or []:
        required = not parameter.get("optional") and "default" not in parameter
        default = json.dumps(parameter["default"])[:80] if "default" in parameter else ""
        description = (parameter.get("description") or "").strip().split("\n")[0][:160]
        rows.append(f"<tr><td><code>{html.escape(parameter['name'])}</code>{' *' if required else ''}</td>"
                    f"<td>{html.escape(parameter_kind(parameter))}</td><td><code>{html.escape(default)}</code></td>"
                    f"<td>{html.escape(description)}</td></tr>")
    if not rows:
        return "<p class='jeo-muted'>No parameters.</p>"
    return ("<table class='jeo-process-parameters'><thead><tr><th>parameter</th><th>input</th><th>default</th>"
            "<th>description</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
            "<p class='jeo-muted'>* required</p>")


def publish_process(connection: Any, graph: dict[str, Any], process_id: str, *, summary: str = "",
                    description: str = "", numbers: Iterable[tuple[str, str]] = (), public: bool = True
                    ) -> tuple[dict[str, Any], str]:
    """Save ``graph`` as the UDP ``process_id`` (parameters: AOI and dates of its loads, and the
    literal numbers ``numbers`` = ``[(node_id, argument), ...]``); returns ``(document, url)``."""
    from jupyter_eo.graph.udp import make_udp, namespace_url, save_udp
    from jupyter_eo.widgets.export import udp_document

    document = udp_document(graph, process_id, summary=summary, description=description)
    flat, extra = parameterize_numbers(document["process_graph"], numbers)
    document = make_udp(flat, process_id, document["parameters"] + extra, summary=summary or None,
                        description=description or None)
    save_udp(connection, document, public=public)
    # a public UDP's description carries its canonical link (the embedded backend's
    # /public/process_graphs/{user}/{id}); otherwise the backend's /process_graphs/{id} URL
    return document, namespace_url(connection, process_id)


class ProcessPlaza(w.VBox):
    """Browse processes from several sources, read their documentation, open their forms, publish."""

    def __init__(self, connection: Any, sources: Iterable[Any] | None = None, *,
                 graph: Callable[[], dict[str, Any] | None] | dict[str, Any] | None = None,
                 form_options: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self.connection = connection
        self.form_options = dict(form_options or {})
        self.entries: list[ProcessEntry] = []
        self.form: ProcessForm | None = None
        self.source = w.Text(placeholder="https://…/process.json, a catalogue URL or a local .json file",
                             description="Add", layout=w.Layout(flex="1 1 auto"), continuous_update=False)
        self.load_button = w.Button(description="Load", icon="download", layout=w.Layout(width="auto"))
        self.search_box = w.Text(placeholder="Search id, summary, category…", description="Search",
                                 continuous_update=True, layout=w.Layout(width="100%"))
        self.category = w.Dropdown(options=[("All categories", "")], value="", layout=w.Layout(width="auto"))
        self.results = w.Select(options=[], rows=10, layout=w.Layout(width="100%"))
        self.results.add_class("jeo-plaza-results")
        self.details = w.HTML()
        self.details.add_class("jeo-plaza-details")
        self.open_button = w.Button(description="Open form", icon="edit", button_style="primary", disabled=True)
        self.message = w.HTML()
        self.form_box = w.VBox(layout=w.Layout(width="100%"))
        self._graph_source = graph
        self.publish_box = self._publish_controls()
        self.load_button.on_click(lambda _: self.add_source(self.source.value))
        self.source.observe(lambda c: self.add_source(c["new"]) if c["new"].strip() else None, names="value")
        self.search_box.observe(lambda _: self._refresh(), names="value")
        self.category.observe(lambda _: self._refresh(), names="value")
        self.results.observe(lambda c: self._show(c["new"]), names="value")
        self.open_button.on_click(lambda _: self.open_form())
        browse = w.HBox([w.VBox([self.search_box, self.category, self.results],
                                layout=w.Layout(flex="1 1 20em", min_width="16em")),
                         w.VBox([self.details, self.open_button], layout=w.Layout(flex="2 1 24em"))],
                        layout=w.Layout(flex_flow="row wrap", width="100%", align_items="flex-start"))
        publish = w.Accordion(children=[self.publish_box], titles=("Publish a graph as a process",),
                              selected_index=None)
        super().__init__([css_style(), w.HBox([self.source, self.load_button], layout=w.Layout(width="100%")),
                          self.message, browse, self.form_box, publish], **kwargs)
        self.add_class("jeo-process-plaza")
        self.layout.width = "100%"
        entries, errors = load_sources(sources, connection)
        self._add(entries)
        if errors:
            self.message.value = error_html("Could not load: " + " · ".join(errors))

    # -- sources and search ------------------------------------------------------------------
    def add_source(self, source: Any) -> list[ProcessEntry]:
        """Load one more source (URL, file, "user", "backend" or a document); errors shown inline."""
        if isinstance(source, str) and not source.strip():
            return []
        try:
            entries = load_source(source.strip() if isinstance(source, str) else source, self.connection)
        except Exception as exc:  # noqa: BLE001 - shown to the user
            self.message.value = error_html(f"Could not load {str(source)[:120]}: {getattr(exc, 'message', exc)}")
            return []
        self.message.value = muted_html(f"Loaded {len(entries)} process(es) from {str(source)[:120]}.")
        self._add(entries)
        if entries:
            self.select(entries[0].id, origin=entries[0].origin)
        return entries

    def _add(self, entries: list[ProcessEntry]) -> None:
        keys = {e.key for e in entries}
        self.entries = [e for e in self.entries if e.key not in keys] + entries
        categories = sorted({c for e in self.entries for c in e.document.get("categories") or []})
        self.category.options = [("All categories", "")] + [(c, c) for c in categories]
        self._refresh()

    def matches(self) -> list[ProcessEntry]:
        """The entries the search text and category select (own and shared processes first)."""
        by_id = {id(e.document): e for e in self.entries}
        found = [by_id[id(d)] for d in search([e.document for e in self.entries], self.search_box.value)]
        if self.category.value:
            found = [e for e in found if self.category.value in (e.document.get("categories") or [])]
        return sorted(found, key=lambda e: (e.origin == "backend", e.id))

    def _refresh(self) -> None:
        current = self.results.value
        options = []
        for entry in self.matches():
            summary = (entry.document.get("summary") or "")[:70]
            options.append((f"{entry.id} — {summary} [{entry.origin}]", entry.key))
        self.results.options = options
        keys = [k for _, k in options]
        self.results.value = current if current in keys else None

    def select(self, process_id: str, origin: str | None = None) -> ProcessEntry | None:
        """Select a listed process by id (and origin); returns its entry."""
        for entry in self.entries:
            if entry.id == process_id and (origin is None or entry.origin == origin):
                if entry.key not in [k for _, k in self.results.options]:
                    self.search_box.value = ""
                    self.category.value = ""
                self.results.value = entry.key
                return entry
        return None

    def selected(self) -> ProcessEntry | None:
        return next((e for e in self.entries if e.key == self.results.value), None)

    def _show(self, key: str | None) -> None:
        entry = self.selected()
        self.open_button.disabled = entry is None
        if entry is None:
            self.details.value = ""
            return
        try:
            entry = complete(entry, self.connection)
        except Exception as exc:  # noqa: BLE001 - shown to the user
            self.details.value = error_html(f"Cannot load {entry.id}: {getattr(exc, 'message', exc)}")
            return
        where = entry.namespace if entry.namespace not in (None, "user") else entry.origin
        self.details.value = (describe_html(entry.document) + "<h4>Parameters</h4>" + parameters_html(entry.document)
                              + f"<p class='jeo-muted'>Source: {html.escape(str(where))}</p>")

    def open_form(self, process_id: str | None = None, origin: str | None = None) -> ProcessForm | None:
        """Open the form of the selected process (or of ``process_id``) below the list."""
        entry = self.select(process_id, origin) if process_id else self.selected()
        if entry is None:
            self.message.value = error_html("Select a process first.")
            return None
        try:
            self.form = ProcessForm(self.connection, entry, **self.form_options)
        except Exception as exc:  # noqa: BLE001 - shown to the user
            self.message.value = error_html(f"Cannot open {entry.id}: {getattr(exc, 'message', exc)}")
            return None
        self.form_box.children = [self.form]
        self.message.value = ""
        return self.form

    # -- publishing --------------------------------------------------------------------------
    def _publish_controls(self) -> w.VBox:
        self.publish_id = w.Text(placeholder="process_id", description="Id", layout=w.Layout(width="20em"))
        self.publish_summary = w.Text(placeholder="What it computes", description="Summary",
                                      layout=w.Layout(width="100%"))
        self.publish_graph = w.Textarea(placeholder="The flat process graph as JSON (or pass graph= to the plaza)",
                                        layout=w.Layout(width="100%", height="6em"))
        self.publish_numbers = w.SelectMultiple(options=[], rows=4, description="Numbers",
                                                layout=w.Layout(width="100%"))
        self.publish_public = w.Checkbox(value=True, description="Public link", indent=False)
        self.publish_button = w.Button(description="Publish", icon="share-alt", button_style="success")
        self.publish_url = w.Text(description="Share", disabled=False, layout=w.Layout(width="100%"))
        self.publish_message = w.HTML()
        self.publish_graph.observe(lambda _: self._offer_numbers(), names="value")
        self.publish_button.on_click(lambda _: self.publish())
        self._offer_numbers()
        return w.VBox([self.publish_id, self.publish_summary, self.publish_graph, self.publish_numbers,
                       w.HBox([self.publish_public, self.publish_button]), self.publish_url, self.publish_message])

    def _current_graph(self) -> dict[str, Any] | None:
        if self.publish_graph.value.strip():
            return json.loads(self.publish_graph.value)
        source = self._graph_source
        return source() if callable(source) else source

    def _offer_numbers(self) -> None:
        try:
            graph = self._current_graph()
        except ValueError:
            graph = None
        literals = number_literals(graph) if isinstance(graph, dict) else []
        self.publish_numbers.options = [(f"{node}.{arg} = {value:g}", (node, arg)) for node, arg, value in literals]

    def publish(self, process_id: str | None = None, *, summary: str | None = None,
                numbers: Iterable[tuple[str, str]] | None = None, public: bool | None = None) -> str | None:
        """Save the graph as a UDP (AOI, dates and the chosen numbers as parameters), add it to the
        list, and show its shareable URL; returns the URL."""
        process_id = process_id or self.publish_id.value.strip()
        try:
            graph = self._current_graph()
        except ValueError as exc:
            self.publish_message.value = error_html(f"The graph is not JSON: {exc}")
            return None
        if not graph:
            self.publish_message.value = error_html("Nothing to publish: give a process graph.")
            return None
        try:
            document, url = publish_process(
                self.connection, graph, process_id,
                summary=self.publish_summary.value if summary is None else summary,
                numbers=list(self.publish_numbers.value) if numbers is None else list(numbers),
                public=self.publish_public.value if public is None else public)
        except Exception as exc:  # noqa: BLE001 - shown to the user
            self.publish_message.value = error_html(f"Publishing failed: {getattr(exc, 'message', exc)}")
            return None
        self.publish_url.value = url
        names = ", ".join(p["name"] for p in document["parameters"])
        self.publish_message.value = muted_html(f"Saved {process_id} (parameters: {names}). Share the URL above.")
        self._add([ProcessEntry(document, origin="my processes", namespace="user")])
        return url
