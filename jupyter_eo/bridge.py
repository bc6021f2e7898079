"""Kernel side of the labextension bridge: insert a code cell below a widget's cell, or show a copy fallback.

Protocol (comm target :data:`TARGET`, opened by the kernel, handled by the labextension):

* kernel -> frontend, ``comm_open`` data ``{"type": "hello", "protocol": 1}``;
  frontend -> kernel ``{"type": "hello", "protocol": 1, "frontend": "jupyterlab", "version": ...}``.
  That reply is how the kernel learns that the labextension exists in this frontend.
* each insert opens its own comm, ``comm_open`` data ``{"type": "insert", "code", "anchors": [model
  ids, nearest first], "parent_msg_id"}``; the frontend answers ``{"type": "result", "ok",
  "cell_id"|"reason"}`` on it and closes it. A fresh comm per request survives page reloads.

Without the labextension (classic notebook, VS Code, nbclient) nobody answers the hello, or the
frontend closes the comm: after :data:`HELLO_TIMEOUT_S` the bridge counts as absent and the code
is shown in a read-only text area with a "Copy" button, next to the anchor widget.
"""
from __future__ import annotations

import html
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from ipywidgets import HTML, Box, Button, Label, Layout, VBox, Widget
from ipywidgets.widgets.widget import _instances

TARGET = "jupyter_eo.bridge"
PROTOCOL = 1
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
HELLO_TIMEOUT_S = 3.0
FALLBACK_CLASS = "jp-eo-code-fallback"

UNKNOWN, PENDING, READY, ABSENT = "unknown", "pending", "ready", "absent"

__all__ = ["Bridge", "InsertCodeButton", "bridge", "fallback_widget", "insert_code_cell",
           "start", "widget_ancestors"]


def _kernel() -> Any:
    """The running ipykernel, or None outside a kernel (plain Python, tests)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of ipywidgets
        return None
    ip = get_ipython()
    return getattr(ip, "kernel", None) if ip is not None else None


def _parent_msg_id() -> str | None:
    """msg_id of the execute_request being run now (None inside comm callbacks or outside a kernel)."""
    kernel = _kernel()
    if kernel is None:
        return None
    try:
        parent = kernel.get_parent()
    except Exception:  # noqa: BLE001 - older ipykernel signatures
        parent = getattr(kernel, "_parent_header", {}) or {}
    header = (parent or {}).get("header", {})
    if header.get("msg_type") == "execute_request":
        return header.get("msg_id")
    return None


# ---------------------------------------------------------------------------------------------
# Which widgets contain which: the anchor's ancestors, so the frontend can find the displayed one.
# ---------------------------------------------------------------------------------------------

def _live_widgets() -> dict[str, Any]:
    return dict(_instances)


def _child_widgets(widget: Any, by_id: dict[str, Any]) -> Iterable[Any]:
    """Widgets referenced by ``widget``'s synced traits (Box.children, Output outputs, controls...)."""
    for name in getattr(widget, "keys", ()):
        if name.startswith("_") and name not in ("_children",):
            continue
        try:
            value = getattr(widget, name)
        except Exception:  # noqa: BLE001 - a broken trait must not break the walk
            continue
        if isinstance(value, Widget):
            yield value
        elif isinstance(value, (list, tuple)):
            for item in value:
                if isinstance(item, Widget):
                    yield item
                elif name == "outputs" and isinstance(item, dict):
                    view = item.get("data", {}).get(WIDGET_VIEW_MIME) or {}
                    child = by_id.get(view.get("model_id", ""))
                    if child is not None:
                        yield child
        elif isinstance(value, dict):
            for item in value.values():
                if isinstance(item, Widget):
                    yield item


def _parent_map() -> dict[str, list[Any]]:
    """model_id -> widgets that contain it (directly)."""
    by_id = _live_widgets()
    parents: dict[str, list[Any]] = {}
    for widget in by_id.values():
        for child in _child_widgets(widget, by_id):
            if child is not widget and child.model_id:
                parents.setdefault(child.model_id, []).append(widget)
    return parents


def widget_ancestors(anchor: Any) -> list[str]:
    """``anchor``'s model_id followed by the model_ids of all widgets containing it, nearest first."""
    if anchor is None or not getattr(anchor, "model_id", None):
        return []
    parents = _parent_map()
    order = [anchor.model_id]
    seen = {anchor.model_id}
    queue = [anchor]
    while queue:
        current = queue.pop(0)
        for parent in parents.get(current.model_id, []):
            if parent.model_id and parent.model_id not in seen:
                seen.add(parent.model_id)
                order.append(parent.model_id)
                queue.append(parent)
    return order


