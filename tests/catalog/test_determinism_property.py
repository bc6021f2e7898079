"""Property test: any window of any chunking equals the same pixels of a reference load."""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_eo.backend.catalog.sentinel2 import Sentinel2L2A

AOI = {"west": -9.52, "south": 38.68, "east": -9.49, "north": 38.70}  # coast near Lisbon: sea + land
REFERENCE = Sentinel2L2A().load(AOI, ["2022-03-01", "2022-03-12"], ["B03", "B8A", "SCL"]).values


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunk=st.integers(17, 300), dx=st.floats(0.0, 0.02), dy=st.floats(0.0, 0.015))
def test_windows_and_chunkings_agree(chunk, dx, dy):
    coll = Sentinel2L2A()
    coll.chunk_size = chunk
    full = coll.load(AOI, ["2022-03-01", "2022-03-12"], ["B03", "B8A", "SCL"])
    assert np.array_equal(full.values, REFERENCE)
    sub_aoi = {"west": AOI["west"] + dx, "south": AOI["south"] + dy,
               "east": AOI["west"] + dx + 0.005, "north": AOI["south"] + dy + 0.004}
    sub = coll.load(sub_aoi, ["2022-03-01", "2022-03-12"], ["SCL", "B03"])
    window = full.sel(x=sub.x, y=sub.y, bands=["SCL", "B03"]).values
    assert np.array_equal(sub.values, window)
