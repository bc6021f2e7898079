"""Workshop on a real JupyterHub: per-user extension, login and data isolation, concurrent
notebooks, and a teacher's shared client-credentials secret that never leaks."""
from __future__ import annotations

import asyncio
import hashlib
import json
import time
from pathlib import Path

import nbformat
import pytest

from tests.hub.conftest import USERS, Hub
from tests.hub.kernel_ws import CellResult, RemoteKernel

PROXY = "jupyter-eo/openeo/"
GRAPH = {"add1": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}}


def test_each_user_server_runs_the_extension(hub: Hub) -> None:
    for user in USERS:
        response = hub.request("GET", f"user/{user}/jupyter-eo/api/status", user)
        assert response.status_code == 200, response.text
        status = response.json()
        assert status["name"] == "jupyter_eo"
        assert {b["id"] for b in status["backends"]} == {"local", "fakeoidc", "shared"}
        # preloaded workshop notebook in the user's own home
        assert (hub.home(user) / "quickstart.ipynb").is_file()
        listing = hub.request("GET", f"user/{user}/api/contents", user).json()
        assert "quickstart.ipynb" in {item["name"] for item in listing["content"]}


@pytest.mark.parametrize("path", ["jupyter-eo/api/status", "jupyter-eo/api/backends",
                                  PROXY + "local/jobs", PROXY + "fakeoidc/me", "api/contents",
                                  "api/kernels"])
def test_another_users_server_refuses_bob(hub: Hub, path: str) -> None:
    response = hub.request("GET", f"user/alice/{path}", "bob")
    assert response.status_code == 403, (response.status_code, response.text[:300])


def _login_alice(hub: Hub) -> None:
    response = hub.request("POST", "user/alice/jupyter-eo/api/backends/fakeoidc/login", "alice",
                           json={})
    assert response.status_code == 202, response.text
    assert response.json()["state"] == "pending"
    hub.fakes.call(hub.fakes.oidc.approve_all)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        state = hub.request("GET", "user/alice/jupyter-eo/api/backends/fakeoidc/login",
                            "alice").json()["state"]
        if state == "ready":
            return
        time.sleep(0.2)
    raise AssertionError(f"alice's login stayed {state}")


def test_alice_oidc_login_never_reaches_bobs_requests(hub: Hub) -> None:
    upstream = hub.fakes.upstreams[0]
    _login_alice(hub)
    response = hub.request("GET", f"user/alice/{PROXY}fakeoidc/me?who=alice", "alice")
    assert response.status_code == 200, response.text
    alice_hits = [h for h in upstream.hits if h.path == "/me" and h.query == "who=alice"]
    alice_auth = {h.headers.get("Authorization", "") for h in alice_hits}
    assert alice_auth and all(a.startswith("Bearer oidc/fake/acc-") for a in alice_auth)
    alice_tokens = {a.rsplit("/", 1)[1] for a in alice_auth}

    for _ in range(2):
        response = hub.request("GET", f"user/bob/{PROXY}fakeoidc/me?who=bob", "bob")
        assert response.status_code == 401, response.text  # bob is not logged in
    bob_hits = [h for h in upstream.hits if h.query == "who=bob"]
    assert len(bob_hits) == 2
    for hit in bob_hits:
        header = hit.headers.get("Authorization", "")
        assert not any(token in header for token in alice_tokens)
        assert not any(token in json.dumps(hit.headers) for token in alice_tokens)
    view = hub.request("GET", "user/bob/jupyter-eo/api/backends/fakeoidc/login", "bob").json()
    assert view["state"] == "logged_out"
    # refresh tokens live in alice's store only
    alice_store = list(hub.home("alice").rglob("credentials/*/fakeoidc.json"))
    assert len(alice_store) == 1
    assert not list(hub.home("bob").rglob("fakeoidc.json"))
    assert not list(hub.home("carol").rglob("fakeoidc.json"))


def test_doctor_in_a_students_kernel_sees_the_workshop(hub: Hub) -> None:
    """`jupyter-eo doctor` run by alice inside her server (as from a terminal of it)."""
    view = hub.request("GET", "user/alice/jupyter-eo/api/backends/fakeoidc/login", "alice")
    if view.json()["state"] != "ready":
        _login_alice(hub)
    code = ("import subprocess, sys\n"
            "out = subprocess.run([sys.executable, '-m', 'jupyter_eo.cli', 'doctor', '--json', "
            "'--no-start'], capture_output=True, text=True, timeout=120)\n"
            "print(out.stdout)")

    async def run() -> CellResult:
        kernel = RemoteKernel(f"{hub.url}user/alice/", hub.tokens["alice"])
        await kernel.start()
        try:
            return await kernel.execute(code)
        finally:
            await kernel.shutdown()

    result = asyncio.run(run())
    assert not result.error, result.error
    findings = {f["check"]: f for f in json.loads(result.text)["findings"]}
    assert findings["server extension"]["status"] == "ok"
    assert findings["base_url"]["message"].startswith("/user/alice/ from JUPYTERHUB_SERVICE_PREFIX")
    assert findings["running server"]["status"] == "ok"
    assert "local, fakeoidc, shared" in findings["running server"]["message"]
    assert findings["backend shared"]["status"] == "ok"
    assert findings["login shared"]["status"] == "ok"  # the service account works
    assert findings["login fakeoidc"]["status"] == "ok"  # her stored refresh token works
    assert hub.secret not in result.text


