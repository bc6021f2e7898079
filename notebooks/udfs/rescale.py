"""An openEO UDF: rescale values linearly and clip them to a range (parameters from the context).

Used by udf_from_file.ipynb with ``openeo.UDF.from_file("udfs/rescale.py", context={...})``.
"""
import numpy as np
import xarray
from openeo.udf import XarrayDataCube


def apply_datacube(cube: XarrayDataCube, context: dict) -> XarrayDataCube:
    """``gain * value + offset``, clipped to ``[low, high]``; no-data (NaN) stays no-data."""
    array: xarray.DataArray = cube.get_array()
    gain = float(context.get("gain", 1.0))
    offset = float(context.get("offset", 0.0))
    low, high = float(context.get("low", -np.inf)), float(context.get("high", np.inf))
    scaled = (array * gain + offset).clip(low, high)
    return XarrayDataCube(scaled.astype("float32"))
