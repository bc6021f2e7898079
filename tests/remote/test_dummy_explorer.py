"""The Explorer on openeo-driver's dummy backend through the proxy: a collection without red/NIR
bands, the preview's fallback to a sync request where the backend has no XYZ service, and the
exported code run as written: the lab flavour in a kernel, the portable flavour with the plain
openeo client outside Jupyter."""
from __future__ import annotations

import json
import os
import re

from tests.remote.flows import KERNEL_PRELUDE, approve_device, proxy_prefix, tagged
from tests.support.kernel_process import run_python

_EXPLORER = KERNEL_PRELUDE + """
import warnings
warnings.simplefilter("ignore")
from jupyter_eo.widgets.explorer import Explorer
con = record(jupyter_eo.connect("dummy"))
con.authenticate_basic("alice", "alice123")
explorer = Explorer(con, collection="ESA_WORLDCOVER_10M_2020_V1", aoi=(5.0, 51.0, 5.3, 51.2),
                    temporal_extent=("2021-01-01", "2021-02-01"), basemap_url=None, delay=0.0)
emit("RECIPE", [explorer.recipe.value, [v for _, v in explorer.recipe.dropdown.options],
                list(explorer.recipe.bands)])
emit("UNAVAILABLE", explorer.recipe.unavailable.value)
emit("WAITED", explorer.preview.wait(60))
emit("PREVIEW", [explorer.preview.status.value, explorer.preview.tiles is None])
explorer.export.ending.value = "download"
emit("LAB", [explorer.export.backend_id, explorer.export.code()])
explorer.export.flavour.value = "portable"
emit("PORTABLE", explorer.export.code())
emit("SENT", sent)
"""


async def test_explorer_on_the_dummy_and_its_exported_code(
        api, dummy, oidc, kernel_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    seen = len(dummy.requests())
    run = await run_python(_EXPLORER, env=kernel_env, timeout=180)
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    # a land-cover collection (one band, MAP): the band view and a formula, NDVI etc. explained
    assert tagged(out, "RECIPE") == [["bands", ["bands", "expression"], ["MAP"]]]
    assert "NDVI composite: no nir / red band" in tagged(out, "UNAVAILABLE")[0]
    # no XYZ service type on the dummy (WMTS only): the preview is a sync low-resolution request
    assert tagged(out, "WAITED") == [True]
    hits = dummy.requests()[seen:]
    assert not [h for h in hits if h["method"] == "POST" and h["path"].endswith("/services")]
    previews = [json.loads(h["body"]) for h in hits if "body" in h]
    assert previews
    nodes = previews[0]["process"]["process_graph"].values()
    load = next(n for n in nodes if n["process_id"] == "load_collection")
    assert load["arguments"]["id"] == "ESA_WORLDCOVER_10M_2020_V1"
    assert load["arguments"]["bands"] == ["MAP"]
    [resample] = [n for n in nodes if n["process_id"] == "resample_spatial"]
    assert resample["arguments"]["projection"] in (3857, "EPSG:3857")
    # the dummy answers with a placeholder, not a raster: the preview says so, nothing crashes
    status, no_tiles = tagged(out, "PREVIEW")[0]
    assert no_tiles and "Preview failed" in status
    assert all(url.startswith(proxy_prefix("dummy")) and auth is None
               for url, auth in tagged(out, "SENT")[0])

    # "Insert code", lab flavour: targets the connection's own backend, runs in a kernel
    backend_id, lab_code = tagged(out, "LAB")[0]
    assert backend_id == "dummy" and 'jupyter_eo.connect("dummy")' in lab_code
    lab = await run_python(lab_code, env=kernel_env, timeout=120, cwd=tmp_path / "lab")
    assert lab.returncode == 0, lab.stderr[-3000:]
    [saved] = list((tmp_path / "lab").glob("*.tif"))
    assert saved.read_bytes().startswith(b"GTiff:save_result(")  # the dummy's "result"

    # portable flavour: the dummy's real URL and the login it advertises (OIDC first), run with
    # the plain client outside Jupyter; the device login is the client's own
    portable = tagged(out, "PORTABLE")[0]
    assert f'openeo.connect("{dummy.api_url}")' in portable and "jupyter_eo" not in portable
    assert ".authenticate_oidc()" in portable
    approved: list[str] = []

    def on_line(line: str) -> None:
        match = re.search(r"user_code=([0-9A-F]+)", line)
        if match and not approved:
            approve_device(oidc, match.group(1), sub="alice")
            approved.append(match.group(1))

    outside = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_EO_")}
    before = len(dummy.requests())
    plain = await run_python(portable, env={**outside, **kernel_env}, on_line=on_line,
                             timeout=120, cwd=tmp_path / "portable", clean_env=True)
    assert plain.returncode == 0, plain.stderr[-3000:] + plain.stdout[-2000:]
    assert len(approved) == 1
    [saved] = list((tmp_path / "portable").glob("*.tif"))
    assert saved.read_bytes().startswith(b"GTiff:save_result(")
    direct = dummy.requests()[before:]
    assert any(h["method"] == "POST" and h["path"] == "/openeo/1.2/result"
               and h["auth"] == "Bearer oidc" for h in direct)
