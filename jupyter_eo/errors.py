"""One exception hierarchy: openEO errors carrying the spec's code, HTTP status and JSON body."""
from __future__ import annotations

import json
import uuid
from functools import lru_cache
from importlib import resources
from typing import Any


@lru_cache(maxsize=1)
def error_catalog() -> dict[str, dict[str, Any]]:
    """The openEO API 1.2 error codes (packaged copy of ``errors.json``)."""
    text = resources.files("jupyter_eo.specs").joinpath("errors.json").read_text("utf-8")
    return json.loads(text)


class OpenEOError(Exception):
    """An error reported to clients in the openEO JSON error format.

    ``code`` is one of the codes of the openEO API (``errors.json``) or a documented
    backend-specific code; ``status`` is the HTTP status (defaults to the spec's value).
    Messages must never contain secrets.
    """

    code: str = "Internal"
    status: int = 500

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 status: int | None = None, links: list[dict] | None = None) -> None:
        if code is not None:
            self.code = code
        spec = error_catalog().get(self.code, {})
        if status is not None:
            self.status = status
        elif "http" in spec and type(self).status == OpenEOError.status and code is not None:
            self.status = int(spec["http"])
        self.message = message or spec.get("message", self.code)
        self.links = links or []
        self.id = uuid.uuid4().hex
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        """The body in the openEO error format ``{"id", "code", "message", "links"}``."""
        body: dict[str, Any] = {"id": self.id, "code": self.code, "message": self.message}
        if self.links:
            body["links"] = self.links
        return body


def _make(name: str, status: int) -> type[OpenEOError]:
    return type(name, (OpenEOError,), {"code": name, "status": status,
                                       "__doc__": f"openEO error ``{name}`` (HTTP {status})."})


# The spec's codes as classes, e.g. ``raise ProcessUnsupported("...")``.
NotFound = _make("NotFound", 404)
FeatureUnsupported = _make("FeatureUnsupported", 501)
InfrastructureBusy = _make("InfrastructureBusy", 503)
RequestTimeout = _make("RequestTimeout", 408)
CollectionNotFound = _make("CollectionNotFound", 404)
StorageQuotaExceeded = _make("StorageQuotaExceeded", 400)
FileNotFound = _make("FileNotFound", 404)
FilePathInvalid = _make("FilePathInvalid", 400)
FileSizeExceeded = _make("FileSizeExceeded", 400)
ContentTypeInvalid = _make("ContentTypeInvalid", 400)
ProcessGraphNotFound = _make("ProcessGraphNotFound", 404)
ProcessGraphMissing = _make("ProcessGraphMissing", 400)
ProcessGraphInvalid = _make("ProcessGraphInvalid", 400)
ProcessGraphComplexity = _make("ProcessGraphComplexity", 400)
ProcessUnsupported = _make("ProcessUnsupported", 400)
ProcessParameterUnsupported = _make("ProcessParameterUnsupported", 400)
ProcessParameterInvalid = _make("ProcessParameterInvalid", 400)
ProcessParameterRequired = _make("ProcessParameterRequired", 400)
JobNotFound = _make("JobNotFound", 404)
JobLocked = _make("JobLocked", 400)
JobNotFinished = _make("JobNotFinished", 400)
JobNotStarted = _make("JobNotStarted", 400)
AuthenticationRequired = _make("AuthenticationRequired", 401)
AuthenticationSchemeInvalid = _make("AuthenticationSchemeInvalid", 403)
TokenInvalid = _make("TokenInvalid", 403)
CredentialsInvalid = _make("CredentialsInvalid", 403)
PermissionsInsufficient = _make("PermissionsInsufficient", 403)
ServiceNotFound = _make("ServiceNotFound", 404)
ServiceUnsupported = _make("ServiceUnsupported", 400)
ServiceConfigInvalid = _make("ServiceConfigInvalid", 400)
PayloadTooLarge = type("PayloadTooLarge", (OpenEOError,), {
    "code": "PayloadTooLarge", "status": 413,
    "__doc__": "Backend-specific: request body, graph or pixel count over a configured limit."})


class ProcessArgumentInvalid(OpenEOError):
    """Process-specific error (e.g. ``ArrayElementNotAvailable``) raised while evaluating."""

    status = 400

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code, status=400)
