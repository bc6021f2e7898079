"""The engine and the process modules import in any order (no import cycle)."""
from __future__ import annotations

import pkgutil
import subprocess
import sys

import jupyter_eo.backend.engine as engine_pkg
import jupyter_eo.backend.processes as processes_pkg

SCRIPT = """
import importlib, sys
failures = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m.startswith("jupyter_eo")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
        if name == "jupyter_eo.backend.engine":
            from jupyter_eo.backend.engine import EvalContext, validate_process_graph
            graph = {"a": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}}
            assert validate_process_graph(graph, EvalContext()) == []
    except Exception as exc:
        failures.append(f"{name}: {type(exc).__name__}: {exc}")
print("\\n".join(failures))
sys.exit(1 if failures else 0)
"""


def _modules() -> list[str]:
    names = ["jupyter_eo.backend.engine", "jupyter_eo.backend.processes"]
    for pkg in (engine_pkg, processes_pkg):
        names += [f"{pkg.__name__}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__)]
    return names


def test_every_engine_and_process_module_imports_first_in_a_fresh_interpreter() -> None:
    modules = _modules()
    assert "jupyter_eo.backend.engine.evaluator" in modules and len(modules) > 20
    proc = subprocess.run([sys.executable, "-c", SCRIPT, *modules], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
