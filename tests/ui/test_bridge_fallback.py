"""The Python side of the bridge without the labextension: widget ancestry and the copy fallback."""
from __future__ import annotations

import json
import os
from pathlib import Path

import ipywidgets as w
import nbformat
import pytest
from nbclient import NotebookClient

from jupyter_eo.bridge import (FALLBACK_CLASS, WIDGET_VIEW_MIME, Bridge, fallback_widget,
                               widget_ancestors)

REPO = Path(__file__).resolve().parents[2]


def test_ancestors_walk_boxes_and_output_widgets() -> None:
    button = w.Button()
    row = w.HBox([w.Label("x"), button])
    column = w.VBox([row])
    out = w.Output()
    out.outputs = ({"output_type": "display_data", "metadata": {},
                    "data": {WIDGET_VIEW_MIME: {"model_id": column.model_id,
                                                "version_major": 2, "version_minor": 0}}},)
    tab = w.Tab(children=[out])
    unrelated = w.VBox([w.Button()])
    ancestors = widget_ancestors(button)
    assert ancestors[:4] == [button.model_id, row.model_id, column.model_id, out.model_id]
    assert tab.model_id in ancestors and unrelated.model_id not in ancestors
    assert widget_ancestors(None) == []


def test_outside_a_kernel_the_fallback_goes_next_to_the_anchor() -> None:
    bridge = Bridge()
    button = w.Button()
    row = w.HBox([button])
    column = w.VBox([w.Label("title"), row])
    assert bridge.insert("a = 1", anchor=button) == "fallback"
    assert bridge.state == "absent"
    assert len(column.children) == 3 and len(row.children) == 1  # the vertical box, not the row
    assert column.children[-1]._jupyter_eo_code == "a = 1"
    assert bridge.insert("b = 2", anchor=button) == "fallback"  # replaces, does not pile up
    assert len(column.children) == 3 and column.children[-1]._jupyter_eo_code == "b = 2"
    with pytest.raises(TypeError):
        bridge.insert(b"bytes")  # type: ignore[arg-type]


def test_fallback_view_is_read_only_escaped_and_copyable() -> None:
    code = "x = '</textarea><script>alert(1)</script>'\ny = 2"
    view = fallback_widget(code)
    assert FALLBACK_CLASS in view._dom_classes
    html = view.children[1].value
    assert "<textarea readonly" in html and ">Copy</button>" in html
    assert "<script>" not in html and "&lt;/textarea&gt;&lt;script&gt;" in html
    assert "navigator.clipboard" in html


KERNEL_CELLS = [
    "import time\nimport ipywidgets as w\n"
    "from jupyter_eo.bridge import bridge, insert_code_cell, FALLBACK_CLASS, WIDGET_VIEW_MIME\n"
    "bridge.hello_timeout = 0.5",
    # Unknown frontend: the request is sent optimistically; nobody answers the hello, so the
    # fallback appears once the timeout passes (from the timer thread).
    "button = w.Button(description='go')\nbox = w.VBox([w.HBox([button])])\n"
    "first = insert_code_cell('x = 1', anchor=button)\ntime.sleep(2)\n"
    "views = [c for c in box.children if FALLBACK_CLASS in c._dom_classes]\n"
    "print(first, bridge.state, len(views), views[0]._jupyter_eo_code)",
    # Known absent: a click shows the fallback at once, replacing the previous one.
    "results = []\n"
    "button.on_click(lambda _: results.append(insert_code_cell('y = 2', anchor=button)))\n"
    "button.click()\n"
    "views = [c for c in box.children if FALLBACK_CLASS in c._dom_classes]\n"
    "print(results, len(views), views[0]._jupyter_eo_code)",
    "out = w.Output()\nr = insert_code_cell('z = 3', fallback_output=out)\n"
    "print(r, WIDGET_VIEW_MIME in out.outputs[0]['data'])",
    "insert_code_cell('plain = 4')",
]


def test_in_a_kernel_without_labextension_code_is_shown_with_copy_button(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in KERNEL_CELLS]
    env_backup = dict(os.environ)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    os.environ["IPYTHONDIR"] = str(tmp_path / "ipython")
    try:
        NotebookClient(nb, timeout=60, kernel_name="python3",
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(env_backup)

    def text(i: int) -> str:
        return "".join(o.get("text", "") for o in nb.cells[i].outputs if o.output_type == "stream")

    assert text(1).strip() == "pending absent 1 x = 1"
    assert text(2).strip() == "['fallback'] 1 y = 2"
    assert text(3).strip() == "fallback True"
    shown = [o for o in nb.cells[4].outputs if o.output_type in ("display_data", "execute_result")]
    assert any(WIDGET_VIEW_MIME in o["data"] for o in shown), json.dumps(nb.cells[4].outputs)
