"""Run Python code in a kernel-like child process (a real ipykernel, or plain python) while
the in-process Jupyter server keeps serving: the child inherits the server's kernel channel."""
from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

LineHook = Callable[[str], Awaitable[None] | None]

# Kernel code prefix: record(con) logs each request's URL and Authorization header in ``sent``;
# files() reads the kernel's openeo config folder; emit(tag, value) prints a line tagged()
# reads back.
KERNEL_PRELUDE = """
import json, os, jupyter_eo
from pathlib import Path
sent = []
def record(con):
    con.session.hooks["response"].append(
        lambda r, *a, **k: sent.append([r.url, r.request.headers.get("Authorization")]))
    return con
def files():
    home = Path(os.environ["OPENEO_CONFIG_HOME"])
    return {str(p.relative_to(home)): p.read_text() for p in home.rglob("*") if p.is_file()}
def emit(tag, value):
    print(tag + " " + json.dumps(value), flush=True)
"""


def tagged(text: str, tag: str) -> list[Any]:
    """The JSON values of the output lines ``<tag> <json>``, in order."""
    return [json.loads(line[len(tag) + 1:]) for line in text.splitlines()
            if line.startswith(tag + " ")]


@dataclass
class ChildRun:
    returncode: int
    stdout: str
    stderr: str


async def run_python(code: str, *, env: dict[str, str] | None = None,
                     on_line: LineHook | None = None, timeout: float = 120.0,
                     cwd: str | os.PathLike | None = None, clean_env: bool = False) -> ChildRun:
    """``python -c code`` with this process's environment (+ ``env``; only ``env`` when
    ``clean_env``) in ``cwd`` (created if missing); ``on_line`` sees each stdout line as it
    arrives (e.g. to approve a device login once the prompt is printed)."""
    if cwd is not None:
        os.makedirs(cwd, exist_ok=True)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-u", "-c", code, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL, cwd=cwd,
        env=dict(env or {}) if clean_env else {**os.environ, **(env or {})})
    lines: list[str] = []

    async def read_stdout() -> None:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            line = raw.decode("utf-8", "replace")
            lines.append(line)
            if on_line is not None:
                result = on_line(line)
                if asyncio.iscoroutine(result):
                    await result

    async def read_all() -> bytes:
        assert proc.stderr is not None
        reader = asyncio.ensure_future(read_stdout())
        err = await proc.stderr.read()
        await reader
        await proc.wait()
        return err

    try:
        stderr = await asyncio.wait_for(read_all(), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"child did not finish within {timeout} s; output so far:\n"
                             + "".join(lines)) from None
    return ChildRun(proc.returncode or 0, "".join(lines), stderr.decode("utf-8", "replace"))


@dataclass
class KernelOutput:
    """What a cell put into the notebook: iopub output messages and the execute reply."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    reply: dict[str, Any] = field(default_factory=dict)

    def texts(self) -> list[str]:
        """text/plain of every stream, display_data and update_display_data message."""
        out = []
        for msg in self.messages:
            content = msg.get("content", {})
            if msg["msg_type"] == "stream":
                out.append(content.get("text", ""))
            elif msg["msg_type"] in ("display_data", "update_display_data", "execute_result"):
                out.append(content.get("data", {}).get("text/plain", ""))
        return out


async def run_in_ipykernel(code: str, *, env: dict[str, str] | None = None,
                           on_message: Callable[[dict[str, Any]], None] | None = None,
                           timeout: float = 120.0) -> KernelOutput:
    """Execute ``code`` as one cell in a fresh ipykernel (started with this process's
    environment, like a kernel the Jupyter server launches), then shut it down."""
    from jupyter_client.manager import start_new_async_kernel

    km, kc = await start_new_async_kernel(kernel_name="python3",
                                          env={**os.environ, **(env or {})},
                                          startup_timeout=60)
    output = KernelOutput()

    def hook(msg: dict[str, Any]) -> None:
        if msg["msg_type"] in ("stream", "display_data", "update_display_data",
                               "execute_result", "error"):
            output.messages.append(msg)
            if on_message is not None:
                on_message(msg)

    try:
        reply = await kc.execute_interactive(code, output_hook=hook, timeout=timeout,
                                             allow_stdin=False)
        output.reply = reply.get("content", {})
    finally:
        kc.stop_channels()
        await km.shutdown_kernel(now=True)
    return output
