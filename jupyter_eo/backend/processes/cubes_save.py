"""save_result: marks what to write and how (writing is the backend's formats module)."""
from __future__ import annotations

from typing import Any

from jupyter_eo.backend.engine.context import SaveResult
from jupyter_eo.backend.engine.plan import BlockPlan
from jupyter_eo.backend.processes.registry import process
from jupyter_eo.errors import ProcessParameterInvalid


@process("save_result")
def save_result(data: Any, format: str, options: dict | None = None) -> SaveResult:
    """Return a :class:`SaveResult` with the (lazy) data, format name and options."""
    if not isinstance(format, str) or not format:
        raise ProcessParameterInvalid("save_result needs a format name.")
    if isinstance(data, BlockPlan):
        data = data.to_dataarray()
    return SaveResult(data, format, dict(options or {}))
