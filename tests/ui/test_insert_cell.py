"""Browser tests: the labextension loads, and a widget button inserts code below its own cell."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

INSERTED = "inserted_value = 6 * 7\nprint('inserted', inserted_value, bridge.state)"

CELLS = [
    "import ipywidgets as w\nfrom jupyter_eo.bridge import bridge, insert_code_cell",
    # The anchor (the button) sits two levels deep inside the displayed widget.
    "button = w.Button(description='Insert below')\n"
    "box = w.VBox([w.Label('widget cell'), w.HBox([button])])\n"
    f"button.on_click(lambda _: insert_code_cell({INSERTED!r}, anchor=button))\n"
    "box",
    "'second cell'",
    "'third cell'",
]


def test_lab_loads_with_extension_active(lab) -> None:
    state = lab.js("""
        return {
          insert: app.hasPlugin('jupyter-eo:insert') && app.isPluginActivated('jupyter-eo:insert'),
          bridge: app.hasPlugin('jupyter-eo:bridge') && app.isPluginActivated('jupyter-eo:bridge'),
          command: app.commands.hasCommand('jupyter-eo:insert-code-cell'),
        };""")
    assert state == {"insert": True, "bridge": True, "command": True}
    status = lab.js("const r = await fetch(arg + 'jupyter-eo/api/status'); return [r.status, await r.json()];",
                    lab.server.base_url)
    assert status[0] == 200 and status[1]["name"] == "jupyter_eo"


def test_button_inserts_cell_below_widget_cell(lab) -> None:
    path = lab.write_notebook("insert.ipynb", CELLS)
    lab.open_notebook(path)
    lab.run_all(path)
    widget_cell = lab.cell_locator(path, 1)
    widget_cell.locator(".jupyter-widgets button", has_text="Insert below").wait_for()

    # 1. A real click while the last cell is the active one.
    lab.set_active_cell(path, 3)
    widget_cell.locator("button", has_text="Insert below").click()
    lab.page.wait_for_function(
        "(path) => [...window.jupyterapp.shell.widgets('main')].find(w => w.context && "
        "w.context.path === path).content.model.cells.length === 5", arg=path)
    assert lab.cell_sources(path) == [CELLS[0], CELLS[1], INSERTED, CELLS[2], CELLS[3]]

    # The inserted cell runs, and by now the kernel knows the labextension answered.
    lab.run_cell(path, 2)
    assert "inserted 42 ready" in lab.cell_outputs_text(path, 2)

    # 2. Triggered from kernel code (no click, no focus in the widget's cell) with the last
    #    cell active: the cell still goes directly below the widget's cell, not the active one.
    lab.set_active_cell(path, 4)
    lab.execute_in_kernel(path, "button.click()")
    lab.page.wait_for_function(
        "(path) => [...window.jupyterapp.shell.widgets('main')].find(w => w.context && "
        "w.context.path === path).content.model.cells.length === 6", arg=path)
    sources = lab.cell_sources(path)
    assert sources[:3] == [CELLS[0], CELLS[1], INSERTED]
    assert sources[3] == INSERTED and sources[4:] == [CELLS[2], CELLS[3]]
    lab.run_cell(path, 2)
    assert "inserted 42 ready" in lab.cell_outputs_text(path, 2)
    lab.screenshot("insert_cell_after")


def test_insert_command_targets_given_cell(lab) -> None:
    path = lab.write_notebook("command.ipynb", ["a = 1", "b = 2", "c = 3"])
    lab.open_notebook(path)
    lab.set_active_cell(path, 2)
    result = lab.js("""
        const panel = [...app.shell.widgets('main')].find(w => w.context && w.context.path === arg);
        const first = panel.content.model.cells.get(0).id;
        return await app.commands.execute('jupyter-eo:insert-code-cell',
                                          {code: 'x = "new"', cellId: first, path: arg});""", path)
    assert result["index"] == 1 and result["path"] == path
    assert lab.cell_sources(path) == ["a = 1", 'x = "new"', "b = 2", "c = 3"]
    # One undo step removes the whole insertion (it was one transaction).
    lab.js("""
        const panel = [...app.shell.widgets('main')].find(w => w.context && w.context.path === arg);
        panel.content.model.sharedModel.undo();""", path)
    assert lab.cell_sources(path) == ["a = 1", "b = 2", "c = 3"]


def test_console_on_the_same_kernel_does_not_break_the_bridge(lab) -> None:
    """A console on the notebook's kernel: still exactly one insertion, no fallback, state ready.

    (JupyterLab lets only the first connection to a kernel handle comms, so the console's
    connection stays out of it; the labextension registers its target on consoles too, for
    the case where the console's connection is the comm handler.)
    """
    cells = ["import ipywidgets as w\nfrom jupyter_eo.bridge import InsertCodeButton, bridge\n"
             "button = InsertCodeButton('from_console_test = 1', description='Insert')\n"
             "box = w.VBox([button])\nbox",
             "'last'"]
    path = lab.write_notebook("console.ipynb", cells)
    lab.open_notebook(path)
    lab.run_all(path)
    lab.set_active_cell(path, 1)
    lab.js("await app.commands.execute('notebook:create-console');")
    lab.page.wait_for_function(
        "() => [...window.jupyterapp.shell.widgets('main')].some(w => w.console && "
        "w.sessionContext.session && w.sessionContext.session.kernel && "
        "w.sessionContext.session.kernel.status === 'idle')")
    lab.execute_in_kernel(path, "button.click()")
    lab.page.wait_for_function(
        "(path) => [...window.jupyterapp.shell.widgets('main')].find(w => w.context && "
        "w.context.path === path).content.model.cells.length === 3", arg=path)
    lab.wait_kernel_idle(path)
    assert lab.cell_sources(path) == [cells[0], "from_console_test = 1", cells[1]]
    assert lab.kernel_eval(path, "[r['ok'] for r in bridge.results.values()]") == "[True]"
    assert lab.kernel_eval(path, "(bridge.state, len(box.children))") == "('ready', 1)"