def _fallback_home(anchor: Any) -> Any:
    """Where to show the fallback for ``anchor``: the closest vertical Box around it (or
    ``anchor`` itself if it is one), else the closest Box of any kind; None if it has none."""
    first_box = None
    queue: list[Any] = [anchor]
    seen: set[str] = set()
    parents = _parent_map()
    while queue:
        current = queue.pop(0)
        if isinstance(current, VBox):
            return current
        if isinstance(current, Box) and first_box is None:
            first_box = current
        for parent in parents.get(current.model_id, []):
            if parent.model_id not in seen:
                seen.add(parent.model_id)
                queue.append(parent)
    return first_box


# ---------------------------------------------------------------------------------------------
# The fallback: read-only text area plus a Copy button.
# ---------------------------------------------------------------------------------------------

_COPY_JS = (
    "var t=this.parentNode.querySelector('textarea');t.select();"
    "if(navigator.clipboard&&window.isSecureContext){navigator.clipboard.writeText(t.value);}"
    "else{document.execCommand('copy');}this.textContent='Copied';"
)


def fallback_widget(code: str) -> Any:
    """An ipywidgets view of ``code``: read-only text area and a "Copy" button (no labextension needed)."""
    rows = min(max(code.count("\n") + 1, 2), 20)
    body = (
        f'<div class="{FALLBACK_CLASS}-body">'
        f'<textarea readonly rows="{rows}" spellcheck="false" '
        f'style="width:100%;max-width:100%;font-family:monospace;box-sizing:border-box">{html.escape(code)}</textarea>'
        f'<button type="button" class="{FALLBACK_CLASS}-copy" onclick="{html.escape(_COPY_JS)}">Copy</button>'
        "</div>"
    )
    box = VBox([Label("Copy this code into a new cell:"), HTML(body, layout=Layout(width="auto"))],
               layout=Layout(width="auto", max_width="100%"))
    box.add_class(FALLBACK_CLASS)
    box._jupyter_eo_code = code  # for tests and callers: the exact text shown
    return box


def _show_fallback(code: str, anchor: Any, fallback_output: Any) -> Any:
    """Put the fallback next to ``anchor`` (in its Box), into ``fallback_output``, or display it."""
    view = fallback_widget(code)
    if fallback_output is not None:
        fallback_output.clear_output()
        fallback_output.append_display_data(view)
        return view
    box = _fallback_home(anchor) if anchor is not None else None
    if box is not None:
        kept = tuple(c for c in box.children if FALLBACK_CLASS not in getattr(c, "_dom_classes", ()))
        box.children = kept + (view,)
        return view
    from IPython.display import display

    display(view)
    return view


# ---------------------------------------------------------------------------------------------
# The bridge: a hello comm per kernel, then one short-lived comm per insert request.
# ---------------------------------------------------------------------------------------------

@dataclass
class _Request:
    code: str
    anchor: Any
    fallback_output: Any


