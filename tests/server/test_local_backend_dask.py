"""JupyterEOApp.local_backend_dask_address: the embedded backend computes on that cluster."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Iterator

import pytest

AOI = {"west": 5.0, "south": 51.0, "east": 5.015, "north": 51.012}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    import distributed

    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as cl:
        yield cl


@pytest.fixture
def jp_server_config(tmp_path: Path, eo_cache_dir: str, cluster: Any,
                     monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("JUPYTER_EO_CACHE_DIR", eo_cache_dir)  # inherited by the child
    return {"ServerApp": {"jpserver_extensions": {"jupyter_eo": True}},
            "JupyterEOApp": {"local_backend_dir": str(tmp_path / "backend"),
                             "credentials_dir": str(tmp_path / "creds"),
                             "local_backend_dask_address": cluster.scheduler_address}}


def _download(sup: Any) -> bytes:  # type: ignore[no-untyped-def]
    import jupyter_eo

    con = jupyter_eo.connect("local")
    cube = con.load_collection("SENTINEL2_L2A", spatial_extent=AOI,
                               temporal_extent=["2024-05-01", "2024-06-01"], bands=["B04", "B08"])
    return cube.ndvi().max_time().download(format="GTiff")


async def test_embedded_backend_runs_on_the_configured_cluster(jp_serverapp, http_server,
                                                               cluster: Any) -> None:
    sup = jp_serverapp.web_app.settings["jupyter_eo_supervisor"]
    try:
        executed = cluster.scheduler.transition_counter
        data = await asyncio.to_thread(_download, sup)
        assert data[:4] in (b"II*\x00", b"MM\x00*")
        args = open(f"/proc/{sup.pid}/cmdline", "rb").read().split(b"\0")
        assert args[args.index(b"--dask-address") + 1] == cluster.scheduler_address.encode()
        assert cluster.scheduler.transition_counter > executed  # the cluster did the work
    finally:
        await sup.stop()
