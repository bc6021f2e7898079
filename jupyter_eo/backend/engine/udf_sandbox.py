"""Linux sandbox for UDF processes: fresh namespaces, a private read-only root, rlimits, no secrets.

The backend runs ``python -I udf_sandbox.py SPEC_JSON`` (this file, standard library only; SPEC
holds paths and limits, no secrets). That launcher (P) forks a child (C) that unshares user,
mount, PID, network, IPC, UTS and cgroup namespaces; P writes C's uid/gid maps; C forks G, the
first process of the new PID namespace, which

* builds a new root on a small tmpfs holding only read-only binds of the Python installation
  (prefixes, the needed packages, system libraries), the UDF's work folder (read-write), a few
  ``/dev`` nodes and a ``/proc`` of its own PID namespace, then ``pivot_root``s into it and
  remounts it read-only;
* forbids nested user namespaces, drops to an unprivileged user (uid 1000 inside; outside:
  the backend's own uid, or ``nobody`` when the backend runs as root, so ``RLIMIT_NPROC``
  applies), sets ``no_new_privs``;
* sets ``RLIMIT_AS`` / ``CPU`` / ``NPROC`` / ``FSIZE`` / ``NOFILE`` / ``CORE`` and execs the
  UDF runner with a clean environment.

The network namespace has no interface up (no connection anywhere, loopback included). G is
PID 1 of its namespace: when it exits or is killed, the kernel kills every process left in the
namespace (detached ``setsid`` grandchildren too) before C sees G's exit. C enforces the wall
clock: past the timeout it kills G and exits with :data:`EXIT_TIMEOUT`. Set-up failures exit
with :data:`EXIT_SETUP` after one line on stderr starting with :data:`SETUP_PREFIX`.
"""
from __future__ import annotations

import ctypes
import json
import math
import os
import platform
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from typing import Any

EXIT_TIMEOUT = 124
EXIT_SETUP = 125
SETUP_PREFIX = "udf-sandbox: "
SANDBOX_UID = 1000
NOBODY = 65534
HOSTNAME = "udf-sandbox"
#: System library folders bound read-only when they exist (symlinks are recreated as symlinks).
SYSTEM_PATHS = ("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/etc/ld.so.cache")
DEV_NODES = ("null", "zero", "full", "random", "urandom")

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS = 0x00020000, 0x02000000, 0x04000000
CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = (0x08000000, 0x10000000,
                                                           0x20000000, 0x40000000)
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC = 1024, 2048, 4096, 16384
MS_PRIVATE, MS_RELATIME, MNT_DETACH = 1 << 18, 1 << 21, 2
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
#: statvfs flag -> mount flag, for flags a remount must keep (the kernel locks them).
KEPT_FLAGS = {1: MS_RDONLY, 2: MS_NOSUID, 4: MS_NODEV, 8: MS_NOEXEC, 1024: MS_NOATIME,
              2048: MS_NODIRATIME, 4096: MS_RELATIME}
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}


class SetupError(Exception):
    """The sandbox could not be built (the message names the failing step)."""


_libc: Any = None


def _c() -> Any:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                                ctypes.c_ulong, ctypes.c_char_p]
        _libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
        _libc.unshare.argtypes = [ctypes.c_int]
        _libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                                ctypes.c_ulong]
    return _libc


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise SetupError(f"{what}: {os.strerror(err)}")


def _b(path: str | None) -> bytes | None:
    return None if path is None else os.fsencode(path)


def _mount(source: str | None, target: str, fstype: str | None, flags: int,
           data: str | None = None) -> None:
    _check(_c().mount(_b(source), _b(target), _b(fstype), flags, _b(data)),
           f"mount {source or ''} on {target}")


def _kept_flags(path: str) -> int:
    flags = os.statvfs(path).f_flag
    return sum(ms for st, ms in KEPT_FLAGS.items() if flags & st)


