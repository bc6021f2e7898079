"""Golden tests: representative graphs -> reviewed Python code, which rebuilds the graph."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from jupyter_eo.graph.codegen import to_python
from jupyter_eo.graph.model import canonical, unwrap

from .fake_connection import run_code
from .recipes import GOLDEN, RECIPES

NAMES = sorted(RECIPES)


def load(name: str) -> tuple[dict, dict]:
    data = json.loads((GOLDEN / f"{name}.json").read_text())
    return data["graph"], data["options"]


def test_enough_golden_cases() -> None:
    assert len(NAMES) >= 20
    assert {p.stem for p in GOLDEN.glob("*.py")} == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_code_matches_golden(name: str) -> None:
    document, options = load(name)
    expected = (GOLDEN / f"{name}.py").read_text()
    assert to_python(document, **options) == expected


@pytest.mark.parametrize("name", NAMES)
def test_recipe_still_builds_golden_graph(name: str) -> None:
    document, options = RECIPES[name]()
    stored, stored_options = load(name)
    assert canonical(unwrap(document)[0]) == canonical(unwrap(stored)[0])
    assert options == stored_options


@pytest.mark.parametrize("name", NAMES)
def test_golden_code_rebuilds_graph(name: str) -> None:
    document, options = load(name)
    code = (GOLDEN / f"{name}.py").read_text()
    if options.get("flavour") == "portable":
        code = code.replace("import openeo\n", "", 1)
        code = code.replace('connection = openeo.connect("https://openeo.dataspace.copernicus.eu")'
                            '.authenticate_oidc()', 'connection = jupyter_eo.connect("local")')
        code = "import jupyter_eo\n" + code
    cube, namespace = run_code(code)
    assert canonical(cube.flat_graph()) == canonical(unwrap(document)[0])
    if options.get("udp_id"):
        saved = namespace["connection"].saved[options["udp_id"]]
        assert canonical(saved["process_graph"]) == canonical(unwrap(document)[0])
        assert [p["name"] for p in saved["parameters"]] == [p["name"] for p in document["parameters"]]
        assert saved["parameters"][2]["default"] == 1 and saved["parameters"][2]["optional"] is True


@pytest.mark.parametrize("name", NAMES)
def test_golden_code_has_no_unused_names(name: str) -> None:
    code = (GOLDEN / f"{name}.py").read_text()
    tree = ast.parse(code)
    assigned = {t.id for node in ast.walk(tree) if isinstance(node, ast.Assign) for t in node.targets
                if isinstance(t, ast.Name)}
    assigned |= {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    imported = {alias.asname or alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    unused = (assigned | imported) - used - {"cube"}
    assert not unused, f"unused names in {name}: {unused}"
    assert all(len(line) <= 100 for line in code.splitlines() if '"""' not in line)


def test_golden_files_are_reviewed_text() -> None:
    paths = sorted(Path(GOLDEN).glob("*.py"))
    assert paths, f"no golden Python files in {GOLDEN}"
    for path in paths:
        compile(path.read_text(), str(path), "exec")
