"""docs/connecting.md: its notebook block (skipped by the docs runner, which has no Jupyter
server) runs as written in a kernel-like child against the dummy backend configured as "cdse"."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.snippets import snippets
from tests.remote.flows import USER_CODE, approve_device
from tests.support.kernel_process import run_python

PAGE = Path(__file__).resolve().parents[2] / "docs" / "connecting.md"


@pytest.fixture
def eo_remote_config(dummy, tmp_path: Path) -> dict:  # type: ignore[no-untyped-def]
    """The page's configuration, with the dummy's well-known root standing in for CDSE's."""
    return {"backends": {"cdse": {"url": dummy.url, "title": "Copernicus Data Space Ecosystem",
                                  "auth": "oidc"}},
            "enable_local_backend": False,
            "credentials_dir": str(tmp_path / "credentials" / "me")}


def _kernel_block() -> str:
    [block] = [s for s in snippets(PAGE.name, PAGE.read_text())
               if s.skip_reason and "test_docs_connecting" in s.skip_reason]
    return block.code


async def test_cdse_example_code_runs_unchanged_in_a_kernel(
        api, dummy, oidc, kernel_env) -> None:  # type: ignore[no-untyped-def]
    code = _kernel_block()
    assert 'jupyter_eo.connect("cdse")' in code and "connection.authenticate_oidc()" in code
    # the last expression of a cell is shown in the notebook: print it here
    lines = code.rstrip().splitlines()
    lines[-1] = f"print('RESULT', {lines[-1]})"
    approved: list[str] = []

    def on_line(line: str) -> None:
        match = USER_CODE.search(line)
        if match:
            approve_device(oidc, match.group(1))
            approved.append(match.group(1))

    run = await run_python("\n".join(lines), env=kernel_env, on_line=on_line, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    assert len(approved) == 1
    assert "RESULT [" in run.stdout and "'S2_FOOBAR'" in run.stdout
    assert not list(Path(kernel_env["OPENEO_CONFIG_HOME"]).rglob("*"))
    assert dummy.requests()[-1]["auth"] == "Bearer oidc"
