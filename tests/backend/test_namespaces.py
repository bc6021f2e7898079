"""Processes from other namespaces: public documents by URL (fetched safely), providers named."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
import xarray as xr
from openeo.rest import OpenEoApiError

from jupyter_eo.graph.process_doc import MAX_DOCUMENT_BYTES

BBOX = {"west": 500_100.0, "south": 5_599_600.0, "east": 500_500.0, "north": 5_599_900.0,
        "crs": 32631}
DATES = ["2024-05-05", "2024-05-30"]

SCALED_NDVI = {
    "id": "scaled_ndvi", "summary": "NDVI times a factor",
    "parameters": [
        {"name": "bbox", "description": "area", "schema": {"type": "object",
                                                           "subtype": "bounding-box"}},
        {"name": "factor", "description": "factor", "schema": {"type": "number"},
         "optional": True, "default": 10}],
    "process_graph": {
        "l": {"process_id": "load_collection", "arguments": {
            "id": "TEST_S2", "spatial_extent": {"from_parameter": "bbox"},
            "temporal_extent": DATES, "bands": ["B04", "B08"]}},
        "n": {"process_id": "ndvi", "arguments": {"data": {"from_node": "l"}}},
        "m": {"process_id": "apply", "arguments": {"data": {"from_node": "n"}, "process": {
            "process_graph": {"x": {"process_id": "multiply", "arguments": {
                "x": {"from_parameter": "x"}, "y": {"from_parameter": "factor"}},
                "result": True}}}}},
        "s": {"process_id": "save_result", "arguments": {"data": {"from_node": "m"},
                                                         "format": "netCDF"}, "result": True}},
}


class _Origin(BaseHTTPRequestHandler):
    requests: list[str] = []
    files: dict[str, bytes] = {}

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        _Origin.requests.append(self.path)
        if self.path == "/scaled_ndvi.json":
            self._send(json.dumps(SCALED_NDVI).encode())
        elif self.path == "/catalogue.json":
            self._send(json.dumps({"processes": [SCALED_NDVI], "links": []}).encode())
        elif self.path in _Origin.files:
            self._send(_Origin.files[self.path])
        elif self.path == "/huge.json":
            self._send(b" " * (MAX_DOCUMENT_BYTES + 10) + b"{}")
        elif self.path == "/not-json.json":
            self._send(b"<html>hello</html>")
        elif self.path == "/to-file.json":
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd")
            self.end_headers()
        else:
            self.send_response(404)
            self.end_headers()

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def origin() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Origin)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Origin.requests = []
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.mark.parametrize("document", ["scaled_ndvi.json", "catalogue.json"])
def test_process_from_a_namespace_url_runs(connection, origin: str, tmp_path: Path,
                                           document: str) -> None:
    cube = connection.datacube_from_process("scaled_ndvi", namespace=f"{origin}/{document}",
                                            bbox=BBOX, factor=100)
    path = tmp_path / "out.nc"
    cube.download(path, format="netCDF")
    from backend_testlib import ArrayCollection

    source = ArrayCollection().load(BBOX, DATES, ["B04", "B08"])
    red, nir = source.sel(bands="B04"), source.sel(bands="B08")
    want = ((nir - red) / (nir + red) * 100).compute()
    with xr.open_dataset(path) as ds:
        got = ds["data"]
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got.values, want.values, rtol=1e-5, equal_nan=True)
    assert f"/{document}" in _Origin.requests


@pytest.mark.parametrize("path,code,words", [
    ("huge.json", "ProcessGraphInvalid", "larger than"),
    ("not-json.json", "ProcessGraphInvalid", "Not JSON"),
    ("to-file.json", "ProcessUnsupported", "not http(s)"),
    ("missing.json", "ProcessUnsupported", "HTTP 404"),
])
def test_bad_namespace_documents_are_refused_clearly(connection, origin: str, path: str,
                                                     code: str, words: str) -> None:
    call = {"u": {"process_id": "scaled_ndvi", "namespace": f"{origin}/{path}",
                  "arguments": {"bbox": BBOX}, "result": True}}
    with pytest.raises(OpenEoApiError) as err:
        connection.execute(call)
    assert err.value.code == code
    assert words in err.value.message
    assert err.value.http_status_code == 400


def test_a_local_path_or_other_scheme_is_never_read(connection) -> None:
    for namespace in ("file:///etc/passwd", "/etc/passwd", "ftp://127.0.0.1/x.json"):
        call = {"u": {"process_id": "scaled_ndvi", "namespace": namespace, "arguments": {},
                      "result": True}}
        with pytest.raises(OpenEoApiError) as err:
            connection.execute(call)
        assert err.value.code == "ProcessUnsupported"
        assert "root:" not in err.value.message


@pytest.mark.parametrize("process_id,namespace", [("biopar@vito", None),
                                                  ("biopar", "vito")])
def test_provider_namespace_is_named(connection, process_id: str, namespace: str | None) -> None:
    node = {"process_id": process_id, "arguments": {}, "result": True}
    if namespace:
        node["namespace"] = namespace
    with pytest.raises(OpenEoApiError) as err:
        connection.execute({"u": node})
    assert err.value.code == "ProcessUnsupported"
    assert "'biopar'" in err.value.message and "'vito'" in err.value.message
    assert "does not provide" in err.value.message
    errors = connection.post("/validation", json={"process_graph": {"u": node}},
                             expected_status=200).json()["errors"]
    assert [e["code"] for e in errors] == ["ProcessUnsupported"]
    assert "'vito'" in errors[0]["message"]


def _geotiff(tmp_path: Path) -> tuple[bytes, np.ndarray]:
    import rioxarray  # noqa: F401 - registers .rio

    from jupyter_eo.backend.cube import set_crs

    values = np.arange(2 * 6 * 8, dtype=np.float32).reshape(2, 6, 8) / 7
    cube = xr.DataArray(values, dims=("band", "y", "x"),
                        coords={"band": [1, 2], "y": 5_600_000.0 - 10 * np.arange(6) - 5,
                                "x": 500_000.0 + 10 * np.arange(8) + 5})
    cube = cube.rio.write_crs("EPSG:32631")
    path = tmp_path / "in.tif"
    cube.rio.to_raster(path)
    return path.read_bytes(), values


def test_load_url_reads_a_geotiff_over_http(connection, origin: str, tmp_path: Path) -> None:
    body, values = _geotiff(tmp_path)
    _Origin.files["/field.tif"] = body
    cube = connection.datacube_from_process("load_url", url=f"{origin}/field.tif",
                                            format="GTiff")
    out = tmp_path / "out.nc"
    cube.download(out, format="netCDF")
    with xr.open_dataset(out) as ds:
        got = np.stack([ds[name].values for name in ("band_1", "band_2")]) \
            if "band_1" in ds else ds["data"].values
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, values)


@pytest.mark.parametrize("url,code", [("file:///etc/hostname", "ProcessParameterInvalid"),
                                      ("/etc/hostname", "ProcessParameterInvalid")])
def test_load_url_never_reads_local_paths(connection, url: str, code: str) -> None:
    with pytest.raises(OpenEoApiError) as err:
        connection.execute({"l": {"process_id": "load_url", "arguments": {
            "url": url, "format": "GTiff"}, "result": True}})
    assert err.value.code == code
    assert "http(s)" in err.value.message


def test_load_url_refuses_other_formats_and_too_large_files(connection, origin: str,
                                                            monkeypatch) -> None:
    from jupyter_eo.backend.processes import load_url as module

    with pytest.raises(OpenEoApiError) as err:
        connection.execute({"l": {"process_id": "load_url", "arguments": {
            "url": f"{origin}/field.tif", "format": "Parquet"}, "result": True}})
    assert err.value.code == "FormatUnsuitable"
    _Origin.files["/big.tif"] = b"\0" * 4096
    monkeypatch.setattr(module, "MAX_URL_BYTES", 1024)
    with pytest.raises(OpenEoApiError) as err:
        connection.execute({"l": {"process_id": "load_url", "arguments": {
            "url": f"{origin}/big.tif", "format": "GTiff"}, "result": True}})
    assert "larger than 1024 bytes" in err.value.message
