"""create_data_cube: an empty data cube (no dimensions) for dimension-building graphs."""
from __future__ import annotations

import numpy as np
import xarray as xr

from jupyter_eo.backend.processes.registry import process


@process("create_data_cube")
def create_data_cube() -> xr.DataArray:
    """A data cube without dimensions holding a single no-data value."""
    return xr.DataArray(np.float64(np.nan))
