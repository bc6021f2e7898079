"""The docs site builds with mkdocs --strict without warnings, and every Python snippet runs."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from tests.docs.snippets import snippets

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
sys.path.insert(0, str(DOCS))
import gen_config_reference  # noqa: E402  (docs/ is not a package)

PAGES = sorted(p.name for p in DOCS.glob("*.md"))
MAX_SKIPPED = 3


def _all_pages() -> dict[str, str]:
    pages = {name: (DOCS / name).read_text() for name in PAGES}
    pages[gen_config_reference.PAGE] = gen_config_reference.render()
    return pages


def test_site_builds_strict_without_warnings(tmp_path: Path) -> None:
    site = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f",
                           str(REPO / "mkdocs.yml"), "-d", str(site)],
                          capture_output=True, text=True, cwd=REPO, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "WARNING" not in output, output
    reference = (site / "configuration" / "index.html").read_text()
    from jupyter_eo.server.app import JupyterEOApp

    for name in JupyterEOApp.class_own_traits(config=True):
        assert f"JupyterEOApp.{name}=" in reference, name
    for page in ("user-guide", "workshop", "security", "architecture", "troubleshooting",
                 "install", "data", "udf", "serve", "cli", "api"):
        assert (site / page / "index.html").is_file()
    api = (site / "api" / "index.html").read_text()  # rendered from the docstrings
    for name in ("jupyter_eo.connection.connect", "jupyter_eo.connection.stop_standalone",
                 "jupyter_eo.widgets.explorer.Explorer", "jupyter_eo.widgets.export.code_for"):
        assert f'id="{name}"' in api, name
    assert "Outside Jupyter only" in api  # a sentence of connect's docstring
    assert not list(site.rglob("*.py")), "docs scripts must not be published"


def test_config_reference_is_generated_from_the_traitlets() -> None:
    from jupyter_eo.server.app import JupyterEOApp

    text = gen_config_reference.render()
    traits = JupyterEOApp.class_own_traits(config=True)
    assert f"{len(traits)} settings." in text
    for name, trait in traits.items():
        assert f"## `{name}`" in text
        assert " ".join(trait.help.split())[:60] in text


def test_few_snippets_are_skipped_and_each_says_why() -> None:
    everything = [s for name, text in _all_pages().items() for s in snippets(name, text)]
    skipped = [s for s in everything if s.skip_reason]
    assert len(everything) >= 12
    assert len(skipped) <= MAX_SKIPPED, [(s.page, s.line) for s in skipped]
    assert all(len(s.skip_reason) > 10 for s in skipped)


@pytest.fixture(scope="module")
def eo_cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The embedded backend's chunk cache, shared by the pages (never the user's ~/.cache)."""
    return os.environ.get("JUPYTER_EO_CACHE_DIR") or str(tmp_path_factory.mktemp("eo-cache"))


@pytest.mark.parametrize("page", sorted(_all_pages()))
def test_page_snippets_run(page: str, tmp_path: Path, eo_cache: str) -> None:
    runnable = [asdict(s) for s in snippets(page, _all_pages()[page]) if not s.skip_reason]
    if not runnable:
        pytest.skip(f"{page} has no runnable Python snippet")
    items = tmp_path / "snippets.json"
    items.write_text(json.dumps(runnable))
    env = {k: v for k, v in os.environ.items()
           if k not in ("JUPYTER_EO_SERVER_URL", "JUPYTER_EO_KERNEL_SECRET")}
    env.update({"PYTHONPATH": str(REPO), "JUPYTER_DATA_DIR": str(tmp_path / "data"),
                "OPENEO_CONFIG_HOME": str(tmp_path / "openeo"), "MPLCONFIGDIR": str(tmp_path / "mpl"),
                "TMPDIR": str(tmp_path), "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
                "JUPYTER_EO_CACHE_DIR": eo_cache})
    proc = subprocess.run([sys.executable, "-m", "tests.docs.snippets", str(items)],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=240)
    assert proc.returncode == 0, proc.stderr[-4000:] + proc.stdout[-2000:]


def test_the_runner_fails_on_a_broken_snippet(tmp_path: Path) -> None:
    page = "# t\n\n```python\nx = 1\n```\n\n<!-- snippet: skip (shown only, needs a hub) -->\n" \
           "```python\nraise SystemExit(3)\n```\n\n```python\nassert x == 2, 'x is 1'\n```\n"
    found = snippets("t.md", page)
    assert [bool(s.skip_reason) for s in found] == [False, True, False]
    items = tmp_path / "snippets.json"
    items.write_text(json.dumps([asdict(s) for s in found if not s.skip_reason]))
    proc = subprocess.run([sys.executable, "-m", "tests.docs.snippets", str(items)],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 1
    assert "t.md line 12" in proc.stderr and "x is 1" in proc.stderr
