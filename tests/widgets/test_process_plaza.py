"""ProcessPlaza: sources, search, safe descriptions, safe loading by URL, and alice publishes / bob runs."""
from __future__ import annotations

import html
import http.server
import json
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

from jupyter_eo.errors import ProcessGraphInvalid
from jupyter_eo.graph.process_doc import check_value, process_documents
from jupyter_eo.widgets import ProcessForm, ProcessPlaza
from jupyter_eo.widgets import process_sources
from jupyter_eo.widgets.preview_run import read_geotiff

UDPS = Path(__file__).resolve().parents[1] / "data" / "udps"
AOI = (11.30, 46.49, 11.32, 46.50)
USERS = {"alice": "alice-plaza-pw", "bob": "bob-plaza-pw"}


@pytest.fixture(scope="module")
def two_users(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any, Any]]:
    """(url, alice's connection, bob's connection) on one embedded backend with two users."""
    import openeo

    from jupyter_eo.backend.config import BackendConfig
    from jupyter_eo.backend.testing import serve_in_thread

    root = tmp_path_factory.mktemp("plaza-backend")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OPENEO_CONFIG_HOME", str(root / "openeo-config"))
        with serve_in_thread(BackendConfig(data_dir=root / "state", users=dict(USERS))) as url:
            yield (url, openeo.connect(url).authenticate_basic("alice", USERS["alice"]),
                   openeo.connect(url).authenticate_basic("bob", USERS["bob"]))


class _Origin(http.server.BaseHTTPRequestHandler):
    """A stand-in for a public catalogue host (loopback)."""

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/slow.json":
            time.sleep(3)
        if self.path == "/big.json":
            body = b"{" + b" " * (3 * 1024 * 1024) + b"}"
        elif self.path in ("/catalogue.json", "/slow.json"):
            body = (UDPS / "plaza_catalogue.json").read_bytes()
        elif self.path == "/code.json":
            body = json.dumps({"id": "x", "process_graph": {"a": {"process_id": "run_udf", "arguments": {
                "udf": "__import__('os').system('touch /tmp/pwned')", "runtime": "Python"}, "result": True}},
                "parameters": [{"name": "n", "schema": {"type": "number", "minimum": 0}, "default": -1}]}).encode()
        else:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Origin)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_sources_search_and_safe_description(two_users) -> None:
    _, alice, _ = two_users
    plaza = ProcessPlaza(alice, sources=["backend", str(UDPS / "plaza_catalogue.json"),
                                         str(UDPS / "ndvi_threshold_composite.json")])
    ids = {e.id for e in plaza.entries}
    assert {"band_quantile_composite", "radar_cross_ratio", "ndvi_threshold_composite", "load_collection"} <= ids
    plaza.search_box.value = "radar"
    assert [e.id for e in plaza.matches()] == ["radar_cross_ratio"]
    plaza.search_box.value = ""
    plaza.category.value = "composites"
    assert [e.id for e in plaza.matches()] == ["band_quantile_composite", "ndvi_threshold_composite"]
    plaza.category.value = ""
    plaza.select("band_quantile_composite")
    details = plaza.details.value
    assert "<table>" in details and "<strong>quantile</strong>" in details
    assert "javascript:" not in details and "<img" not in details and "&lt;img" in details
    assert "<td><code>probabilities</code></td><td>json</td>" in details
    assert "<td><code>geometry</code> *</td>" in details  # required marked
    form = plaza.open_form()
    assert isinstance(form, ProcessForm) and plaza.form_box.children == (form,)


def test_loading_by_url_is_bounded_and_checked(two_users, origin, monkeypatch) -> None:
    _, alice, _ = two_users
    plaza = ProcessPlaza(alice, sources=[])
    assert [e.id for e in plaza.add_source(f"{origin}/catalogue.json")] == ["band_quantile_composite",
                                                                           "radar_cross_ratio"]
    assert plaza.entries[0].namespace == f"{origin}/catalogue.json"
    assert plaza.add_source(f"{origin}/big.json") == [] and "larger than" in plaza.message.value
    assert plaza.add_source(f"{origin}/code.json") == []
    assert "default of 'n' is invalid: -1 is less than the minimum of 0" in html.unescape(plaza.message.value)
    assert plaza.add_source("file:///etc/passwd") == [] and "http(s)" in plaza.message.value
    assert plaza.add_source(f"{origin}/nothing.json") == [] and "HTTP 404" in plaza.message.value
    monkeypatch.setattr(process_sources, "FETCH_TIMEOUT", 0.5)
    started = time.monotonic()
    assert plaza.add_source(f"{origin}/slow.json") == []
    assert time.monotonic() - started < 2.5 and "longer than" in plaza.message.value
    assert len(plaza.entries) == 2  # failed loads added nothing


def test_check_value_uses_the_json_schema_and_openeo_subtypes() -> None:
    [doc] = process_documents((UDPS / "ndvi_threshold_composite.json").read_bytes())
    params = {p["name"]: p for p in doc["parameters"]}
    assert check_value(params["threshold"], 0.5) is None
    assert "greater than the maximum" in check_value(params["threshold"], 2)
    assert "is not one of" in check_value(params["period"], "year")
    assert "before the end" in check_value(params["temporal_extent"], ["2023-09-01", "2023-06-01"])
    assert check_value(params["spatial_extent"], {"west": 1, "south": 2, "east": 3, "north": 4}) is None
    assert check_value(params["spatial_extent"], {"type": "Polygon", "coordinates": []}) is None
    assert "required" in check_value(params["spatial_extent"], None)
    with pytest.raises(ProcessGraphInvalid, match="declared twice"):
        process_documents({"id": "a", "parameters": [{"name": "x", "schema": {}}, {"name": "x", "schema": {}}]})


