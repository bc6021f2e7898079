"""Every `examples` entry of the openEO process specs, run against every registered process."""
from __future__ import annotations

import glob
import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_eo.backend.processes.registry import ARRAY_DIM, REGISTRY
from jupyter_eo.errors import OpenEOError

from procs_testlib import _is_null, assert_same, call_process, to_plain

# The packaged specs (openEO processes 2.0.0-rc.2; core and proposals in one folder) are what
# the backend serves; test_packaged_specs_are_the_shared_release checks they equal the release.
_SHARED = Path(__file__).resolve().parents[3] / "shared" / "openeo" / "processes"
SPEC_DIR = Path(__file__).resolve().parents[2] / "jupyter_eo" / "specs" / "processes"


# Examples that contradict the spec they belong to (documented, not silently skipped).
KNOWN_SPEC_ERRORS = {
    ("array_modify", 3): "the example omits 'length' yet expects one element removed, but the "
                         "spec's default for 'length' is 0 (nothing removed)",
}


def _load_examples() -> list[Any]:
    cases = []
    files = sorted(glob.glob(str(SPEC_DIR / "*.json")))
    for path in files:
        spec = json.loads(Path(path).read_text("utf-8"))
        if "id" not in spec:
            continue
        for i, example in enumerate(spec.get("examples", [])):
            if "returns" not in example and "throws" not in example:
                continue  # illustrative only (cube examples without a result)
            marks = []
            if (spec["id"], i) in KNOWN_SPEC_ERRORS:
                marks.append(pytest.mark.xfail(reason=KNOWN_SPEC_ERRORS[(spec["id"], i)],
                                               strict=True))
            cases.append(pytest.param(spec["id"], example, id=f"{spec['id']}-{i}", marks=marks))
    return cases


ALL_EXAMPLES = _load_examples()
REGISTERED_EXAMPLES = [c for c in ALL_EXAMPLES if c.values[0] in REGISTRY]


# Examples whose expected values the spec rounds (e.g. quantiles to 2 decimals).
APPROXIMATE = {"quantiles": 1e-2}


@pytest.mark.parametrize("process_id, example", REGISTERED_EXAMPLES)
def test_spec_example(process_id: str, example: dict) -> None:
    if "throws" in example:
        with pytest.raises(OpenEOError) as info:
            call_process(process_id, example["arguments"])
        if isinstance(example["throws"], str):
            assert info.value.code == example["throws"]
        return
    actual = to_plain(call_process(process_id, example["arguments"]))
    expected = example["returns"]
    tol = APPROXIMATE.get(process_id)
    if tol is not None:
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected):
            assert (_is_null(a) and _is_null(e)) or abs(a - e) <= tol, (actual, expected)
    else:
        assert_same(actual, expected)


def test_examples_found() -> None:
    assert len(ALL_EXAMPLES) > 300
    assert len(REGISTERED_EXAMPLES) > 0
    assert ARRAY_DIM  # the convention constant exists


def test_packaged_specs_are_the_shared_release() -> None:
    """Every process spec of the release (core and proposals) is packaged unchanged."""
    if not _SHARED.is_dir():
        pytest.skip("the shared openEO release is not beside this clone")
    released = sorted(glob.glob(str(_SHARED / "*.json")) +
                      glob.glob(str(_SHARED / "proposals" / "*.json")))
    assert len(released) > 150
    for path in released:
        packaged = SPEC_DIR / Path(path).name
        assert packaged.read_bytes() == Path(path).read_bytes(), Path(path).name
    assert (SPEC_DIR / "subtype-schemas.json").read_bytes() == \
        (_SHARED / "meta" / "subtype-schemas.json").read_bytes()
