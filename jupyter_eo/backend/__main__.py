"""``jupyter-eo serve`` / ``python -m jupyter_eo.backend``: run the embedded openEO backend."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any, Sequence

from jupyter_eo.backend.limits import Limits

READY_LINE = "jupyter-eo: serving openEO API at {url}"

USERS_HELP = """\
Users (HTTP basic authentication): --users-file PATH reads one NAME:PASSWORD per line (blank
lines and lines starting with # are ignored); the file must be a regular file of yours that
no one else may read or write (chmod 600). Without it, one local user is used:
JUPYTER_EO_BACKEND_USER (default "local") with the password from JUPYTER_EO_BACKEND_PASSWORD if
set; otherwise a random password is generated once and kept ONLY in DATA_DIR/local-user.txt
(mode 0600, "NAME:PASSWORD"); it is never printed. Passwords are never accepted on the command
line, which every local user can read (ps, /proc/PID/cmdline).

UDFs: --udf runs each UDF in a Linux sandbox (namespaces: no network, only the Python
installation and its work folder readable; clean environment; limits); where no sandbox can be
built, --udf refuses to start. --udf-unsandboxed runs UDFs without it (any user of the backend
can then read your files and use the network as you).
"""

USER_ARG_REFUSED = (
    "jupyter-eo serve: --user NAME:PASSWORD is refused: command-line arguments are readable by "
    "every local user (ps, /proc/PID/cmdline). Use --users-file PATH (one NAME:PASSWORD per "
    "line, chmod 600) or set JUPYTER_EO_BACKEND_USER and JUPYTER_EO_BACKEND_PASSWORD in the "
    "environment.")

UNSANDBOXED_WARNING = (
    "jupyter-eo serve: WARNING: --udf-unsandboxed: UDFs run WITHOUT the sandbox. Any user of "
    "this backend can read every file you can read and use the network as you. Use it only "
    "on a machine and backend that only you use.")


def default_data_dir() -> Path:
    env = os.environ.get("JUPYTER_EO_DATA_DIR")
    if env:
        return Path(env)
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "jupyter_eo" / "backend"


def job_workers_arg(text: str) -> int:
    """argparse type of ``--job-workers``: an integer from 1 to MAX_JOB_WORKERS."""
    from jupyter_eo.backend.config import MAX_JOB_WORKERS

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not 1 <= value <= MAX_JOB_WORKERS:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_JOB_WORKERS}, got {value}")
    return value


def memory_size_arg(text: str) -> int:
    """argparse type of ``--max-request-memory``: bytes, or a number with K/M/G (binary units)."""
    units = {"": 1, "B": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}
    value = str(text).strip().upper().removesuffix("IB").removesuffix("B")
    unit = value[-1:] if value[-1:] in units else ""
    try:
        number = float(value[:len(value) - len(unit)])
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a size such as 2G or 512M, got {text!r}") \
            from None
    if not number >= 0 or number == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a size >= 0, got {text!r}")
    return int(number * units[unit])


def default_request_memory() -> int:
    """``$JUPYTER_EO_MAX_REQUEST_MEMORY`` (e.g. ``4G``) or the built-in default."""
    env = os.environ.get("JUPYTER_EO_MAX_REQUEST_MEMORY")
    try:
        return memory_size_arg(env) if env else Limits().max_request_bytes
    except argparse.ArgumentTypeError as exc:
        raise SystemExit(f"jupyter-eo serve: JUPYTER_EO_MAX_REQUEST_MEMORY: {exc}") from None


def add_serve_parser(sub: Any) -> argparse.ArgumentParser:
    """Register the ``serve`` subcommand on an argparse subparsers object."""
    parser = sub.add_parser("serve", help="Run the embedded openEO API 1.2 backend.",
                            description="Run the embedded openEO API 1.2 backend.",
                            epilog=USERS_HELP,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    add_serve_arguments(parser)
    parser.set_defaults(handler=serve)
    return parser


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = Limits()
    parser.add_argument("--host", default="127.0.0.1", help="Interface to bind (default "
                        "127.0.0.1; only loopback is safe without TLS).")
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free port "
                        "(default 0).")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="State directory: jobs, results, UDPs, user files (default "
                        "$JUPYTER_EO_DATA_DIR or <jupyter data dir>/jupyter_eo/backend).")
    parser.add_argument("--collections-dir", type=Path, default=None,
                        help="Extra local collections (GeoTIFF/COG/netCDF/Zarr/STAC) to serve.")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="Chunk cache and derived world data of the default collections "
                        "(default $JUPYTER_EO_CACHE_DIR or ~/.cache/jupyter_eo).")
    parser.add_argument("--users-file", type=Path, default=None, metavar="PATH",
                        help="Users for basic authentication, one NAME:PASSWORD per line; the "
                        "file must be private (chmod 600). See 'Users' below.")
    parser.add_argument("--user", action="append", default=[], help=argparse.SUPPRESS)
    parser.add_argument("--dask-address", default=None,
                        help="Address of an existing dask.distributed scheduler to compute on.")
    parser.add_argument("--udf", dest="udf", action=argparse.BooleanOptionalAction,
                        default=False, help="Allow run_udf (Python code from users) in a Linux "
                        "sandbox; refuses to start where none is available (default off).")
    parser.add_argument("--udf-unsandboxed", action="store_true", default=False,
                        help="Allow run_udf WITHOUT the sandbox (UDF code can read your files "
                        "and use the network); prints a warning.")
    parser.add_argument("--max-pixels", type=int, default=defaults.max_pixels,
                        help="Values (x*y*t*bands) a synchronous request or tile may load "
                        f"(default {defaults.max_pixels:,}).")
    parser.add_argument("--max-request-memory", type=memory_size_arg,
                        default=default_request_memory(), metavar="SIZE",
                        help="Memory one request (result or batch job) may use, e.g. 2G or "
                        "512M; estimated before any work (413 with what to narrow) and watched "
                        "while it runs; 0 turns both off (default $JUPYTER_EO_MAX_REQUEST_MEMORY "
                        f"or {defaults.max_request_bytes // 1024 ** 2:,}M).")
    parser.add_argument("--sync-timeout", type=float, default=defaults.sync_timeout_s,
                        help=f"Wall-clock seconds per synchronous request (default "
                        f"{defaults.sync_timeout_s:g}).")
    parser.add_argument("--max-body-bytes", type=int, default=defaults.max_body_bytes,
                        help=f"Largest JSON request body (default {defaults.max_body_bytes:,}).")
    parser.add_argument("--job-workers", type=job_workers_arg, default=1, metavar="N",
                        help="Batch jobs run at once, 1 to 32 (default 1); further started jobs "
                        "stay 'queued' and start when a running one ends. In a "
                        "JupyterHub workshop each student has their own backend, so this is a "
                        "per-student limit.")
    parser.add_argument("--log-level", default="WARNING", help="Logging level (default WARNING).")


def users_from_args(args: argparse.Namespace, data_dir: Path) -> dict[str, str]:
    """Users from ``--users-file`` or the environment/default; ``--user`` is refused."""
    from jupyter_eo.backend.config import default_users, read_users_file

    if args.user:
        raise SystemExit(USER_ARG_REFUSED)
    if args.users_file is not None:
        try:
            return read_users_file(args.users_file)
        except ValueError as exc:
            raise SystemExit(f"jupyter-eo serve: --users-file: {exc}") from None
    return default_users(data_dir)


def udf_mode(args: argparse.Namespace) -> tuple[bool, bool]:
    """(UDFs enabled, sandboxed); exits with a clear message when --udf has no sandbox."""
    if getattr(args, "udf_unsandboxed", False):
        print(UNSANDBOXED_WARNING, file=sys.stderr, flush=True)
        return True, False
    if not args.udf:
        return False, True
    from jupyter_eo.backend.engine.udf_sandbox import sandbox_problem

    problem = sandbox_problem()
    if problem:
        raise SystemExit(
            f"jupyter-eo serve: --udf: UDFs need a sandbox, and none can be built here "
            f"({problem}). UDFs stay off. Run on Linux with user namespaces enabled "
            "(check: unshare -Urn true), or, only on a machine and backend that only you use, "
            "pass --udf-unsandboxed instead.")
    return True, True


def config_from_args(args: argparse.Namespace) -> Any:
    from jupyter_eo.backend.config import BackendConfig

    data_dir = (args.data_dir or default_data_dir()).expanduser()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    users = users_from_args(args, data_dir)
    udf_enabled, udf_sandboxed = udf_mode(args)
    limits = Limits(max_pixels=args.max_pixels, sync_timeout_s=args.sync_timeout,
                    max_body_bytes=args.max_body_bytes,
                    max_request_bytes=args.max_request_memory)
    return BackendConfig(data_dir=data_dir, users=users, dask_address=args.dask_address,
                         udf_enabled=udf_enabled, udf_sandboxed=udf_sandboxed, limits=limits,
                         collections_dir=args.collections_dir, cache_dir=args.cache_dir,
                         job_workers=args.job_workers)


def configure_logging(level_name: str) -> int:
    """Console logging at ``level_name`` (unknown names mean WARNING); returns the level.

    The ``jupyter_eo`` logger passes INFO and above (batch-job logs collect those records)
    and, at DEBUG, everything, so ``--log-level debug`` shows our own debug records too; the
    console handlers filter to the chosen level.
    """
    level = getattr(logging, str(level_name).upper(), None)
    if not isinstance(level, int):
        level = logging.WARNING
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.setLevel(level)
    logging.getLogger("jupyter_eo").setLevel(min(level, logging.INFO))
    return level


GDAL_CACHE_MB = 128


def limit_gdal_cache(environ: dict[str, str] | Any = os.environ) -> str:
    """Cap GDAL's block cache (default: 5 % of RAM per process) unless the user set
    ``GDAL_CACHEMAX``; writing a large GeoTIFF otherwise holds hundreds of MB of cached
    blocks (see benchmarks/README.md, "Resample"). Returns the value in effect."""
    return environ.setdefault("GDAL_CACHEMAX", str(GDAL_CACHE_MB))


def serve(args: argparse.Namespace) -> int:
    """Start the server, print the ready line once listening, run until SIGINT/SIGTERM."""
    configure_logging(args.log_level)
    limit_gdal_cache()
    config = config_from_args(args)
    try:
        return asyncio.run(_serve(config, args.host, args.port))
    except OSError as exc:
        print(f"jupyter-eo serve: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
              file=sys.stderr)
        return 1


async def _serve(config: Any, host: str, port: int) -> int:
    from tornado.httpserver import HTTPServer
    from tornado.netutil import bind_sockets

    from jupyter_eo.backend.app import make_app
    from jupyter_eo.backend.testing import max_body_size

    app = make_app(config)
    backend = app.settings["jupyter_eo_backend"]
    sockets = bind_sockets(port, host)
    server = HTTPServer(app, max_body_size=max_body_size(config), idle_connection_timeout=60,
                        xheaders=False)
    server.add_sockets(sockets)
    bound = sockets[0].getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    print(READY_LINE.format(url=f"http://{shown}:{bound}/"), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - non-POSIX
            pass
    await stop.wait()
    server.stop()
    await server.close_all_connections()
    backend.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jupyter_eo.backend",
                                     description="Run the embedded openEO API 1.2 backend.",
                                     epilog=USERS_HELP,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_serve_arguments(parser)
    return serve(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
