"""Discovery endpoints: well-known versions, capabilities, conformance, file formats, UDF runtimes."""
from __future__ import annotations

import platform

from jupyter_eo import _version
from jupyter_eo.backend.formats import file_formats
from jupyter_eo.backend.handlers.base import BaseHandler

API_VERSION = "1.2.0"
CONFORMANCE = [
    "https://api.openeo.org/1.2.0",
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/collections",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
]


class WellKnownHandler(BaseHandler):
    def get(self) -> None:
        self.write_json({"versions": [{"url": self.url("/"), "api_version": API_VERSION,
                                       "production": False}]})


class CapabilitiesHandler(BaseHandler):
    def get(self) -> None:
        from jupyter_eo.backend.routes import endpoints

        config = self.backend.config
        self.write_json({
            "api_version": API_VERSION,
            "backend_version": getattr(_version, "__version__", "0"),
            "stac_version": "1.0.0",
            "type": "Catalog",
            "id": config.backend_id,
            "title": config.title,
            "description": "Offline openEO API 1.2 backend of jupyter_eo, evaluating process "
                           "graphs with xarray/dask on local data.",
            "production": False,
            "endpoints": endpoints(),
            "billing": {"currency": None, "plans": [
                {"name": "free", "description": "Local computation, no costs.", "paid": False}],
                "default_plan": "free"},
            "links": [
                {"rel": "self", "href": self.url("/"), "type": "application/json"},
                {"rel": "conformance", "href": self.url("/conformance"),
                 "type": "application/json"},
                {"rel": "data", "href": self.url("/collections"), "type": "application/json"},
                {"rel": "version-history", "href": self.url("/.well-known/openeo"),
                 "type": "application/json"},
            ],
        })


class ConformanceHandler(BaseHandler):
    def get(self) -> None:
        self.write_json({"conformsTo": CONFORMANCE})


class FileFormatsHandler(BaseHandler):
    def get(self) -> None:
        self.write_json(file_formats())


class UdfRuntimesHandler(BaseHandler):
    def get(self) -> None:
        if not self.backend.config.udf_enabled:
            self.write_json({})
            return
        import numpy
        import xarray

        version = ".".join(platform.python_version_tuple()[:2])
        self.write_json({"Python": {
            "title": "Python", "type": "language", "default": version,
            "description": "Runs UDFs in a local Python subprocess (single-user backends only).",
            "versions": {version: {"libraries": {
                "numpy": {"version": numpy.__version__},
                "xarray": {"version": xarray.__version__}}}}}})
