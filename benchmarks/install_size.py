"""Installed size of ``pip install jupyter_eo`` in a fresh venv: total, per package, and why each is there.

Run: ``.venv/bin/python -m benchmarks.install_size`` (builds the wheel of this checkout with the
dev venv's build tools, creates a temporary venv, installs the wheel from the package index and
measures it; 2-5 minutes). ``--wheel PATH`` measures a given wheel; ``--keep DIR`` keeps the venv.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Run inside the measured venv: size of every distribution (from its RECORD) and why it is
# there: itself when jupyter_eo requires it directly, else the direct dependencies needing it.
PROBE = r"""
import json, os, re
from importlib import metadata

def name_of(req):
    return re.split(r"[ ;<>=!~\[(]", req, maxsplit=1)[0].lower().replace("_", "-")

dists = {d.metadata["Name"].lower().replace("_", "-"): d for d in metadata.distributions()}
def size(dist):
    total = 0
    for f in dist.files or []:
        try:
            total += os.path.getsize(dist.locate_file(f))
        except OSError:
            pass
    return total

def runtime_requires(dist):
    return [name_of(r) for r in dist.requires or [] if "extra ==" not in r]

def closure(top):
    seen, queue = set(), [top]
    while queue:
        name = queue.pop()
        if name in seen or name not in dists or name == "jupyter-eo":
            continue
        seen.add(name)
        queue.extend(runtime_requires(dists[name]))
    return seen

direct = sorted(set(runtime_requires(dists["jupyter-eo"])))
needed_by = {}
for top in direct:
    for name in closure(top):
        needed_by.setdefault(name, []).append(top)
def via(name):
    if name in direct:
        return name
    tops = needed_by.get(name, [])
    return tops[0] if len(tops) == 1 else ("shared: " + ", ".join(tops[:4]) +
                                          (", ..." if len(tops) > 4 else "")) if tops else "(venv)"
print(json.dumps({name: {"bytes": size(d), "via": via(name)} for name, d in dists.items()}))
"""


def build_wheel(dest: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(dest), str(REPO)], check=True)
    return next(dest.glob("jupyter_eo-*.whl"))


def tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def measure(wheel: Path, prefix: Path) -> dict:
    venv.EnvBuilder(with_pip=True).create(prefix)
    python = prefix / "bin" / "python"
    started = time.monotonic()
    done = subprocess.run([str(python), "-m", "pip", "install", "-q",
                           "--disable-pip-version-check", str(wheel)],
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"pip install failed:\n{done.stderr[-3000:]}")
    seconds = time.monotonic() - started
    packages = json.loads(subprocess.run([str(python), "-c", PROBE], check=True,
                                         capture_output=True, text=True).stdout)
    site = next((prefix / "lib").glob("python3*/site-packages"))
    return {"wheel": wheel.name, "wheel_bytes": wheel.stat().st_size,
            "install_seconds": round(seconds, 1), "venv_bytes": tree_bytes(prefix),
            "site_packages_bytes": tree_bytes(site), "packages": packages}


def report(result: dict, top: int = 20) -> str:
    mb = 1e6
    packages = result["packages"]
    lines = [f"wheel {result['wheel']}: {result['wheel_bytes'] / mb:.2f} MB; install "
             f"{result['install_seconds']:.0f} s",
             f"fresh venv: {result['venv_bytes'] / mb:.0f} MB (site-packages "
             f"{result['site_packages_bytes'] / mb:.0f} MB), {len(packages)} distributions", "",
             "| package | MB | required by (direct dependency of jupyter_eo) |", "|---|---:|---|"]
    for name, info in sorted(packages.items(), key=lambda kv: -kv[1]["bytes"])[:top]:
        lines.append(f"| {name} | {info['bytes'] / mb:.0f} | {info['via']} |")
    by_direct: dict[str, int] = {}
    for info in packages.values():
        key = "(shared by several)" if info["via"].startswith("shared:") else info["via"]
        by_direct[key] = by_direct.get(key, 0) + info["bytes"]
    lines += ["", "| direct dependency, with what only it needs | MB |", "|---|---:|"]
    for name, total in sorted(by_direct.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {name} | {total / mb:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="wheel to measure (default: build this checkout)")
    parser.add_argument("--keep", type=Path, help="create the venv here and keep it")
    parser.add_argument("--json", type=Path, help="also write the raw figures to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jupyter-eo-install-size-") as tmp:
        wheel = args.wheel or build_wheel(Path(tmp) / "dist")
        result = measure(wheel, args.keep or Path(tmp) / "venv")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    print(report(result))


if __name__ == "__main__":
    main()
