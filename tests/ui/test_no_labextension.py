"""Browser test: in a JupyterLab where the jupyter-eo labextension is disabled, the button shows
the code in a read-only text area with a working Copy button instead of inserting a cell."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from .conftest import LabPage, loaded_lab_page, running_lab

pytestmark = pytest.mark.browser

CODE = "answer = 6 * 7  # <from the fallback>"
CELLS = [
    "import ipywidgets as w\nfrom jupyter_eo.bridge import bridge, insert_code_cell\n"
    "button = w.Button(description='Insert below')\nbox = w.VBox([w.HBox([button])])\n"
    f"button.on_click(lambda _: insert_code_cell({CODE!r}, anchor=button))\nbox",
    "'other cell'",
]


@pytest.fixture(scope="module")
def plain_lab(tmp_path_factory: pytest.TempPathFactory, playwright_browser: Any) -> Iterator[LabPage]:
    page_config = {"disabledExtensions": {"jupyter-eo": True}}
    with running_lab(tmp_path_factory.mktemp("plainlab"), page_config=page_config) as server:
        with loaded_lab_page(playwright_browser, server,
                             permissions=["clipboard-read", "clipboard-write"]) as lab:
            yield lab


def test_without_labextension_the_code_gets_a_copy_box(plain_lab: LabPage) -> None:
    lab = plain_lab
    assert lab.js("return app.hasPlugin('jupyter-eo:bridge');") is False
    path = lab.write_notebook("plain.ipynb", CELLS)
    lab.open_notebook(path)
    lab.run_all(path)
    cell = lab.cell_locator(path, 0)
    cell.locator("button", has_text="Insert below").click()
    textarea = cell.locator(".jp-eo-code-fallback textarea")
    textarea.wait_for()
    assert textarea.input_value() == CODE
    assert textarea.get_attribute("readonly") is not None
    assert lab.cell_sources(path) == CELLS  # nothing inserted
    copy = cell.locator(".jp-eo-code-fallback button", has_text="Copy")
    copy.click()
    assert lab.page.evaluate("() => navigator.clipboard.readText()") == CODE
    assert lab.kernel_eval(path, "bridge.state") == "'absent'"
    lab.screenshot("no_labextension_fallback")
