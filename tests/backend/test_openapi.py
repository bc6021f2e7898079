"""Responses validate against the openEO API 1.2.0 OpenAPI document (openapi-core).

The document is used as published except for three spec quirks, each changed minimally here:

1. ``process_json_schema`` (every parameter schema: ``/processes``, file formats, service
   configuration, UDP parameters) is ``oneOf: [Generic (no constraints), process-graph,
   datacube]``. A schema without ``subtype`` matches all three branches, so no schema can
   satisfy ``oneOf``; the intent is ``anyOf``, which is what we validate with.
2. ``service.url`` has ``format: uri``, but an XYZ service must give a tile template
   (``.../{z}/{x}/{y}.png``, what the openeo client's ``preview()`` hands to Leaflet); braces are
   not allowed in RFC 3986 URIs, so that one ``format`` is dropped.
3. The well-known document has its own ``servers`` entry (the example host): pointed at ours.

The known type-array quirk of ``/processes`` (``"type": ["number", "null"]``) does not trip
openapi-core 0.23 (``json_schema.type`` accepts arrays there), so ``/processes`` is validated
with the same document; its parameter schemas are additionally checked as draft-07 schemas.
openapi-core has no deserializer for ``application/schema+json`` (queryables); we register
``json.loads`` for it.
"""
from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from backend_testlib import PASSWORD, USER

SPEC_PATH = Path(__file__).resolve().parents[1] / "data" / "openapi.yaml"
NDVI_GRAPH = {
    "load": {"process_id": "load_collection", "arguments": {
        "id": "TEST_S2", "spatial_extent": None, "temporal_extent": None, "bands": ["B04", "B08"]}},
    "ndvi": {"process_id": "ndvi", "arguments": {"data": {"from_node": "load"}}},
    "max": {"process_id": "reduce_dimension", "arguments": {
        "data": {"from_node": "ndvi"}, "dimension": "t", "reducer": {"process_graph": {
            "m": {"process_id": "max", "arguments": {"data": {"from_parameter": "data"}},
                  "result": True}}}}},
    "save": {"process_id": "save_result", "arguments": {"data": {"from_node": "max"},
                                                         "format": "GTiff"}, "result": True},
}


@pytest.fixture(scope="module")
def raw_spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text("utf-8"))


def _openapi(raw: dict[str, Any], base: str) -> OpenAPI:
    spec = copy.deepcopy(raw)
    spec["servers"] = [{"url": base.rstrip("/")}]
    spec["paths"]["/.well-known/openeo"]["get"]["servers"] = [{"url": base.rstrip("/")}]
    schemas = spec["components"]["schemas"]
    schemas["process_json_schema"]["anyOf"] = schemas["process_json_schema"].pop("oneOf")
    # quirk 3: an XYZ service URL is a tile template ({z}/{x}/{y}); braces are not RFC 3986
    schemas["service"]["properties"]["url"].pop("format")
    # openapi-core has no deserializer for application/schema+json (queryables): add json.loads
    config = Config(extra_media_type_deserializers={"application/schema+json": json.loads})
    return OpenAPI.from_dict(spec, config=config)


class Checker:
    def __init__(self, raw: dict[str, Any], base: str, token: str) -> None:
        self.base = base
        self.headers = {"Authorization": f"Bearer basic//{token}"}
        self.api = _openapi(raw, base)
        self.checked: list[str] = []

    def __call__(self, method: str, path: str, auth: bool = True,
                 **kwargs: Any) -> requests.Response:
        headers = dict(self.headers if auth else {}, **kwargs.pop("headers", {}))
        response = requests.request(method, self.base + path.lstrip("/"), headers=headers,
                                    timeout=30, **kwargs)
        self.api.validate_response(RequestsOpenAPIRequest(response.request),
                              RequestsOpenAPIResponse(response))
        self.checked.append(f"{method} {path} {response.status_code}")
        return response


@pytest.fixture
def check(server: str, raw_spec: dict[str, Any]) -> Checker:
    token = requests.get(server + "credentials/basic", auth=(USER, PASSWORD)).json()["access_token"]
    return Checker(raw_spec, server, token)


def test_get_endpoints_validate(check: Checker, connection) -> None:
    for path in ("/", "/conformance", "/file_formats", "/udf_runtimes", "/service_types",
                 "/me", "/collections", "/collections/TEST_S2",
                 "/collections/TEST_S2/queryables", "/jobs", "/process_graphs", "/services",
                 "/files"):
        assert check("GET", path).status_code == 200, path
    assert check("GET", "/.well-known/openeo", auth=False).status_code == 200
    creds = check("GET", "/credentials/basic", auth=False, headers={
        "Authorization": requests.auth._basic_auth_str(USER, PASSWORD)})
    assert creds.json()["access_token"]

    # resources that exist only after creating them
    connection.save_user_defined_process("double", {"m": {"process_id": "multiply", "arguments": {
        "x": {"from_parameter": "x"}, "y": 2}, "result": True}},
        parameters=[{"name": "x", "description": "A number", "schema": {"type": "number"}}])
    assert check("GET", "/process_graphs/double").status_code == 200
    job = connection.create_job(NDVI_GRAPH, title="spec check")
    assert check("GET", f"/jobs/{job.job_id}").status_code == 200
    assert check("GET", f"/jobs/{job.job_id}/estimate").status_code == 200
    job.start()
    for _ in range(200):
        if job.status() in ("finished", "error"):
            break
        time.sleep(0.05)
    assert check("GET", f"/jobs/{job.job_id}/logs").status_code == 200
    assert check("GET", f"/jobs/{job.job_id}/results").status_code == 200
    assert check("GET", "/jobs").json()["jobs"][0]["status"] == "finished"
    service = connection.create_service(NDVI_GRAPH, "XYZ")
    assert check("GET", f"/services/{service.service_id}").status_code == 200
    assert check("GET", "/services").status_code == 200
    assert len(check.checked) >= 22


def test_processes_validate(check: Checker) -> None:
    from jsonschema.validators import Draft7Validator

    body = check("GET", "/processes").json()
    assert len(body["processes"]) > 10
    for process in body["processes"]:
        for param in process["parameters"]:
            Draft7Validator.check_schema(param["schema"] if isinstance(param["schema"], dict)
                                         else {"anyOf": param["schema"]})
        returns = process["returns"]["schema"]
        Draft7Validator.check_schema(returns if isinstance(returns, dict) else {"anyOf": returns})


def test_post_result_and_errors_validate(check: Checker) -> None:
    response = check("POST", "/result", json={"process": {"process_graph": NDVI_GRAPH}})
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("image/tiff")
    bad = check("POST", "/result", json={"process": {"process_graph": {
        "x": {"process_id": "no_such_process", "arguments": {}, "result": True}}}})
    assert bad.status_code == 400 and bad.json()["code"] == "ProcessUnsupported"
    valid = check("POST", "/validation", json={"process_graph": NDVI_GRAPH})
    assert valid.json() == {"errors": []}
    unauth = check("GET", "/me", auth=False)
    assert unauth.status_code == 401
    missing = check("GET", "/collections/NOPE")
    assert missing.status_code == 404 and missing.json()["code"] == "CollectionNotFound"
    json.dumps(check.checked)
