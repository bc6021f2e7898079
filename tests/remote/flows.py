"""End-to-end helpers: the user's device-code approval, login waits, kernel code and its output."""
from __future__ import annotations

import json
import os
import re
from urllib.parse import urlencode
from urllib.request import ProxyHandler, Request, build_opener

# tagged and wait_login are re-exported for the remote tests
from tests.support.jupyter_api import wait_login  # noqa: F401
from tests.support.kernel_process import KERNEL_PRELUDE, tagged  # noqa: F401
from tests.support.oidc_provider import LoopbackOidc

USER_CODE = re.compile(r"enter the user code '([0-9A-F]+)'")  # jupyter_eo's device prompt


def approve_device(oidc: LoopbackOidc, user_code: str, sub: str = "alice",
                   deny: bool = False) -> None:
    """What the user does in the browser: open the verification page, approve (or deny)."""
    body = urlencode({"user_code": user_code, "sub": sub, "deny": "1" if deny else ""}).encode()
    opener = build_opener(ProxyHandler({}))  # the user's browser, not the server's egress proxy
    with opener.open(Request(oidc.issuer + "/activate", data=body, method="POST"),
                     timeout=10) as r:
        assert json.loads(r.read()) == {"approved": True}


PROXY_ENV = "JUPYTER_EO_SERVER_URL"


def proxy_prefix(backend_id: str) -> str:
    return os.environ[PROXY_ENV] + f"jupyter-eo/openeo/{backend_id}/"


WORKFLOW = KERNEL_PRELUDE + """
import warnings
warnings.simplefilter("ignore")
out = Path(os.environ["OUT_DIR"])
con = record(jupyter_eo.connect("dummy"))
con.authenticate_basic("alice", "alice123")
emit("ME", con.describe_account()["user_id"])
emit("COLLECTIONS", con.list_collection_ids())
cube = con.load_collection("S2_FOOBAR", spatial_extent={"west": 5, "south": 51, "east": 5.1,
                           "north": 51.1}, temporal_extent=["2021-01-01", "2021-02-01"],
                           bands=["B04", "B08"])
ndvi = ((cube.band("B08") - cube.band("B04")) / (cube.band("B08") + cube.band("B04"))).max_time()
ndvi.download(out / "ndvi.tif", format="GTiff")
emit("DOWNLOAD", (out / "ndvi.tif").read_bytes()[:40].decode("latin-1"))
job = ndvi.create_job(title="ndvi max", out_format="GTiff")
job.start()
emit("JOB", [job.job_id, job.status()])
results = job.get_results()
assets = {a.key: a.href for a in results.get_assets()}
emit("ASSETS", assets)
path = results.get_asset("output.tiff").download(out / "job")
emit("ASSET", Path(path).read_bytes().decode("latin-1"))
emit("JOBS", [j["id"] for j in con.list_jobs()])
con.save_user_defined_process("ndvi_max_e2e", ndvi.flat_graph(), summary="NDVI max")
emit("UDPS", [p["id"] for p in con.list_user_defined_processes()])
emit("UDP", con.user_defined_process("ndvi_max_e2e").describe()["summary"])
emit("SENT", sent)
emit("FILES", files())
"""
