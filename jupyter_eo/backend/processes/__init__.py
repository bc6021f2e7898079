"""openEO process implementations; importing this package registers every process module."""
from __future__ import annotations

# Every module registers its processes with ``@process`` on import: scalar/array families
# (math ... texts) first, then the cube families (cubes_*), which may use them.
from jupyter_eo.backend.processes import (  # noqa: F401
    arrays, comparison, dates, logic, math, reducers, texts,
    cubes_aggregate, cubes_apply, cubes_create, cubes_dims, cubes_filter, cubes_load,
    cubes_mask, cubes_merge, cubes_reduce, cubes_resample, cubes_save, cubes_udf,
    cubes_polygon, cubes_proposals, curves, development, cdse_extensions, load_url,
)
from jupyter_eo.backend.processes.registry import ARRAY_DIM, REGISTRY, process

__all__ = ["ARRAY_DIM", "REGISTRY", "process"]
