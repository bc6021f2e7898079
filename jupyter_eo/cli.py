"""The ``jupyter-eo`` command: subcommands (``serve`` runs the embedded openEO backend)."""
from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

Command = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jupyter-eo", description="jupyter_eo command line tools.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    from jupyter_eo.backend.__main__ import add_serve_parser

    add_serve_parser(sub)
    from jupyter_eo.doctor import add_doctor_parser

    add_doctor_parser(sub)
    from jupyter_eo.notebooks_cmd import add_notebooks_parser

    add_notebooks_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Command = args.handler
    return int(handler(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
