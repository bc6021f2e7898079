"""Getting work out of the widgets: openeo client code (inserted as a cell below) and UDPs."""
from __future__ import annotations

import re
from typing import Any, Callable
from urllib.parse import urlsplit

import ipywidgets as w

from jupyter_eo.errors import ProcessParameterInvalid
from jupyter_eo.widgets.style import error_html, muted_html

GraphSource = Callable[[], "dict[str, Any] | None"]

#: What the inserted cell does after building the cube: "view" (download, then a CubeViewer in
#: lab code; JSON results are shown as returned), "download" (download only) or "none".
ENDINGS = ("view", "download", "none")
_EXTENSIONS = {"gtiff": "tif", "geotiff": "tif", "cog": "tif", "netcdf": "nc", "json": "json", "csv": "csv",
               "png": "png"}
_PROXY_PATH = re.compile(r"/jupyter-eo/openeo/([A-Za-z0-9][A-Za-z0-9_-]{0,63})/")


def code_for(graph: dict[str, Any], *, flavour: str = "lab", backend_id: str = "local",
             url: str | None = None, auth: str | None = "oidc", ending: str = "none",
             result_name: str = "result") -> str:
    """Python code for the official ``openeo`` client that rebuilds ``graph`` (an equivalent
    graph: see the user guide), followed by the ``ending`` (one of :data:`ENDINGS`)."""
    from jupyter_eo.graph.codegen import to_python

    if ending not in ENDINGS:
        raise ProcessParameterInvalid(f"Unknown code ending {ending!r}; use one of {', '.join(ENDINGS)}.")
    kwargs: dict[str, Any] = {"flavour": flavour, "backend_id": backend_id, "auth": auth}
    if url:
        kwargs["url"] = url
    return to_python(graph, **kwargs) + "".join(line + "\n" for line in
                                                _ending_lines(graph, flavour, ending, result_name))


def _ending_lines(graph: dict[str, Any], flavour: str, ending: str, name: str) -> list[str]:
    if ending == "none":
        return []
    save = next((n for n in graph.values() if n.get("result") and n["process_id"] == "save_result"), None)
    fmt = str((save or {}).get("arguments", {}).get("format") or "GTiff")
    extension = _EXTENSIONS.get(fmt.lower(), fmt.lower())
    path = f"{re.sub(r'[^A-Za-z0-9_-]+', '_', name).strip('_').lower() or 'result'}.{extension}"
    lines = ["", "# compute it now (a synchronous request: keep the area small, or use a batch job)"]
    if extension in ("json", "csv"):
        if ending == "view":
            return lines + ["cube.execute()"]
        return lines + [f"cube.download({path!r})", f"print({path!r})"]
    lines.append(f"cube.download({path!r})")
    if ending == "view" and flavour == "lab":
        return lines + ["from jupyter_eo.widgets import CubeViewer", "", f"CubeViewer({path!r})"]
    return lines + [f"print('saved', {path!r})"]


def connection_backend_id(connection: Any) -> str | None:
    """The jupyter_eo backend id a connection talks to: its ``backend_id`` when it has one, else
    the id in its proxy URL (``.../jupyter-eo/openeo/<id>/``); ``"local"`` for a direct loopback
    connection (the embedded backend outside Jupyter); None for any other direct connection."""
    value = getattr(connection, "backend_id", None)
    if isinstance(value, str) and value:
        return value
    url = str(getattr(connection, "root_url", "") or "")
    match = _PROXY_PATH.search(url)
    if match:
        return match.group(1)
    host = urlsplit(url).hostname or ""
    return "local" if host in ("127.0.0.1", "localhost", "::1") else None


def advertised_auth(connection: Any) -> str | None:
    """The login the backend advertises in its capabilities: "oidc", "basic" or None."""
    try:
        capabilities = connection.capabilities()
        if capabilities.supports_endpoint("/credentials/oidc", method="GET"):
            return "oidc"
        if capabilities.supports_endpoint("/credentials/basic", method="GET"):
            return "basic"
    except Exception:  # noqa: BLE001 - unreachable capabilities: no login line rather than a wrong one
        return None
    return None