def test_bob_cannot_see_alices_jobs_udps_or_files(hub: Hub) -> None:
    base = f"{PROXY}local/"
    put = hub.request("PUT", f"user/alice/{base}process_graphs/alice_udp", "alice",
                      json={"process_graph": GRAPH})
    assert put.status_code in (200, 201, 204), put.text
    upload = hub.request("PUT", f"user/alice/{base}files/alice-notes.txt", "alice",
                         data=b"alice's private notes",
                         headers={"Content-Type": "application/octet-stream"})
    assert upload.status_code in (200, 201, 204), upload.text
    created = hub.request("POST", f"user/alice/{base}jobs", "alice",
                          json={"title": "alice job", "process": {"process_graph": GRAPH}})
    assert created.status_code == 201, created.text
    job_id = created.headers["OpenEO-Identifier"]
    assert f"/user/alice/{base}jobs/{job_id}" in created.headers["Location"]

    # positive control: alice sees her things
    assert "alice_udp" in hub.request("GET", f"user/alice/{base}process_graphs", "alice").text
    assert "alice-notes.txt" in hub.request("GET", f"user/alice/{base}files", "alice").text
    assert job_id in hub.request("GET", f"user/alice/{base}jobs", "alice").text

    for user in ("bob", "carol"):
        udps = hub.request("GET", f"user/{user}/{base}process_graphs", user)
        files = hub.request("GET", f"user/{user}/{base}files", user)
        jobs = hub.request("GET", f"user/{user}/{base}jobs", user)
        assert udps.status_code == files.status_code == jobs.status_code == 200
        assert "alice_udp" not in udps.text
        assert "alice-notes.txt" not in files.text
        assert job_id not in jobs.text
        assert hub.request("GET", f"user/{user}/{base}jobs/{job_id}", user).status_code == 404
        assert hub.request("GET", f"user/{user}/{base}process_graphs/alice_udp",
                           user).status_code == 404
        assert hub.request("GET", f"user/{user}/{base}files/alice-notes.txt",
                           user).status_code == 404
        # and not through alice's server either
        assert hub.request("GET", f"user/alice/{base}jobs/{job_id}", user).status_code in (403, 404)
    assert not list(hub.home("bob").rglob("alice-notes.txt"))


EXTRA_CELLS = [
    # the embedded backend of this user, through this user's proxy
    "import jupyter_eo\nlocal = jupyter_eo.connect('local')\n"
    "print('collections:', sorted(local.list_collection_ids()))\n"
    "print('sum:', local.execute({'add1': {'process_id': 'add', "
    "'arguments': {'x': 40, 'y': 2}, 'result': True}}))",
    # the teacher's shared service account: works, yet the kernel holds no secret
    "shared = jupyter_eo.connect('shared')\nprint('account:', shared.describe_account())",
    # digests of every environment value (the test compares them with the secret's digest)
    "import hashlib, os\nprint('env digests:', sorted(hashlib.sha256(v.encode()).hexdigest() "
    "for v in os.environ.values()))\n"
    "print('config path:', os.environ['JUPYTER_CONFIG_PATH'])",
    # widget state built from the shared backend's answers
    "from jupyter_eo.widgets import CollectionPicker\n"
    "CollectionPicker([{'id': 'via-shared', 'title': str(shared.describe_account())}])",
]


async def _run_notebook(hub: Hub, user: str) -> tuple[list[CellResult], RemoteKernel, dict]:
    contents = hub.request("GET", f"user/{user}/api/contents/quickstart.ipynb", user).json()
    nb = nbformat.from_dict(contents["content"])
    kernel = RemoteKernel(f"{hub.url}user/{user}/", hub.tokens[user])
    await kernel.start()
    results = []
    try:
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            result = await kernel.execute(cell.source)
            cell.outputs = [nbformat.from_dict(o) for o in result.outputs]
            results.append(result)
        for code in EXTRA_CELLS:
            result = await kernel.execute(code)
            nb.cells.append(nbformat.v4.new_code_cell(
                code, outputs=[nbformat.from_dict(o) for o in result.outputs]))
            results.append(result)
    finally:
        await kernel.shutdown()
    return results, kernel, nb


