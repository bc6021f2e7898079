"""Serve openeo-driver's dummy backend on 127.0.0.1 (a free port) for tests/remote.

Run with the interpreter of the ``.dummy-backend`` venv (see the Makefile):
``python dummy_app.py <requests.jsonl> [<cert.pem> <key.pem>]`` (https with the pair).
Prints ``DUMMY_URL=<url>`` once listening. Batch jobs finish as soon as they are started (the
dummy's own stay "running" forever) and write a small ``output.tiff`` under
``$JUPYTER_EO_TEST_DUMMY_DIR/jobs``. Every request is appended to the JSONL file (method, path,
which kind of credentials it carried, never the credential; the body of sync ``/result``
requests) so tests can check what reached the backend.
"""
import io
import json
import os
import sys
import threading
from pathlib import Path

os.environ.setdefault("OPENEO_BACKEND_CONFIG", str(Path(__file__).with_name("dummy_config.py")))

from openeo_driver.backend import JOB_STATUS  # noqa: E402
from openeo_driver.dummy.dummy_backend import (  # noqa: E402
    DummyBackendImplementation, DummyBatchJobs)
from openeo_driver.views import build_app  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402


class _Recorder:
    """WSGI middleware writing one JSON line per request (never the credential itself)."""

    def __init__(self, app, path: Path) -> None:
        self.app, self.path, self.lock = app, path, threading.Lock()

    def __call__(self, environ, start_response):
        auth = environ.get("HTTP_AUTHORIZATION", "")
        kind = auth.split("/", 1)[0] if auth.startswith("Bearer ") else auth.split(" ", 1)[0]
        entry = {"method": environ.get("REQUEST_METHOD"), "path": environ.get("PATH_INFO"),
                 "query": environ.get("QUERY_STRING", ""), "auth": kind,
                 "user_agent": environ.get("HTTP_USER_AGENT", "")}
        if entry["method"] == "POST" and str(entry["path"]).endswith("/result"):
            size = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(size) if size else b""
            environ["wsgi.input"] = io.BytesIO(body)  # the app reads it again
            entry["body"] = body.decode("utf-8", "replace")
        with self.lock, open(self.path, "a") as log:
            log.write(json.dumps(entry) + "\n")
        return self.app(environ, start_response)


JOBS_DIR = Path(os.environ["JUPYTER_EO_TEST_DUMMY_DIR"]) / "jobs"
JOB_OUTPUT = b"II*\x00dummy job output"


class FinishingBatchJobs(DummyBatchJobs):
    """The dummy's batch jobs, finished at start with one real file as ``output.tiff``."""

    def start_job(self, job_id, user) -> None:
        out = JOBS_DIR / job_id
        out.mkdir(parents=True, exist_ok=True)
        (out / "output.tiff").write_bytes(JOB_OUTPUT)
        self._update_status(job_id=job_id, user_id=user.user_id, status=JOB_STATUS.FINISHED)

    def _output_root(self) -> str:
        return str(JOBS_DIR)


def main() -> None:
    implementation = DummyBackendImplementation()
    implementation.batch_jobs = FinishingBatchJobs()
    app = build_app(backend_implementation=implementation)
    tls = tuple(sys.argv[2:4]) if len(sys.argv) >= 4 else None  # (cert.pem, key.pem)
    server = make_server("127.0.0.1", 0, _Recorder(app, Path(sys.argv[1])), threaded=True,
                         ssl_context=tls)
    scheme = "https" if tls else "http"
    print(f"DUMMY_URL={scheme}://127.0.0.1:{server.server_port}/", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