def portable_url(connection: Any, backend_id: str | None) -> str | None:
    """The backend's own URL (never the lab's proxy): from the Jupyter server's backend list for a
    proxied connection (None for the embedded backend), else the URL the connection was opened with."""
    url = str(getattr(connection, "root_url", "") or "")
    if not _PROXY_PATH.search(url):
        return str(getattr(connection, "_orig_url", "") or url) or None
    from jupyter_eo.connection import channel_headers, server_url

    if not server_url() or not backend_id:
        return None
    import requests

    session = requests.Session()
    session.trust_env = False  # loopback, with the kernel secret: no environment proxies
    try:
        response = session.get(f"{server_url()}jupyter-eo/api/backends/{backend_id}/login",
                               headers=channel_headers(), timeout=10)
        view = response.json() if response.status_code == 200 else {}
    except (requests.RequestException, ValueError):
        view = {}
    finally:
        session.close()
    return view.get("url") if isinstance(view, dict) and not view.get("local") else None


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
    code preview, a choice between lab code (``jupyter_eo.connect(backend_id)``) and portable
    code (``openeo.connect(url)`` + the login the backend advertises), and what the cell does
    at its end (``ending``: see :data:`ENDINGS`).

    ``backend_id`` defaults to the one ``connection`` talks to (see :func:`connection_backend_id`);
    without a connection, ``"local"``. A connection that is not the lab's (a plain
    ``openeo.connect`` to a remote URL) gets portable code in both flavours."""

    def __init__(self, graph: GraphSource, *, backend_id: str | None = None, connection: Any = None,
                 ending: str = "view", result_name: Callable[[], str] | None = None, **kwargs: Any) -> None:
        if ending not in ENDINGS:
            raise ProcessParameterInvalid(f"Unknown code ending {ending!r}; use one of {', '.join(ENDINGS)}.")
        self._graph = graph
        self.connection = connection
        if backend_id is None:
            backend_id = connection_backend_id(connection) if connection is not None else "local"
        self.backend_id = backend_id
        self._result_name = result_name or (lambda: "result")
        self._portable: tuple[str | None, str | None] | None = None
        self.flavour = w.ToggleButtons(options=[("This lab", "lab"), ("Portable", "portable")],
                                       value="lab", description="Code for",
                                       tooltips=[f"jupyter_eo.connect({backend_id!r})", "openeo.connect(url)"],
                                       style={"button_width": "6em"})
        self.ending = w.Dropdown(options=[("download and show", "view"), ("download", "download"),
                                          ("build the cube only", "none")], value=ending,
                                 description="Then", layout=w.Layout(width="auto"))
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
        for control in (self.flavour, self.ending):
            control.observe(lambda _: self._refresh_view(), names="value")
        super().__init__([w.HBox([self.insert, self.show, self.flavour, self.ending],
                                 layout=w.Layout(flex_flow="row wrap")),
                          self.status, self.code_view], **kwargs)
        try:
            from jupyter_eo import bridge

            bridge.start()
        except Exception:  # outside a kernel: the fallback will be used
            pass

    def portable_target(self) -> tuple[str | None, str | None]:
        """(URL, login) of portable code: the backend's own URL and advertised login (cached)."""
        if self._portable is None:
            if self.connection is None:
                self._portable = (None, "oidc")
            else:
                self._portable = (portable_url(self.connection, self.backend_id),
                                  advertised_auth(self.connection))
        return self._portable

    def code(self) -> str | None:
        """The code for the current graph (None when there is nothing to export)."""
        graph = self._graph()
        if not graph:
            return None
        options = {"ending": self.ending.value, "result_name": self._result_name()}
        flavour = self.flavour.value
        if flavour == "portable" or self.backend_id is None:
            url, auth = self.portable_target()
            if url or self.connection is None:
                return code_for(graph, flavour="portable", url=url, auth=auth, **options)
            backend_id = self.backend_id or "local"
            note = ("# The embedded backend: outside JupyterLab jupyter_eo.connect('local') starts it standalone"
                    if backend_id == "local" else
                    f"# The URL of backend {backend_id!r} is not known here: this is the lab's code")
            return note + "\n" + code_for(graph, flavour="lab", backend_id=backend_id, **options)
        return code_for(graph, flavour="lab", backend_id=self.backend_id, **options)

    def _refresh_view(self) -> None:
        if self.show.value:
            self._toggle({"new": True})

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
