"""What the generated reference pages share: the mkdocs hook that adds a page built by code."""
from __future__ import annotations

from typing import Any, Callable


def page_hook(page: str, render: Callable[[], str]) -> Callable[[Any, Any], Any]:
    """An mkdocs ``on_files`` hook adding ``page`` with the Markdown ``render()`` returns, built
    when the site is built so the page shows the code being documented."""

    def on_files(files: Any, config: Any) -> Any:
        from mkdocs.structure.files import File

        files.append(File.generated(config, page, content=render()))
        return files

    return on_files