def _bind(source: str, root: str, *, writable: bool = False, device: bool = False) -> None:
    """Bind ``source`` at the same path under ``root`` (read-only unless ``writable``;
    ``nodev`` unless it is a ``device`` node itself)."""
    dest = root + source
    if os.path.islink(source):
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if not os.path.lexists(dest):
            os.symlink(os.readlink(source), dest)
        return
    if os.path.isdir(source):
        os.makedirs(dest, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        open(dest, "a").close()
    _mount(source, dest, None, MS_BIND | MS_REC)
    flags = (_kept_flags(dest) | MS_NOSUID | (0 if device else MS_NODEV)
             | (0 if writable else MS_RDONLY))
    _mount(None, dest, None, MS_REMOUNT | MS_BIND | flags)


def _pivot_root(root: str) -> None:
    number = SYS_PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise SetupError(f"pivot_root: unsupported architecture {platform.machine()}")
    os.chdir(root)
    _check(_c().syscall(number, b".", b"."), "pivot_root")
    _check(_c().umount2(b".", MNT_DETACH), "detach the old root")
    os.chdir("/")


def _build_root(spec: dict[str, Any]) -> None:
    """In the new mount namespace: the private root, then pivot into it."""
    root = spec["root"]
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    bound: list[str] = []
    for path in sorted(set(spec["read_only"]), key=len):
        if os.path.lexists(path) and not any(path.startswith(b + "/") for b in bound):
            _bind(path, root)
            bound.append(path)
    _bind(spec["workdir"], root, writable=True)
    os.makedirs(root + "/dev", exist_ok=True)
    for node in DEV_NODES:
        if os.path.exists("/dev/" + node):
            _bind("/dev/" + node, root, writable=True, device=True)
    os.makedirs(root + "/proc", exist_ok=True)
    try:  # a /proc of this PID namespace only; refused where the host's /proc is masked
        _mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except SetupError:
        pass
    _pivot_root(root)
    _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    try:  # no nested user namespaces: less kernel surface for the UDF (needs our /proc)
        with open("/proc/sys/user/max_user_namespaces", "w") as handle:
            handle.write("0")
    except OSError:
        pass


def _drop_privileges(as_root: bool) -> None:
    if as_root:
        os.setgroups([])
    os.setresgid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)
    os.setresuid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)
    _check(_c().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def _set_limits(limits: dict[str, int]) -> None:
    import resource

    for name, value in (("RLIMIT_AS", limits["memory_bytes"]), ("RLIMIT_CPU", limits["cpu_s"]),
                        ("RLIMIT_NPROC", limits["processes"]),
                        ("RLIMIT_FSIZE", limits["file_bytes"]),
                        ("RLIMIT_NOFILE", limits["open_files"]), ("RLIMIT_CORE", 0)):
        resource.setrlimit(getattr(resource, name), (value, value))


def clean_environment(workdir: str) -> dict[str, str]:
    """The UDF's whole environment: nothing inherited from the backend."""
    single = "1"
    return {"PATH": "/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1", "MPLCONFIGDIR": workdir,
            "OMP_NUM_THREADS": single, "OPENBLAS_NUM_THREADS": single,
            "MKL_NUM_THREADS": single, "NUMEXPR_NUM_THREADS": single}


def _run_inner(spec: dict[str, Any]) -> None:
    """G: PID 1 of the sandbox. Never returns (execs the runner or exits)."""
    try:
        _c().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        _build_root(spec)
        socket.sethostname(HOSTNAME)
        _drop_privileges(spec["as_root"])
        _set_limits(spec["limits"])
        os.chdir(spec["workdir"])
        os.execve(spec["argv"][0], spec["argv"], clean_environment(spec["workdir"]))
    except (SetupError, OSError) as exc:
        print(f"{SETUP_PREFIX}{exc}", file=sys.stderr, flush=True)
    os._exit(EXIT_SETUP)


def _exit_code(status: int) -> int:
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def _run_child(spec: dict[str, Any], ready_w: int, maps_r: int) -> None:
    """C: unshare, wait for the id maps, start G and enforce the wall clock. Never returns."""
    code = EXIT_SETUP
    try:
        flags = (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC
                 | CLONE_NEWUTS | CLONE_NEWCGROUP)
        _check(_c().unshare(flags), "unshare namespaces")
        os.write(ready_w, b"u")
        if os.read(maps_r, 1) != b"m":
            raise SetupError("uid/gid maps were not written")
        inner = os.fork()
        if inner == 0:
            _run_inner(spec)
        pidfd = os.pidfd_open(inner)
        ready, _, _ = select.select([pidfd], [], [], spec["timeout_s"])
        if not ready:
            os.kill(inner, signal.SIGKILL)
            os.waitpid(inner, 0)  # PID 1's exit returns after every process of it is gone
            code = EXIT_TIMEOUT
        else:
            code = _exit_code(os.waitpid(inner, 0)[1])
    except (SetupError, OSError) as exc:
        print(f"{SETUP_PREFIX}{exc}", file=sys.stderr, flush=True)
    os._exit(code)


def _write_maps(pid: int, as_root: bool) -> None:
    """Map the sandbox's uid/gid 1000 to ours (or to nobody for root, who also keeps 0)."""
    if as_root:
        uid_map = f"0 0 1\n{SANDBOX_UID} {NOBODY} 1\n"
        gid_map = f"0 0 1\n{SANDBOX_UID} {NOBODY} 1\n"
    else:
        uid_map = f"{SANDBOX_UID} {os.geteuid()} 1\n"
        gid_map = f"{SANDBOX_UID} {os.getegid()} 1\n"
        with open(f"/proc/{pid}/setgroups", "w") as handle:
            handle.write("deny")
    with open(f"/proc/{pid}/uid_map", "w") as handle:
        handle.write(uid_map)
    with open(f"/proc/{pid}/gid_map", "w") as handle:
        handle.write(gid_map)


def launch(spec: dict[str, Any]) -> int:
    """P: start C, give it its id maps, return C's exit code."""
    spec["as_root"] = False
    if os.geteuid() == 0:  # the sandbox user (nobody outside) writes only its work folder
        try:
            os.chown(spec["workdir"], NOBODY, NOBODY)
            spec["as_root"] = True
        except OSError:  # root of a user namespace without nobody: map ourselves instead
            pass
    ready_r, ready_w = os.pipe()
    maps_r, maps_w = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(ready_r)
        os.close(maps_w)
        _run_child(spec, ready_w, maps_r)
    os.close(ready_w)
    os.close(maps_r)
    try:
        if os.read(ready_r, 1) == b"u":
            _write_maps(child, spec["as_root"])
            os.write(maps_w, b"m")
    except OSError as exc:
        print(f"{SETUP_PREFIX}uid/gid maps: {exc}", file=sys.stderr, flush=True)
    finally:
        os.close(maps_w)
    return _exit_code(os.waitpid(child, 0)[1])


# -- backend side -----------------------------------------------------------------------------
#: Packages the runner imports; their folders (or their site-packages) are bound read-only.
RUNNER_PACKAGES = ("jupyter_eo", "openeo", "numpy", "xarray", "pandas")
STDERR_TAIL_BYTES = 65536


@dataclass(frozen=True)
class UdfLimits:
    """Per-UDF limits: wall clock, address space per process, processes+threads, open files.

    CPU time per process is the wall clock (rounded up) plus 1 s; the largest file the UDF
    may write is ``file_mb``, by default as large as its memory limit."""

    timeout_s: float = 60.0
    memory_mb: int = 2048
    processes: int = 64
    open_files: int = 256
    file_mb: int | None = None

    def rlimits(self) -> dict[str, int]:
        memory = int(self.memory_mb) * 2**20
        files = memory if self.file_mb is None else int(self.file_mb) * 2**20
        return {"memory_bytes": memory, "cpu_s": int(math.ceil(self.timeout_s)) + 1,
                "processes": int(self.processes), "file_bytes": files,
                "open_files": int(self.open_files)}


def read_only_paths() -> list[str]:
    """The Python installation as the runner needs it, plus the system's shared libraries."""
    import importlib.util

    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    for name in RUNNER_PACKAGES:
        spec = importlib.util.find_spec(name)
        for location in (spec.submodule_search_locations or []) if spec else []:
            folder = os.path.abspath(location)
            parent = os.path.dirname(folder)
            # a checkout (editable install) is bound as its package folder only
            in_site = os.path.basename(parent) in ("site-packages", "dist-packages")
            paths.add(parent if in_site else folder)
    return sorted(paths) + list(SYSTEM_PATHS)


def _tail(handle: Any) -> str:
    handle.seek(0, os.SEEK_END)
    handle.seek(max(0, handle.tell() - STDERR_TAIL_BYTES))
    return handle.read().decode("utf-8", "replace")


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_sandboxed(workdir: str, argv: list[str], limits: UdfLimits, *,
                  read_only: list[str] | None = None, launcher_python: str = sys.executable,
                  run_as: int | None = None) -> tuple[int, str]:
    """Run ``argv`` in the sandbox with ``workdir`` as its only writable folder.

    ``read_only`` replaces :func:`read_only_paths`; ``launcher_python`` runs this file (the
    launcher needs the standard library only); ``run_as`` starts the launcher as that uid and
    gid, as an unprivileged user would. Returns (exit code, stderr tail):
    :data:`EXIT_TIMEOUT` after the wall clock, :data:`EXIT_SETUP` when the sandbox could not
    be built, ``128 + signal`` when killed."""
    root = tempfile.mkdtemp(prefix="jeo-udf-root-")
    spec = {"root": root, "workdir": os.path.abspath(workdir), "argv": list(argv),
            "read_only": read_only_paths() if read_only is None else list(read_only),
            "limits": limits.rlimits(), "timeout_s": float(limits.timeout_s)}
    command = [launcher_python, "-I", os.path.abspath(__file__), json.dumps(spec)]
    ids: dict[str, Any] = {} if run_as is None else {"user": run_as, "group": run_as,
                                                      "extra_groups": []}
    try:
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                    env=clean_environment(workdir), start_new_session=True,
                                    **ids)
            try:  # the launcher enforces the timeout; this only guards against a stuck launcher
                code = proc.wait(limits.timeout_s + 30)
            except subprocess.TimeoutExpired:
                _kill_group(proc.pid)
                proc.wait()
                code = EXIT_TIMEOUT
            return (128 - code if code < 0 else code), _tail(err)
    finally:
        os.rmdir(root)


