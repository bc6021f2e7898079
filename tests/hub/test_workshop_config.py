"""The workshop helpers and the teacher's example jupyterhub_config.py, without starting a hub."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from jupyter_eo.hub import Workshop, configure_workshop, server_config
from jupyter_eo.hub.workshop import copy_notebooks

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "deploy" / "jupyterhub" / "jupyterhub_config.py"


def test_example_config_loads_and_keeps_the_secret_out_of_itself(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    secret_file = tmp_path / "eo-service-secret"
    secret_file.write_text("s3cr3t-from-root-only-file\n")
    monkeypatch.setenv("EO_WORKSHOP_STATE", str(tmp_path / "state"))
    monkeypatch.setenv("EO_SERVICE_SECRET_FILE", str(secret_file))
    config = PyFileConfigLoader(EXAMPLE.name, str(EXAMPLE.parent)).load_config()
    assert config.JupyterHub.spawner_class.endswith("LocalProcessSpawner")
    written = tmp_path / "state" / "jupyter-eo" / "jupyter_server_config.json"
    assert config.Spawner.environment["JUPYTER_CONFIG_PATH"] == str(written.parent)
    data = json.loads(written.read_text())
    assert data["ServerApp"]["jpserver_extensions"] == {"jupyter_eo": True}
    assert set(data["JupyterEOApp"]["backends"]) == {"cdse-own"}  # brokered ones are per user
    assert "s3cr3t" not in written.read_text() + EXAMPLE.read_text()
    assert stat.S_IMODE(written.stat().st_mode) == 0o644
    assert "--max-pixels" in data["JupyterEOApp"]["local_backend_args"]
    assert data["JupyterEOApp"]["local_backend_job_workers"] == 2
    accounts = tmp_path / "state" / "jupyter-eo" / "broker-accounts.json"
    assert json.loads(accounts.read_text())["cdse"]["client_secret"] == "s3cr3t-from-root-only-file"
    assert stat.S_IMODE(accounts.stat().st_mode) == 0o600
    (service,) = config.JupyterHub.services
    assert service["url"] == "http://127.0.0.1:8765"
    assert "jupyter_eo.hub.broker" in service["command"] and "s3cr3t" not in str(service)

    # what the pre-spawn hook does for one student (LocalProcessSpawner-like: no home_dir)
    class FakeSpawner:
        user = type("U", (), {"name": "student1"})()
        api_token = "hub-token-of-student1"
        environment = dict(config.Spawner.environment)

    spawner = FakeSpawner()
    (tmp_path / "home").mkdir()
    monkeypatch.setattr("jupyter_eo.hub.workshop.user_home", lambda _s: tmp_path / "home")
    monkeypatch.setattr("jupyter_eo.hub.workshop.copy_notebooks", lambda *a: [])
    config.Spawner.pre_spawn_hook(spawner)
    own = tmp_path / "state" / "jupyter-eo" / "users" / "student1" / "jupyter_server_config.json"
    assert spawner.environment["JUPYTER_CONFIG_PATH"] == str(own.parent)
    cdse = json.loads(own.read_text())["JupyterEOApp"]["backends"]["cdse"]
    assert cdse["oidc_client_secret"] == "hub-token-of-student1"
    assert cdse["oidc_issuer"] == "http://127.0.0.1:8765/cdse"
    assert stat.S_IMODE(own.stat().st_mode) == 0o600


def test_server_config_is_private_by_default_and_validated(tmp_path: Path) -> None:
    c = Config()
    c.Spawner.environment = {"JUPYTER_CONFIG_PATH": "/opt/site-config"}
    path = configure_workshop(c, Workshop(config_dir=str(tmp_path), max_concurrent_requests=3))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert c.Spawner.environment["JUPYTER_CONFIG_PATH"] == os.pathsep.join(
        [str(tmp_path), "/opt/site-config"])
    assert json.loads(path.read_text())["JupyterEOApp"] == {"proxy_max_concurrent": 3}
    jobs = server_config(Workshop(config_dir=str(tmp_path), max_concurrent_jobs=4))
    assert jobs["JupyterEOApp"] == {"local_backend_job_workers": 4}
    for bad in (33, -1, 1.5):
        with pytest.raises(ValueError, match="max_concurrent_jobs must be an integer from 1 to 32"):
            server_config(Workshop(config_dir=str(tmp_path), max_concurrent_jobs=bad))
    with pytest.raises(ValueError, match="client_credentials needs"):
        server_config(Workshop(config_dir=str(tmp_path), backends={
            "svc": {"url": "https://example.org/openeo/", "auth": "client_credentials"}}))


def test_notebooks_are_copied_without_overwriting_student_work(tmp_path: Path) -> None:
    source = tmp_path / "workshop"
    (source / "data").mkdir(parents=True)
    (source / "intro.ipynb").write_text("teacher v2")
    (source / "data" / "aoi.geojson").write_text("{}")
    home = tmp_path / "home" / "student"
    home.mkdir(parents=True)
    (home / "intro.ipynb").write_text("student's edits")
    copied = copy_notebooks(source, home)
    assert copied == [home / "data" / "aoi.geojson"]
    assert (home / "intro.ipynb").read_text() == "student's edits"
