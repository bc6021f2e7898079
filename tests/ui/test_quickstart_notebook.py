"""notebooks/quickstart.ipynb runs top to bottom in a fresh kernel without errors."""
from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "notebooks" / "quickstart.ipynb"


def test_quickstart_runs(tmp_path: Path) -> None:
    nb = nbformat.read(QUICKSTART, as_version=4)
    env_backup = dict(os.environ)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    os.environ["IPYTHONDIR"] = str(tmp_path / "ipython")
    # a standalone embedded backend started by the notebook lives in this temp data dir
    os.environ["JUPYTER_DATA_DIR"] = str(tmp_path / "jupyter-data")
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(QUICKSTART.parent)}}).execute()
    finally:
        from jupyter_eo.connection import stop_standalone

        stop_standalone()
        os.environ.clear()
        os.environ.update(env_backup)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    first = "".join(o.get("text", "") for o in nb.cells[1].outputs)
    assert first.startswith("jupyter_eo ")