@dataclass
class Bridge:
    """Kernel end of the labextension bridge; use the module-level :data:`bridge`."""

    hello_timeout: float = HELLO_TIMEOUT_S
    state: str = UNKNOWN
    frontend: dict[str, Any] = field(default_factory=dict)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    _pending: dict[str, _Request] = field(default_factory=dict)
    _timer: threading.Timer | None = None
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def start(self) -> str:
        """Say hello to the frontend (idempotent); returns the state. No-op outside a kernel."""
        with self._lock:
            if self.state != UNKNOWN:
                return self.state
            if _kernel() is None:
                self.state = ABSENT
                return self.state
            self.state = PENDING
            self._timer = threading.Timer(self.hello_timeout, self._on_hello_timeout)
            self._timer.daemon = True
            self._timer.start()
        self._hello()
        return PENDING

    def _hello(self) -> None:
        from comm import create_comm

        comm = create_comm(target_name=TARGET, data={"type": "hello", "protocol": PROTOCOL})
        comm.on_msg(self._on_hello)
        comm.on_close(lambda _msg: self._on_hello_closed())

    def insert(self, code: str, anchor: Any = None, fallback_output: Any = None) -> str:
        """Ask the frontend to insert ``code`` below ``anchor``'s cell.

        Returns ``"sent"`` (labextension present), ``"pending"`` (not known yet: the fallback
        appears later if it turns out absent) or ``"fallback"`` (copy box shown now).
        """
        if not isinstance(code, str):
            raise TypeError(f"code must be a str, not {type(code).__name__}")
        state = self.start()
        if state == ABSENT:
            _show_fallback(code, anchor, fallback_output)
            if _kernel() is not None:
                self._hello()  # a JupyterLab page attached later can still answer
            return "fallback"
        from comm import create_comm

        data = {"type": "insert", "protocol": PROTOCOL, "code": code,
                "anchors": widget_ancestors(anchor), "parent_msg_id": _parent_msg_id()}
        request = _Request(code, anchor, fallback_output)
        comm = create_comm(target_name=TARGET, data=data)
        with self._lock:
            self._pending[comm.comm_id] = request
        comm.on_msg(lambda msg: self._on_result(comm.comm_id, msg))
        comm.on_close(lambda _msg: self._on_request_closed(comm.comm_id))
        return "sent" if state == READY else "pending"

    # -- comm events -------------------------------------------------------------------------
    def _on_hello(self, msg: dict[str, Any]) -> None:
        data = msg.get("content", {}).get("data", {}) or {}
        if data.get("type") != "hello":
            return
        with self._lock:
            self.frontend = {k: v for k, v in data.items() if k != "type"}
            self.state = READY
            if self._timer is not None:
                self._timer.cancel()

    def _on_hello_closed(self) -> None:
        if self.state == PENDING:  # closed unanswered: a JupyterLab without our comm target
            self._become_absent()

    def _on_hello_timeout(self) -> None:
        if self.state == PENDING:  # nobody answered: classic notebook, VS Code, nbclient...
            self._become_absent()

    def _on_result(self, comm_id: str, msg: dict[str, Any]) -> None:
        data = msg.get("content", {}).get("data", {}) or {}
        if data.get("type") != "result":
            return
        with self._lock:
            request = self._pending.pop(comm_id, None)
            self.results[comm_id] = data
            while len(self.results) > 100:
                self.results.pop(next(iter(self.results)))
        if request is not None and not data.get("ok"):
            _show_fallback(request.code, request.anchor, request.fallback_output)

    def _on_request_closed(self, comm_id: str) -> None:
        with self._lock:
            request = self._pending.pop(comm_id, None)
        if request is not None:  # closed without an answer: nobody could insert it
            _show_fallback(request.code, request.anchor, request.fallback_output)

    def _become_absent(self) -> None:
        with self._lock:
            self.state = ABSENT
            if self._timer is not None:
                self._timer.cancel()
            pending, self._pending = list(self._pending.values()), {}
        for request in pending:
            _show_fallback(request.code, request.anchor, request.fallback_output)

    def reset(self) -> None:
        """Forget the handshake; the next call says hello again."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self.state = UNKNOWN
            self.frontend = {}
            self._pending.clear()


bridge = Bridge()


def start() -> str:
    """Say hello to the frontend now (widgets call this when created, so clicks find it ready)."""
    return bridge.start()


def insert_code_cell(code: str, anchor: Any = None, fallback_output: Any = None) -> str:
    """Insert ``code`` as a new code cell directly below the cell whose output shows ``anchor``.

    ``anchor`` is a widget (or any widget inside it) displayed in a notebook cell; without one
    the cell goes below the running (or else the active) cell. Without the labextension the
    code is shown with a "Copy" button next to ``anchor`` (or in ``fallback_output``).
    Returns ``"sent"``, ``"pending"`` or ``"fallback"`` (see :meth:`Bridge.insert`).
    """
    return bridge.insert(code, anchor=anchor, fallback_output=fallback_output)


class InsertCodeButton(Button):
    """A Button that inserts code (a string, or a callable returning one) below its own cell."""

    def __init__(self, code: str | Callable[[], str], **kwargs: Any) -> None:
        kwargs.setdefault("description", "Insert code")
        kwargs.setdefault("icon", "plus")
        super().__init__(**kwargs)
        self._code = code
        self.last_result: str | None = None
        self.on_click(self._insert)
        start()

    def _insert(self, _button: Any) -> None:
        code = self._code() if callable(self._code) else self._code
        self.last_result = insert_code_cell(code, anchor=self)