def run_unsandboxed(workdir: str, argv: list[str], limits: UdfLimits) -> tuple[int, str]:
    """The admin's opt-out: a clean environment, rlimits (no process limit) and the process
    group killed at the end, but full read access and network (see docs/security.md)."""
    rlimits = limits.rlimits()

    def apply_limits() -> None:  # in the child before exec
        import resource

        for name, key in (("RLIMIT_AS", "memory_bytes"), ("RLIMIT_CPU", "cpu_s"),
                          ("RLIMIT_FSIZE", "file_bytes")):
            resource.setrlimit(getattr(resource, name), (rlimits[key], rlimits[key]))

    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                cwd=workdir, env=clean_environment(workdir),
                                start_new_session=True, preexec_fn=apply_limits)
        try:
            code = proc.wait(limits.timeout_s)
        except subprocess.TimeoutExpired:
            code = EXIT_TIMEOUT
        _kill_group(proc.pid)
        proc.wait()
        return (128 - code if code < 0 else code), _tail(err)


_probe_lock = threading.Lock()
_probe: list[str | None] = []


def sandbox_problem() -> str | None:
    """Why UDFs cannot be sandboxed here (None: they can). Probed once per process: the
    runner's imports must work inside (a few seconds)."""
    with _probe_lock:
        if not _probe:
            _probe.append(_probe_sandbox())
        return _probe[0]


def _probe_sandbox() -> str | None:
    if not sys.platform.startswith("linux"):
        return "the UDF sandbox needs Linux namespaces"
    if platform.machine() not in SYS_PIVOT_ROOT:
        return f"the UDF sandbox does not support the {platform.machine()} architecture"
    with tempfile.TemporaryDirectory(prefix="jeo-udf-probe-") as tmp:
        imports = "import openeo.udf, jupyter_eo.backend.engine.udf_runner_exchange"
        code, err = run_sandboxed(tmp, [sys.executable, "-I", "-c", imports],
                                  UdfLimits(timeout_s=60))
    if code == 0:
        return None
    lines = [line for line in err.splitlines() if line.strip()]
    return (lines[-1] if lines else f"exit code {code}").removeprefix(SETUP_PREFIX)


if __name__ == "__main__":
    sys.exit(launch(json.loads(sys.argv[1])))
