"""Python code blocks of the docs pages, with the explicit skip marker, and a runner for one page."""
from __future__ import annotations

import json
import re
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
SKIP = re.compile(r"<!--\s*snippet:\s*skip\s*\((?P<reason>[^)]+)\)\s*-->\s*$")


@dataclass
class Snippet:
    page: str
    line: int
    code: str
    skip_reason: str = ""


def snippets(page: str, text: str) -> list[Snippet]:
    """Every ```python block; a ``<!-- snippet: skip (reason) -->`` line right before it skips it."""
    found = []
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[:match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        skip = SKIP.search(before)
        found.append(Snippet(page, line, match.group(1), skip.group("reason") if skip else ""))
    return found


def run_page(items: list[dict]) -> int:
    """Run a page's snippets in order in one namespace (the page reads as one notebook)."""
    from traitlets.config import Config

    config = Config()
    namespace: dict = {"__name__": "__main__", "get_config": lambda: config}
    try:
        for item in items:
            try:
                exec(compile(item["code"], f"{item['page']}:{item['line']}", "exec"), namespace)
            except Exception:
                print(f"SNIPPET FAILED {item['page']} line {item['line']}:", file=sys.stderr)
                traceback.print_exc()
                return 1
        if "JupyterEOApp" in config:  # config snippets must hold valid settings
            from jupyter_eo.server.app import JupyterEOApp

            app = JupyterEOApp(config=config)
            for name in config.JupyterEOApp:
                getattr(app, name)
    finally:
        from jupyter_eo.connection import stop_standalone

        stop_standalone()
    return 0


if __name__ == "__main__":
    sys.exit(run_page(json.loads(Path(sys.argv[1]).read_text())))
