"""openEO API 1.2 details: ``limit`` pagination, 405 with ``Allow``, queryables ``$id``,
process schemas with JSON-Schema type arrays served verbatim."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
import yaml

from backend_testlib import ArrayCatalog, LOAD_SAVE_GTIFF, basic_auth_headers, make_config
from jupyter_eo.backend.catalog.base import queryables_schema
from jupyter_eo.backend.routes import ROUTES
from jupyter_eo.backend.testing import serve_in_thread

SPEC = Path(__file__).resolve().parents[1] / "data" / "openapi.yaml"
PAGED = ("files", "jobs", "services", "process_graphs")
LIST_KEY = {"files": "files", "jobs": "jobs", "services": "services",
            "process_graphs": "processes"}


class QueryablesCatalog(ArrayCatalog):
    """The test collection with the catalog's own queryables document (as S1/S2/files have)."""

    def __init__(self) -> None:
        super().__init__()
        self.collection.queryables = lambda: queryables_schema(  # type: ignore[method-assign]
            "TEST_S2", {"eo:cloud_cover": {"type": "number"}})


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config = make_config(tmp_path_factory.mktemp("details"), catalog=QueryablesCatalog())
    with serve_in_thread(config) as url:
        yield url


@pytest.fixture(scope="module")
def auth(base: str) -> dict[str, str]:
    return basic_auth_headers(base)


def _create(base: str, auth: dict[str, str], kind: str, index: int) -> None:
    if kind == "files":
        response = requests.put(f"{base}files/dir/f{index}.txt", data=b"x" * index, headers=auth)
    elif kind == "jobs":
        response = requests.post(f"{base}jobs", json={**LOAD_SAVE_GTIFF, "title": f"j{index}"},
                                 headers=auth)
    elif kind == "services":
        response = requests.post(f"{base}services", json={**LOAD_SAVE_GTIFF, "type": "XYZ"},
                                 headers=auth)
    else:
        response = requests.put(f"{base}process_graphs/udp{index}",
                                json=LOAD_SAVE_GTIFF["process"], headers=auth)
    assert response.status_code in (200, 201), response.text


@pytest.fixture(scope="module")
def filled(base: str, auth: dict[str, str]) -> str:
    for kind in PAGED:
        for index in range(1, 6):
            _create(base, auth, kind, index)
    return base


@pytest.mark.parametrize("kind", PAGED)
@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5", "2e1", " 3", "99999999999999999999"])
def test_invalid_limit_is_a_400_openeo_error(filled: str, auth: dict[str, str], kind: str,
                                             value: str) -> None:
    response = requests.get(f"{filled}{kind}", params={"limit": value}, headers=auth, timeout=5)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "ParameterInvalid"
    assert "limit" in body["message"] and body["id"]


@pytest.mark.parametrize("kind", PAGED)
def test_limit_pages_with_next_links_and_no_limit_gives_all(filled: str, auth: dict[str, str],
                                                            kind: str) -> None:
    everything = requests.get(f"{filled}{kind}", headers=auth).json()
    empty = requests.get(f"{filled}{kind}?limit=", headers=auth).json()  # spec: empty = all
    assert len(everything[LIST_KEY[kind]]) == 5
    assert empty[LIST_KEY[kind]] == everything[LIST_KEY[kind]]
    assert not [link for link in everything["links"] if link["rel"] == "next"]

    seen: list[Any] = []
    url: str | None = f"{filled}{kind}?limit=2"
    pages = 0
    while url is not None:
        page = requests.get(url, headers=auth)
        assert page.status_code == 200, page.text
        items = page.json()[LIST_KEY[kind]]
        assert 1 <= len(items) <= 2
        seen += items
        pages += 1
        nexts = [link["href"] for link in page.json()["links"] if link["rel"] == "next"]
        assert len(nexts) <= 1
        url = nexts[0] if nexts else None
        if url is not None:
            assert url.startswith(filled) and "limit=2" in url
    assert pages == 3
    assert seen == everything[LIST_KEY[kind]]  # same items, same order, none twice


def test_official_client_list_jobs_honours_limit(filled: str) -> None:
    import openeo

    from backend_testlib import PASSWORD, USER

    connection = openeo.connect(filled)
    connection.authenticate_basic(USER, PASSWORD)
    assert len(connection.list_jobs(limit=3)) == 3
    assert len(connection.list_jobs(limit=None)) == 5
    assert len(connection.list_user_defined_processes()) == 5


def _concrete(pattern: str) -> str:
    path = pattern.replace(r"(\d+)", "1").replace("([^/]+)", "x").replace("(.+)", "x")
    return path.replace("\\", "")


ROUTE_CASES = [(route, method) for route in ROUTES
               for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
               if method not in route.methods]


@pytest.mark.parametrize("route,method", ROUTE_CASES,
                         ids=[f"{m} {r.pattern}" for r, m in ROUTE_CASES])
def test_405_names_the_allowed_methods(base: str, auth: dict[str, str], route: Any,
                                       method: str) -> None:
    response = requests.request(method, base.rstrip("/") + _concrete(route.pattern),
                                headers=auth, json={} if method != "GET" else None, timeout=10)
    assert response.status_code == 405, (route.pattern, response.status_code, response.text)
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert allowed == set(route.methods) | {"OPTIONS"}
    assert response.json()["code"] == "MethodNotAllowed"
    assert response.headers["Content-Type"] == "application/json"


def test_queryables_id_is_the_absolute_url_of_the_endpoint(base: str) -> None:
    url = f"{base}collections/TEST_S2/queryables"
    schema = requests.get(url).json()
    assert schema["$id"] == url
    assert re.match(r"^https?://[^/]+/", schema["$id"])
    assert schema["properties"] == {"eo:cloud_cover": {"type": "number"}}


def test_process_schemas_keep_type_arrays_which_the_api_document_allows(base: str) -> None:
    """``{"type": ["number", "null"]}`` is verbatim in the rc.2 specs and allowed by the openEO
    document's own ``json_schema.type`` (a type or an array of types); ``process_json_schema``
    says top-level ``anyOf`` SHOULD NOT be used, so no conversion is made."""
    from jsonschema.validators import Draft7Validator

    spec = yaml.safe_load(SPEC.read_text("utf-8"))
    type_schema = spec["components"]["schemas"]["json_schema"]["properties"]["type"]
    enum = spec["components"]["schemas"]["json_schema_type"]
    validator = Draft7Validator({"oneOf": [enum, {**type_schema["oneOf"][1], "items": enum}]})
    processes = {p["id"]: p for p in requests.get(f"{base}processes").json()["processes"]}
    arrays = [schema["type"] for process in processes.values()
              for schema in [p["schema"] for p in process["parameters"]]
              + [process["returns"]["schema"]]
              if isinstance(schema, dict) and isinstance(schema.get("type"), list)]
    assert ["number", "null"] in arrays
    for value in arrays:
        validator.validate(value)
    x = next(p for p in processes["absolute"]["parameters"] if p["name"] == "x")
    assert x["schema"] == {"type": ["number", "null"]}

