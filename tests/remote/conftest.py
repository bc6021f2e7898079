"""Session fixtures for end-to-end tests against openeo-driver's dummy backend: the backend as a
real subprocess (its own venv, ``make dummy-backend``), a loopback OIDC provider it trusts, and
per test a real Jupyter server with jupyter_eo configured for that backend."""
from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.support.forward_proxy import ForwardProxy, forward_proxy
from tests.support.jupyter_api import eo_api, eo_server_config
from tests.support.oidc_provider import SERVICE_CLIENT, LoopbackOidc
from tests.support.processes import stop_process

HERE = Path(__file__).parent
REPO = HERE.parent.parent
DUMMY_PYTHON = Path(os.environ.get("JUPYTER_EO_DUMMY_PYTHON")
                    or REPO / ".dummy-backend" / "bin" / "python")
START_TIMEOUT_S = 90.0


@dataclass
class DummyBackend:
    """The running dummy: its well-known root, its 1.2 API root, and the requests it saw."""

    url: str
    api_url: str
    log_path: Path
    jobs_dir: Path

    def requests(self) -> list[dict[str, Any]]:
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line]


@pytest.fixture(scope="session")
def oidc() -> Iterator[LoopbackOidc]:
    with LoopbackOidc() as provider:
        yield provider


def _start_dummy(oidc: LoopbackOidc, work: Path, tls: tuple[str, str] | None = None
                 ) -> tuple[subprocess.Popen, DummyBackend]:
    """Start the dummy (over TLS with ``tls=(cert, key)``) and wait for its URL."""
    log_path, out_path = work / "requests.jsonl", work / "server.log"
    # the dummy reaches the OIDC provider directly, whichever test's egress proxy is set now
    env = {k: v for k, v in os.environ.items() if k.lower() not in (
        "http_proxy", "https_proxy", "all_proxy", "no_proxy")}
    env = {**env, "OPENEO_BACKEND_CONFIG": str(HERE / "dummy_config.py"),
           "JUPYTER_EO_TEST_OIDC_ISSUER": oidc.issuer, "JUPYTER_EO_TEST_DUMMY_DIR": str(work),
           "HOME": str(work), "OPENEO_CONFIG_HOME": str(work / "openeo-config"),
           "PYTHONPATH": ""}
    with open(out_path, "wb") as out:
        proc = subprocess.Popen([str(DUMMY_PYTHON), str(HERE / "dummy_app.py"), str(log_path),
                                 *(tls or ())],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, cwd=work, start_new_session=True)
    url = None
    deadline = time.monotonic() + START_TIMEOUT_S
    while url is None:
        for line in out_path.read_text("utf-8", "replace").splitlines():
            if line.startswith("DUMMY_URL="):
                url = line.split("=", 1)[1]
        if url is None:
            if proc.poll() is not None or time.monotonic() > deadline:
                stop_process(proc)
                pytest.fail("the dummy backend did not start:\n"
                            + out_path.read_text("utf-8", "replace")[-3000:])
            time.sleep(0.1)
    return proc, DummyBackend(url=url, api_url=url + "openeo/1.2/", log_path=log_path,
                              jobs_dir=work / "jobs")


def _require_dummy_venv() -> None:
    if not DUMMY_PYTHON.exists():
        pytest.fail(f"openeo-driver's dummy backend is not installed ({DUMMY_PYTHON} missing): "
                    "run `make dummy-backend` (part of `make test`)")


@pytest.fixture(scope="session")
def dummy(oidc: LoopbackOidc, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DummyBackend]:
    _require_dummy_venv()
    proc, backend = _start_dummy(oidc, tmp_path_factory.mktemp("dummy-backend"))
    try:
        yield backend
    finally:
        stop_process(proc)


def self_signed_loopback_cert(folder: Path) -> tuple[str, str]:
    """(cert.pem, key.pem) of a one-hour certificate for IP 127.0.0.1 (its own issuer)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jupyter-eo test dummy")])
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "dummy-cert.pem", folder / "dummy-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


@pytest.fixture(scope="session")
def dummy_tls(oidc: LoopbackOidc, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[DummyBackend]:
    """A second dummy, served over https with a self-signed loopback certificate that this
    test process trusts (added to tornado's default client context, as an administrator adds
    a CA to the system's bundle); the Jupyter server reaches it as it would reach CDSE."""
    _require_dummy_venv()
    import tornado.netutil

    work = tmp_path_factory.mktemp("dummy-backend-tls")
    cert, key = self_signed_loopback_cert(work)
    tornado.netutil._client_ssl_defaults().load_verify_locations(cert)
    proc, backend = _start_dummy(oidc, work, tls=(cert, key))
    try:
        yield backend
    finally:
        stop_process(proc)


@pytest.fixture
def egress(monkeypatch: pytest.MonkeyPatch) -> Iterator[ForwardProxy]:
    """A loopback forward proxy in the server's environment (set before the server starts)."""
    with forward_proxy() as proxy:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
            monkeypatch.setenv(name, proxy.url)
        for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        yield proxy


@pytest.fixture
def eo_remote_config(dummy: DummyBackend, oidc: LoopbackOidc, tmp_path: Path) -> dict:
    """jupyter_eo with the dummy four times: basic (API root and well-known root), OIDC device
    flow, client credentials."""
    return {
        "backends": {
            "dummy": {"url": dummy.api_url, "title": "Dummy (basic)", "auth": "basic"},
            "dummy-root": {"url": dummy.url, "title": "Dummy (well-known root)", "auth": "basic"},
            "dummy-oidc": {"url": dummy.api_url, "title": "Dummy (OIDC)", "auth": "oidc"},
            "dummy-svc": {"url": dummy.api_url, "title": "Dummy (service account)",
                          "auth": "client_credentials", "oidc_provider_id": "loop",
                          "oidc_issuer": oidc.issuer, "oidc_client_id": SERVICE_CLIENT,
                          "oidc_client_secret": oidc.state.service_secret},
        },
        "enable_local_backend": False,
        "credentials_dir": str(tmp_path / "credentials" / "me"),
    }


@pytest.fixture
def jp_server_config(eo_remote_config: dict) -> dict:
    return eo_server_config(eo_remote_config)


@pytest.fixture
def api(jp_serverapp, http_server, jp_http_port, jp_base_url, jp_auth_header):  # type: ignore[no-untyped-def]
    """``await api(path, method, body)`` against ``{base_url}jupyter-eo/`` as the lab user."""
    return eo_api(jp_http_port, jp_base_url, jp_auth_header, follow_redirects=False,
                  request_timeout=60)


@pytest.fixture
def kernel_env(jp_serverapp, http_server, tmp_path: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A kernel's environment: the server's channel (inherited) and an empty openeo config."""
    home = tmp_path / "kernel-openeo-config"
    home.mkdir()
    return {"OPENEO_CONFIG_HOME": str(home), "OPENEO_AUTH_CONFIG_HOME": str(home)}
