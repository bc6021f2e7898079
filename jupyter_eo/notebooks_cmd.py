"""``jupyter-eo notebooks DIR``: copy the example notebooks (and their UDF files) out of the package."""
from __future__ import annotations

import argparse
import shutil
import sys
from importlib import resources
from pathlib import Path
from typing import Any

SKIPPED = {".ipynb_checkpoints", "__pycache__"}


def notebooks_source() -> Path:
    """The folder holding the example notebooks: inside an installed wheel
    (``jupyter_eo/notebooks``) or, in a source checkout, the repository's ``notebooks/``."""
    packaged = Path(str(resources.files("jupyter_eo"))) / "notebooks"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[1] / "notebooks"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError("the example notebooks are not part of this installation")


def copy_notebooks(dest: Path, overwrite: bool = False) -> list[Path]:
    """Copy every example file to ``dest``; existing files are kept unless ``overwrite``.

    Returns the files written (relative to ``dest``).
    """
    source = notebooks_source()
    written = []
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_dir() or SKIPPED.intersection(relative.parts):
            continue
        target = dest / relative
        if target.exists() and not overwrite:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        written.append(relative)
    return written


def add_notebooks_parser(sub: Any) -> argparse.ArgumentParser:
    """Register the ``notebooks`` subcommand on an argparse subparsers object."""
    parser = sub.add_parser("notebooks", help="Copy the example notebooks into a folder.",
                            description="Copy the example notebooks (quickstart, tour, openEO "
                            "workflows) and the files they use into DIR, which is created if "
                            "needed. Files already there are kept unless --overwrite.")
    parser.add_argument("dir", type=Path, metavar="DIR", help="Destination folder.")
    parser.add_argument("--overwrite", action="store_true",
                        help="Replace files that already exist in DIR.")
    parser.set_defaults(handler=notebooks)
    return parser


def notebooks(args: argparse.Namespace) -> int:
    dest: Path = args.dir.expanduser()
    try:
        written = copy_notebooks(dest, overwrite=args.overwrite)
    except (FileNotFoundError, OSError) as exc:
        print(f"jupyter-eo notebooks: {exc}", file=sys.stderr)
        return 1
    for relative in written:
        print(dest / relative)
    kept = "" if args.overwrite else " (existing files kept; --overwrite replaces them)"
    print(f"{len(written)} file(s) copied to {dest}{kept}. Open them with: jupyter lab {dest}")
    return 0