def test_alice_publishes_bob_finds_it_by_url_and_runs_it(two_users) -> None:
    url, alice, bob = two_users
    graph = {"load": {"process_id": "load_collection", "arguments": {
                 "id": "SENTINEL2_L2A", "spatial_extent": {"west": 11.0, "south": 46.0, "east": 11.1, "north": 46.1},
                 "temporal_extent": ["2023-06-01", "2023-07-01"], "bands": ["B04", "B08"]}},
             "ndvi": {"process_id": "ndvi", "arguments": {"data": {"from_node": "load"}}},
             "scale": {"process_id": "apply", "arguments": {"data": {"from_node": "ndvi"}, "process": {
                 "process_graph": {"s": {"process_id": "multiply", "arguments": {"x": {"from_parameter": "x"},
                                                                                 "y": 100}, "result": True}}}}},
             "max": {"process_id": "reduce_dimension", "arguments": {"data": {"from_node": "scale"}, "dimension": "t",
                     "reducer": {"process_graph": {"m": {"process_id": "max", "arguments": {
                         "data": {"from_parameter": "data"}}, "result": True}}}}, "result": True}}
    alice_plaza = ProcessPlaza(alice, sources=["user"], graph=graph)
    assert [o[0] for o in alice_plaza.publish_numbers.options] == []  # no literal top-level number here
    shared = alice_plaza.publish("max_ndvi_alice", summary="Maximum NDVI of a month")
    assert shared == f"{url.rstrip('/')}/public/process_graphs/alice/max_ndvi_alice", alice_plaza.publish_message.value
    assert alice_plaza.publish_url.value == shared
    assert "max_ndvi_alice" in {e.id for e in alice_plaza.entries}

    # bob does not see alice's UDPs among his own, but loads the shared URL
    bob_plaza = ProcessPlaza(bob, sources=["user"])
    assert bob_plaza.entries == []
    [entry] = bob_plaza.add_source(shared)
    assert (entry.id, entry.namespace) == ("max_ndvi_alice", shared)
    assert [p["name"] for p in entry.document["parameters"]] == ["spatial_extent", "temporal_extent"]
    form = bob_plaza.open_form()
    assert form is not None, bob_plaza.message.value
    form.context.aoi_maps[0].set_aoi(AOI)
    assert form.run_preview()
    assert form.preview.wait(120) and form.preview.result is not None, form.preview.status.value
    form.export.ending.value = "none"
    code = form.export.code()
    assert f'namespace="{shared}"' in code
    import jupyter_eo

    original = jupyter_eo.connect
    jupyter_eo.connect = lambda backend_id="local", **kw: bob
    try:
        namespace: dict = {}
        exec(compile(code, "<exported>", "exec"), namespace)
    finally:
        jupyter_eo.connect = original
    by_code = read_geotiff(namespace["cube"].download(format="GTiff"))  # the backend resolves the URL
    by_form = read_geotiff(bob.download(form.run_graph("GTiff")))
    assert by_code.data.dtype == by_form.data.dtype and by_code.data.shape == by_form.data.shape
    np.testing.assert_array_equal(by_code.data, by_form.data)
    # alice makes it private again: the link stops working for bob
    alice.save_user_defined_process("max_ndvi_alice", entry.document["process_graph"],
                                    parameters=entry.document["parameters"], public=False)
    assert bob_plaza.add_source(shared) == [] and "HTTP 404" in bob_plaza.message.value


def test_publish_turns_chosen_numbers_into_parameters(two_users) -> None:
    _, alice, _ = two_users
    graph = {"load": {"process_id": "load_collection", "arguments": {
                 "id": "SENTINEL2_L2A", "spatial_extent": {"west": 11.3, "south": 46.49, "east": 11.32, "north": 46.5},
                 "temporal_extent": ["2023-06-01", "2023-07-01"], "bands": ["B04", "B08"]}},
             "ndvi": {"process_id": "ndvi", "arguments": {"data": {"from_node": "load"}}},
             "scale": {"process_id": "linear_scale_range", "arguments": {"x": {"from_node": "ndvi"}, "inputMin": -1,
                       "inputMax": 1, "outputMin": 0, "outputMax": 250}, "result": True}}
    plaza = ProcessPlaza(alice, sources=[])
    plaza.publish_graph.value = json.dumps(graph)
    labels = [o[0] for o in plaza.publish_numbers.options]
    assert labels == ["scale.inputMin = -1", "scale.inputMax = 1", "scale.outputMin = 0", "scale.outputMax = 250"]
    plaza.publish_id.value = "scaled_ndvi"
    plaza.publish_numbers.value = (("scale", "outputMax"),)
    url = plaza.publish()
    assert url and url.endswith("/public/process_graphs/alice/scaled_ndvi")
    document = alice.user_defined_process("scaled_ndvi").describe()
    by_name = {p["name"]: p for p in document["parameters"]}
    assert set(by_name) == {"spatial_extent", "temporal_extent", "outputMax"}
    assert by_name["outputMax"]["default"] == 250 and by_name["outputMax"]["schema"] == {"type": "integer"}
    assert document["process_graph"]["scale"]["arguments"]["outputMax"] == {"from_parameter": "outputMax"}
