"""Packaged openEO process specs (2.0.0-rc.2, Apache-2.0, see LICENSE; CHANGELOG.md) and API error codes."""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from jupyter_eo.specs.overrides import apply_overrides


@lru_cache(maxsize=1)
def process_specs() -> dict[str, dict[str, Any]]:
    """All packaged process specs by process id (core and proposals), with the documented
    backward-compatible additions of :mod:`jupyter_eo.specs.overrides` applied."""
    folder = resources.files(__name__).joinpath("processes")
    specs: dict[str, dict[str, Any]] = {}
    for entry in folder.iterdir():
        name = entry.name
        if not name.endswith(".json") or name == "subtype-schemas.json":
            continue
        spec = apply_overrides(json.loads(entry.read_text("utf-8")))  # see overrides.py
        specs[spec["id"]] = spec
    return specs


def process_spec(process_id: str) -> dict[str, Any] | None:
    """The spec of one process, or None when unknown."""
    return process_specs().get(process_id)


@lru_cache(maxsize=1)
def subtype_schemas() -> dict[str, Any]:
    """The openEO subtype schemas (``subtype-schemas.json``)."""
    return json.loads(resources.files(__name__).joinpath("processes", "subtype-schemas.json")
                      .read_text("utf-8"))
