"""The generated reference pages say what the code does: every CLI option, placeholders as text."""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
sys.path.insert(0, str(DOCS))
import gen_cli_reference  # noqa: E402  (docs/ is not a package)
import gen_config_reference  # noqa: E402


def test_cli_reference_lists_every_subcommand_and_option() -> None:
    from jupyter_eo.cli import build_parser

    page = gen_cli_reference.render()
    subcommands = gen_cli_reference._subcommands(build_parser())
    assert {"serve", "doctor", "notebooks"} <= set(subcommands)
    for name, parser in subcommands.items():
        assert f"## `jupyter-eo {name}`" in page
        for action in parser._actions:
            for option in action.option_strings:
                assert option in page, (name, option)
            if isinstance(action, argparse._StoreAction) and not action.option_strings:
                assert action.metavar in page  # positional, e.g. DIR
    assert not re.search(r"^```text\n```", page, re.MULTILINE)  # no empty help block


def test_config_reference_shows_placeholders_as_text() -> None:
    page = gen_config_reference.render()
    assert "&lt;jupyter data dir&gt;/jupyter_eo/credentials/&lt;user&gt;" in page
    prose = re.sub(r"```.*?```|`[^`]*`", "", page, flags=re.DOTALL)
    assert not re.search(r"<(?!!--)[a-z][^>]*>", prose), "raw HTML-like tag outside code"


def test_markdown_text_keeps_code_spans() -> None:
    assert (gen_config_reference.markdown_text("a <b> and `<c>`")
            == "a &lt;b&gt; and `<c>`")
