"""notebooks/tour.ipynb runs top to bottom with nbclient on the embedded backend (standalone)."""
from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]
TOUR = REPO / "notebooks" / "tour.ipynb"


def _text(cell) -> str:
    return "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
                   for o in cell.get("outputs", []))


def test_tour_runs_top_to_bottom(tmp_path: Path) -> None:
    from jupyter_eo.connection import stop_standalone

    nb = nbformat.read(TOUR, as_version=4)
    saved = dict(os.environ)
    os.environ.update({
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), saved.get("PYTHONPATH")])),
        "IPYTHONDIR": str(tmp_path / "ipython"), "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "OPENEO_CONFIG_HOME": str(tmp_path / "openeo"), "MPLCONFIGDIR": str(tmp_path / "mpl"),
        "TMPDIR": str(tmp_path),
    })
    for name in ("JUPYTER_EO_SERVER_URL", "JUPYTER_EO_KERNEL_SECRET"):
        os.environ.pop(name, None)
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        stop_standalone()  # the kernel started it under our JUPYTER_DATA_DIR
        os.environ.clear()
        os.environ.update(saved)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, errors[0].get("evalue") if errors else ""
    text = "\n".join(_text(c) for c in nb.cells if c.cell_type == "code")
    assert "SENTINEL2_L2A" in text
    assert "connection.load_collection(" in text
    assert "finished" in text
    assert "['spatial_extent', 'temporal_extent']" in text
    assert "UDP result equals the composite: True" in text
    assert "mean change:" in text
    # the UDP step's client-side preflight validation passes: no red warning in the output
    assert "Preflight process graph validation" not in text
