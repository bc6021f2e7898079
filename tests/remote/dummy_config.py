"""openeo-driver configuration of the dummy backend used by tests/remote (loaded by
openeo-driver through ``OPENEO_BACKEND_CONFIG``): basic auth users of the dummy, and one OIDC
provider, the loopback provider whose issuer the test session passes in the environment."""
import os
from pathlib import Path

from openeo_driver.config import OpenEoBackendConfig
from openeo_driver.users.oidc import OidcProvider
from openeo_driver.workspace import DiskWorkspace

ISSUER = os.environ["JUPYTER_EO_TEST_OIDC_ISSUER"]
WORKDIR = Path(os.environ["JUPYTER_EO_TEST_DUMMY_DIR"])
USERS = {"alice": "alice123", "bob": "BOB!!!"}


def _valid_basic_auth(username: str, password: str) -> bool:
    return USERS.get(username) == password


config = OpenEoBackendConfig(
    id="jupyter-eo-tests-dummy",
    capabilities_title="openeo-driver dummy backend (jupyter_eo tests)",
    capabilities_backend_version="1.2.3-test",
    capabilities_deploy_metadata={},
    processing_facility="Dummy openEO API",
    oidc_providers=[OidcProvider(
        id="loop", issuer=ISSUER, scopes=["openid"], title="Loopback OIDC",
        default_clients=[{"id": "jupyter-eo-device", "grant_types": [
            "urn:ietf:params:oauth:grant-type:device_code+pkce", "refresh_token"]}])],
    enable_basic_auth=True,
    valid_basic_auth=_valid_basic_auth,
    workspaces={"tmp": DiskWorkspace(root_directory=WORKDIR)},
)
