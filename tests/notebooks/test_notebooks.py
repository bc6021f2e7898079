"""Every example notebook runs top to bottom with nbclient on the embedded backend, from the copy
`jupyter-eo notebooks DIR` makes, and shows what it teaches (checked on its outputs)."""
from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from jupyter_eo.notebooks_cmd import copy_notebooks

REPO = Path(__file__).resolve().parents[2]
# notebooks run (with browser or widgets) by other test modules
ELSEWHERE = {"quickstart.ipynb": REPO / "tests/ui/test_quickstart_notebook.py",
             "tour.ipynb": REPO / "tests/widgets/test_tour_notebook.py"}
# per notebook: patterns its outputs must contain, in this order
EXPECTED: dict[str, list[str]] = {
    "login.ipynb": [r"openEO API 1\.2", r"SENTINEL2_L2A", r"401 AuthenticationRequired",
                    r"logged in as alice", r"0 batch jobs", r"403 CredentialsInvalid",
                    r"logged in as local"],
    "sentinel1_vv_vh.ipynb": [r"SENTINEL1_GRD \['VV', 'VH'\]", r"SIMULATED",
                              r"\['loadcollection1', 'reducedimension1', 'apply1'\]",
                              r"float(32|64)", r"VV: median -1\d\.\d dB, VH: median -2\d\.\d dB",
                              r"VV - VH: median [5-9]\.\d dB",
                              r"water \(minimum VV < -18 dB\): ([5-9]|[1-4]\d)\.\d %",
                              r"Figure size 1300x400", r"finished \['result\.tif'\]"],
    "udf_from_file.ipynb": [r"'Python'", r"def apply_datacube\(cube: XarrayDataCube",
                            r"run_udf Python \{'gain': 0\.0001",
                            r"B04 float32 float32 range 0\.\d+\.\.0\.\d+ max difference 0\.0",
                            r"B08 float32 float32", r"same result: True",
                            r"400 UdfError True"],
    "load_stac.ipynb": [r"\['ndvi_2023-05-01\.tif', 'ndvi_2023-07-01\.tif'\]",
                        r"collection\.json \['ndvi-2023-05-01', 'ndvi-2023-07-01'\]",
                        r"\['x', 'y', 'bands', 't'\] \['ndvi'\]",
                        r"NDVI change May -> July: [+-]\d\.\d{3}",
                        r"equal to the files' difference: True", r"\b1 date\(s\)"],
    "two_backends.ipynb": [r"local: jupyter_eo embedded openEO backend, openEO API 1\.2",
                           r"second: jupyter_eo embedded openEO backend",
                           r"local has SENTINEL2_L2A: True \| missing processes: none",
                           r"second has SENTINEL2_L2A: True \| missing processes: none",
                           r"local \{'band': 1, 'y': \d+, 'x': \d+\} float32 mean NDVI 0\.\d+",
                           r"second \{'band': 1", r"same grid: True",
                           r"same values: True \| same dtype: True"],
    "udp_sharing.ipynb": [r"alice bob", r"ndvi_composite \['spatial_extent', 'temporal_extent'\]",
                          r"<backend>/\S+", r"ndvi_composite \| Cloud-masked maximum NDVI \| "
                          r"\['spatial_extent', 'temporal_extent'\]",
                          r"bob's own UDPs: \[\]", r"mean NDVI 0\.\d+",
                          r"same values: True \| same dtype: True", r"40[34] \w+",
                          r"still there for alice: True"],
}
# notebooks that need a backend feature not built yet: run, expected to fail (strict, so the
# marker must go when the feature lands)
PENDING: dict[str, str] = {}


def test_every_notebook_is_run_by_a_test() -> None:
    names = {p.name for p in (REPO / "notebooks").glob("*.ipynb")}
    assert names == set(EXPECTED) | set(ELSEWHERE), names ^ (set(EXPECTED) | set(ELSEWHERE))
    for name, test in ELSEWHERE.items():
        assert name in test.read_text(), test


def _outputs(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", "") + str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


@pytest.fixture(scope="module")
def copied(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("notebooks")
    copy_notebooks(dest)
    return dest


@pytest.fixture(scope="module")
def eo_cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    return os.environ.get("JUPYTER_EO_CACHE_DIR") or str(tmp_path_factory.mktemp("eo-cache"))


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.xfail(reason=PENDING[name], strict=True))
    if name in PENDING else name for name in sorted(EXPECTED)])
def test_notebook_runs_top_to_bottom(name: str, copied: Path, eo_cache: str, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from jupyter_eo.connection import stop_standalone

    env = {k: v for k, v in os.environ.items()
           if k not in ("JUPYTER_EO_SERVER_URL", "JUPYTER_EO_KERNEL_SECRET")}
    private = {"JUPYTER_DATA_DIR": str(tmp_path / "data"), "IPYTHONDIR": str(tmp_path / "ipy"),
               "OPENEO_CONFIG_HOME": str(tmp_path / "openeo"),
               "MPLCONFIGDIR": str(tmp_path / "mpl"), "TMPDIR": str(tmp_path),
               "JUPYTER_EO_CACHE_DIR": eo_cache}
    env.update(private, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO),
                                                                 env.get("PYTHONPATH")])))
    for key, value in private.items():  # stop_standalone below must look where the kernel did
        monkeypatch.setenv(key, value)
    nb = nbformat.read(copied / name, as_version=4)
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(copied)}}).execute(env=env)
    finally:
        stop_standalone()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors, errors
    text, position = _outputs(nb), 0
    for pattern in EXPECTED[name]:
        match = re.compile(pattern).search(text, position)
        assert match, f"{name}: {pattern!r} not found after position {position}:\n{text[-3000:]}"
        position = match.end()
    assert not list(tmp_path.glob("jupyter-eo-notebook-*")), "a notebook left its backend state"