def test_quickstart_runs_concurrently_and_the_shared_secret_never_leaks(hub: Hub) -> None:
    async def run_all() -> list[tuple[list[CellResult], RemoteKernel, dict]]:
        return await asyncio.gather(*(_run_notebook(hub, user) for user in USERS))

    started = time.monotonic()
    runs = asyncio.run(run_all())
    elapsed = time.monotonic() - started
    kernel_messages = []
    for user, (results, kernel, nb) in zip(USERS, runs):
        errors = [r.error for r in results if r.error]
        assert not errors, (user, errors)
        text = "\n".join(r.text for r in results)
        assert "jupyter_eo" in text and f"/user/{user}/" in text  # server url under the hub
        assert "collections: [" in text and "SENTINEL2_L2A" in text
        assert "sum: 42" in text
        assert "account: {'user_id': 'alice'}" in text  # the fake answers for any valid token
        assert "JupyterEOApp" not in text
        kernel_messages.append(json.dumps(kernel.messages))
        saved = hub.request("PUT", f"user/{user}/api/contents/quickstart-run.ipynb", user,
                            json={"type": "notebook", "content": nb})
        assert saved.status_code in (200, 201), saved.text
        opened = [m["content"]["data"].get("state", {}) for m in kernel.messages
                  if m["header"]["msg_type"] == "comm_open"]
        assert any("via-shared" in json.dumps(state) for state in opened), "no widget state"
        digest = hashlib.sha256(hub.secret.encode()).hexdigest()
        assert "env digests: [" in text and digest not in text  # not in the kernel's environment
        # the config the student's server reads is the student's own, without the secret
        assert f"config path: {hub.root / 'workshop-config' / 'users' / user}" in text
    assert elapsed < 150

    # the service account really was used, by every student, for the shared backend only
    shared_hits = [h for h in hub.fakes.upstreams[1].hits if h.path == "/me"]
    assert len(shared_hits) >= 2 * len(USERS)
    assert all(h.headers.get("Authorization", "").startswith("Bearer oidc/fake/acc-")
               for h in shared_hits)

    secret = hub.secret
    assert "client_credentials" in hub.fakes.oidc.grants
    notebooks = [p.read_text(errors="replace") for p in hub.root.glob("home/*/*.ipynb")]
    assert len(notebooks) >= 2 * len(USERS)
    backend_logs = list(hub.root.glob("home/*/**/backend.log"))
    assert len(backend_logs) == len(USERS)  # one embedded backend per user, each its own dir
    places = {
        "notebook": "\n".join(notebooks),
        "widget state and kernel output": "\n".join(kernel_messages),
        "log": hub.log.read_text(errors="replace") + "".join(
            p.read_text(errors="replace") for p in hub.root.glob("home/*/**/backend.log")),
        "HTTP response": "\n".join(hub.responses),
    }
    for where, text in places.items():
        assert text, where
        assert secret not in text, f"the shared secret appears in a {where}"
    # nothing a student's server reads holds the secret: only the broker's own file does
    for user in USERS:
        config = hub.root / "workshop-config" / "users" / user / "jupyter_server_config.json"
        assert oct(config.stat().st_mode & 0o777) == "0o600"
        entry = json.loads(config.read_text())["JupyterEOApp"]["backends"]["shared"]
        assert entry["oidc_issuer"].startswith("http://127.0.0.1:")  # the broker
        assert secret not in config.read_text()
        assert not [p for p in hub.home(user).rglob("*") if p.is_file()
                    and secret in p.read_text(errors="replace")]
    assert secret not in (hub.root / "workshop-config" / "jupyter_server_config.json").read_text()
    accounts = hub.root / "workshop-config" / "broker-accounts.json"
    assert secret in accounts.read_text() and oct(accounts.stat().st_mode & 0o777) == "0o600"
    log = hub.log.read_text(errors="replace")
    for user in USERS:  # each student's server got its access token from the broker
        assert f"access token for shared issued to {user}" in log


def test_broker_refuses_tokens_the_hub_does_not_know(hub: Hub) -> None:
    import requests

    config = json.loads((hub.root / "workshop-config" / "users" / "bob"
                         / "jupyter_server_config.json").read_text())
    issuer = config["JupyterEOApp"]["backends"]["shared"]["oidc_issuer"]
    bogus = requests.post(issuer + "/token", timeout=30, data={
        "grant_type": "client_credentials", "client_id": "jupyterhub", "client_secret": "guess"})
    assert bogus.status_code == 401 and bogus.json() == {"error": "invalid_client"}
    good = requests.post(issuer + "/token", timeout=30, data={
        "grant_type": "client_credentials", "client_id": "jupyterhub",
        "client_secret": hub.tokens["bob"]})
    assert good.status_code == 200 and good.json()["access_token"].startswith("acc-")
    assert hub.secret not in bogus.text + good.text


def test_teachers_preview_limit_reaches_every_students_backend(hub: Hub) -> None:
    graph = {"load": {"process_id": "load_collection", "arguments": {
                 "id": "SENTINEL2_L2A", "bands": ["B04"],
                 "spatial_extent": {"west": 10.0, "south": 46.0, "east": 11.0, "north": 47.0},
                 "temporal_extent": ["2023-06-01", "2023-07-01"]}},
             "save": {"process_id": "save_result", "result": True,
                      "arguments": {"data": {"from_node": "load"}, "format": "GTiff"}}}
    for user in USERS:
        response = hub.request("POST", f"user/{user}/{PROXY}local/result", user,
                               json={"process": {"process_graph": graph}})
        assert response.status_code == 413, response.text[:300]
        assert response.json()["code"] == "PayloadTooLarge"
        assert "limit of 5,000,000" in response.json()["message"]  # Workshop.max_preview_pixels
