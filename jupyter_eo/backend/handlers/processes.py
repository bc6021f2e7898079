"""Process discovery (``GET /processes``) and graph validation (``POST /validation``)."""
from __future__ import annotations

import json

from jupyter_eo.backend.handlers.base import BaseHandler
from jupyter_eo.errors import OpenEOError, ProcessGraphMissing




class ProcessesHandler(BaseHandler):
    def get(self) -> None:
        backend = self.backend
        cached = getattr(backend, "_processes_json", None)
        if cached is None:
            cached = json.dumps(backend.predefined_processes, allow_nan=False)
            backend._processes_json = cached  # type: ignore[attr-defined]
        self.set_header("Content-Type", "application/json")
        self.finish('{"processes": ' + cached + ', "links": [{"rel": "self", "href": '
                    + json.dumps(self.url("processes")) + ', "type": "application/json"}]}')


def process_graph_of(body: object) -> dict:
    """The ``process.process_graph`` of a request body (raises ProcessGraphMissing)."""
    process = body.get("process") if isinstance(body, dict) else None
    pg = process.get("process_graph") if isinstance(process, dict) else None
    if not isinstance(pg, dict) or not pg:
        raise ProcessGraphMissing("Request body needs 'process' with a 'process_graph' object.")
    return pg


class ValidationHandler(BaseHandler):
    async def post(self) -> None:
        self.optional_user()  # a given but invalid token is still rejected
        body = await self.json_body()
        # validation accepts a bare process (``{"process_graph": ...}``) per the spec
        if isinstance(body, dict) and "process_graph" in body and "process" not in body:
            body = {"process": body}
        pg = process_graph_of(body)
        user = self.optional_user()
        declared = body["process"].get("parameters")  # a process document's own parameters
        names = [p["name"] for p in declared if isinstance(p, dict) and
                 isinstance(p.get("name"), str)] if isinstance(declared, list) else []
        errors = await self.backend.run_sync(self.backend.validate, pg, user, names,
                                             pool="light",
                                             timeout=self.backend.config.limits.sync_timeout_s)
        self.write_json({"errors": [_error_body(e) for e in errors]})


def _error_body(error: OpenEOError | Exception) -> dict:
    if isinstance(error, OpenEOError):
        return error.to_dict()
    return {"code": "ProcessGraphInvalid", "message": str(error)}
