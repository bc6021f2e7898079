"""Example JupyterHub configuration for a jupyter_eo workshop (one machine, students as Linux users).

Start it as root on the workshop machine:  jupyterhub -f deploy/jupyterhub/jupyterhub_config.py
Everything marked EDIT is the teacher's choice. See docs/workshop.md for the walk-through.
"""
import os
from pathlib import Path

from jupyter_eo.hub import Workshop, configure_workshop

c = get_config()  # noqa: F821 - provided by JupyterHub when it loads this file

HERE = Path(__file__).resolve().parent
STATE = Path(os.environ.get("EO_WORKSHOP_STATE", "/srv/jupyterhub"))  # EDIT: hub state dir

# -- who may log in ------------------------------------------------------------------------------
# Students log in with their Linux account (PAM, the JupyterHub default). EDIT the list.
c.Authenticator.allowed_users = set(os.environ.get("EO_WORKSHOP_USERS", "student1 student2").split())
c.Authenticator.admin_users = {os.environ.get("EO_WORKSHOP_TEACHER", "teacher")}

# -- where the hub listens and keeps its state -------------------------------------------------
c.JupyterHub.bind_url = os.environ.get("EO_WORKSHOP_URL", "http://127.0.0.1:8000")  # EDIT (TLS!)
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")

# -- one server per student, running as that student's Linux user -----------------------------
c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
c.Spawner.default_url = "/lab/tree/quickstart.ipynb"
c.Spawner.mem_limit = "4G"  # advisory for LocalProcessSpawner; enforced by container spawners

# -- jupyter_eo for everybody -------------------------------------------------------------------
# The service account's secret comes from a root-only file, never from this (shareable) file.
# It is given to the token broker (a JupyterHub service run by the hub as root) only; students'
# servers get short-lived access tokens from the broker with their own hub token.
secret_file = Path(os.environ.get("EO_SERVICE_SECRET_FILE", STATE / "eo-service-secret"))
brokered = {}
if secret_file.exists():
    brokered["cdse"] = {  # EDIT: the remote backend everybody uses through the teacher's account
        "url": "https://openeo.dataspace.copernicus.eu/openeo/1.2/",
        "title": "Copernicus Data Space (workshop account)",
        "oidc_provider_id": "CDSE",
        "oidc_issuer": "https://identity.dataspace.copernicus.eu/auth/realms/CDSE",
        "oidc_client_id": os.environ.get("EO_SERVICE_CLIENT_ID", "sh-workshop-client"),
        "oidc_client_secret": secret_file.read_text().strip(),
    }
backends = {
    "cdse-own": {  # students who have their own account log in from the sidebar
        "url": "https://openeo.dataspace.copernicus.eu/openeo/1.2/",
        "title": "Copernicus Data Space (own login)",
        "auth": "oidc",
    },
}

configure_workshop(c, Workshop(  # call it last: it extends c.Spawner and c.JupyterHub.services
    config_dir=str(STATE / "jupyter-eo"),  # generated configs and the broker's accounts file
    backends=backends,
    brokered=brokered,
    broker_port=int(os.environ.get("EO_BROKER_PORT", "8765")),  # loopback port of the broker
    notebooks_dir=os.environ.get("EO_WORKSHOP_NOTEBOOKS", str(HERE.parents[1] / "notebooks")),
    max_preview_pixels=20_000_000,  # per synchronous request / preview of the embedded backend
    max_concurrent_requests=4,  # proxied requests in flight per student and backend
    max_concurrent_jobs=2,  # batch jobs running at once per student (1..32); more wait queued
    # Servers run as the students' users: the shared part of the config must be readable by
    # them. It holds no secret; each student's own file (with their hub token) is 0600 and theirs.
    file_mode=0o644,
))
