"""openEO process implementations; importing this package registers every process module."""
from __future__ import annotations

import importlib
import logging

from jupyter_eo.backend.processes.registry import ARRAY_DIM, REGISTRY, process

# Scalar/array families (math ... texts) and cube families (cubes_*). Every module registers its
# processes with ``@process`` on import.
MODULES = (
    "math", "logic", "comparison", "arrays", "reducers", "dates", "texts",
    "cubes_load", "cubes_save", "cubes_filter", "cubes_reduce", "cubes_apply",
    "cubes_aggregate", "cubes_merge", "cubes_resample", "cubes_dims", "cubes_mask",
    "cubes_create", "cubes_udf",
)

log = logging.getLogger(__name__)
MISSING: list[str] = []

for _name in MODULES:
    try:
        importlib.import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{_name}":
            raise
        MISSING.append(_name)
        log.debug("process module %s not present", _name)

__all__ = ["ARRAY_DIM", "REGISTRY", "process", "MISSING"]
