"""Persistent batch jobs: SQLite records, logs, progress, result files, and a background runner."""
from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import threading
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from jupyter_eo.errors import JobLocked, JobNotFinished, JobNotFound, OpenEOError

log = logging.getLogger(__name__)

ACTIVE = ("queued", "running")
LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}


@contextmanager
def open_db(path: Path) -> Iterator[sqlite3.Connection]:
    """A short-lived SQLite connection (WAL, 10 s busy timeout) committed on success.

    ``BEGIN IMMEDIATE`` takes the write lock up front (waiting up to the busy timeout): a
    deferred transaction that reads and then writes fails at once with "database is locked"
    when another thread committed in between (e.g. two batch jobs logging at the same time).
    """
    db = sqlite3.connect(str(path), timeout=10, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("BEGIN IMMEDIATE")
        yield db
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    finally:
        db.close()


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


COLUMNS = ("id", "user", "title", "description", "process", "status", "progress", "created",
           "updated", "started", "finished", "plan", "budget", "log_level", "results", "usage")


class JobStore:
    """Job records and logs in SQLite; result files under ``results_dir(user, job_id)``."""

    def __init__(self, db_path: Path, results_dir: Callable[[str, str], Path]) -> None:
        self.db_path = db_path
        self.results_dir = results_dir
        self._progress: dict[str, float] = {}
        with open_db(db_path) as db:
            db.execute("CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, user TEXT, title TEXT,"
                       " description TEXT, process TEXT, status TEXT, progress REAL, created TEXT,"
                       " updated TEXT, started TEXT, finished TEXT, plan TEXT, budget REAL,"
                       " log_level TEXT, results TEXT, usage TEXT)")
            db.execute("CREATE TABLE IF NOT EXISTS job_logs (job_id TEXT, seq INTEGER, level TEXT,"
                       " message TEXT, time TEXT, data TEXT, PRIMARY KEY (job_id, seq))")

    # -- records -------------------------------------------------------------------------
    def _row(self, row: tuple) -> dict[str, Any]:
        job = dict(zip(COLUMNS, row))
        job["process"] = json.loads(job["process"])
        job["results"] = json.loads(job["results"]) if job["results"] else None
        job["usage"] = json.loads(job["usage"]) if job["usage"] else None
        if job["id"] in self._progress and job["status"] == "running":
            job["progress"] = self._progress[job["id"]]
        return job

    def create(self, user: str, process: dict, title: str | None = None,
               description: str | None = None, plan: str | None = None,
               budget: float | None = None, log_level: str | None = None) -> dict[str, Any]:
        job_id = "j-" + uuid.uuid4().hex[:20]
        stamp = now_iso()
        with open_db(self.db_path) as db:
            db.execute(f"INSERT INTO jobs ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                       (job_id, user, title, description, json.dumps(process), "created", 0.0,
                        stamp, stamp, None, None, plan, budget, log_level or "info", None, None))
        return self.get(user, job_id)

    def get(self, user: str, job_id: str) -> dict[str, Any]:
        with open_db(self.db_path) as db:
            row = db.execute(f"SELECT {', '.join(COLUMNS)} FROM jobs WHERE id = ? AND user = ?",
                             (job_id, user)).fetchone()
        if row is None:
            raise JobNotFound(f"The batch job {job_id[:60]!r} does not exist.")
        return self._row(row)

    def list(self, user: str) -> list[dict[str, Any]]:
        with open_db(self.db_path) as db:
            rows = db.execute(f"SELECT {', '.join(COLUMNS)} FROM jobs WHERE user = ? "
                              "ORDER BY created, rowid", (user,)).fetchall()
        return [self._row(r) for r in rows]

    def update(self, user: str, job_id: str, **fields: Any) -> dict[str, Any]:
        """PATCH: change title/description/process/plan/budget/log_level of an idle job."""
        job = self.get(user, job_id)
        if job["status"] in ACTIVE:
            raise JobLocked()
        allowed = {"title", "description", "process", "plan", "budget", "log_level"}
        changes = {k: v for k, v in fields.items() if k in allowed}
        if "process" in changes:
            changes["process"] = json.dumps(changes["process"])
        if changes:
            changes["updated"] = now_iso()
            sets = ", ".join(f"{k} = ?" for k in changes)
            with open_db(self.db_path) as db:
                changed = db.execute(f"UPDATE jobs SET {sets} WHERE id = ? AND status NOT IN "
                                     "('queued', 'running')", (*changes.values(), job_id)).rowcount
            if not changed:  # started (or deleted) since it was read above
                self.get(user, job_id)
                raise JobLocked()
        return self.get(user, job_id)

    def set_state(self, job_id: str, **fields: Any) -> None:
        for key in ("results", "usage"):
            if key in fields and fields[key] is not None:
                fields[key] = json.dumps(fields[key])
        fields["updated"] = now_iso()
        sets = ", ".join(f"{k} = ?" for k in fields)
        with open_db(self.db_path) as db:
            db.execute(f"UPDATE jobs SET {sets} WHERE id = ?", (*fields.values(), job_id))

    def transition(self, job_id: str, from_status: tuple[str, ...], **fields: Any) -> bool:
        """Like :meth:`set_state`, but only while the job's status is one of ``from_status``
        (checked and written in one transaction); False when it was not (or the job is gone)."""
        for key in ("results", "usage"):
            if key in fields and fields[key] is not None:
                fields[key] = json.dumps(fields[key])
        fields["updated"] = now_iso()
        sets = ", ".join(f"{k} = ?" for k in fields)
        marks = ", ".join("?" * len(from_status))
        with open_db(self.db_path) as db:
            cursor = db.execute(f"UPDATE jobs SET {sets} WHERE id = ? AND status IN ({marks})",
                                (*fields.values(), job_id, *from_status))
            return cursor.rowcount == 1

    def set_progress(self, job_id: str, fraction: float) -> None:
        self._progress[job_id] = round(max(0.0, min(1.0, float(fraction))) * 100, 1)

    def delete(self, user: str, job_id: str) -> None:
        job = self.get(user, job_id)
        if job["status"] in ACTIVE:
            raise JobLocked("Cancel the job before deleting it.")
        with open_db(self.db_path) as db:
            db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
            db.execute("DELETE FROM job_logs WHERE job_id = ?", (job_id,))
        final = self.results_dir(user, job_id)
        shutil.rmtree(final, ignore_errors=True)
        for staging in final.parent.glob(f".{job_id}.run-*"):  # left by a crash mid-run
            shutil.rmtree(staging, ignore_errors=True)

    # -- logs ----------------------------------------------------------------------------
    def add_log(self, job_id: str, level: str, message: str, data: Any = None) -> None:
        with open_db(self.db_path) as db:
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM job_logs WHERE job_id = ?",
                             (job_id,)).fetchone()[0]
            db.execute("INSERT INTO job_logs VALUES (?, ?, ?, ?, ?, ?)",
                       (job_id, seq, level, message[:10_000], now_iso(),
                        json.dumps(data, default=str) if data is not None else None))

    def logs(self, user: str, job_id: str, offset: str | None = None, level: str | None = None,
             limit: int | None = None) -> list[dict[str, Any]]:
        job = self.get(user, job_id)
        minimum = LEVELS.get(str(level or job.get("log_level") or "debug").lower(), 10)
        try:
            start = int(offset) if offset else 0
        except ValueError:
            start = 0
        query = "SELECT seq, level, message, time, data FROM job_logs WHERE job_id = ? AND seq > ? ORDER BY seq"
        with open_db(self.db_path) as db:
            rows = db.execute(query, (job_id, start)).fetchall()
        out = []
        for seq, lvl, message, stamp, data in rows:
            if LEVELS.get(lvl, 20) < minimum:
                continue
            entry = {"id": str(seq), "level": lvl, "message": message, "time": stamp}
            if data:
                entry["data"] = json.loads(data)
            out.append(entry)
            if limit and len(out) >= limit:
                break
        return out

    # -- restart -------------------------------------------------------------------------
    def recover(self) -> list[tuple[str, str]]:
        """After a restart: running jobs become ``error`` (interrupted), staging folders of
        runs that were killed (SIGKILL, OOM) are removed; return queued jobs."""
        with open_db(self.db_path) as db:
            running = [r[0] for r in db.execute("SELECT id FROM jobs WHERE status = 'running'")]
            queued = db.execute("SELECT user, id FROM jobs WHERE status = 'queued'").fetchall()
            owners = [r[0] for r in db.execute("SELECT DISTINCT user FROM jobs")]
        for user in owners:  # no run of this process has started yet: every one is stale
            for staging in self.results_dir(user, "-").parent.glob(".*.run-*"):
                shutil.rmtree(staging, ignore_errors=True)
        for job_id in running:
            self.set_state(job_id, status="error", finished=now_iso())
            self.add_log(job_id, "error", "Job interrupted: the backend stopped while it was "
                         "running. Start it again to recompute.", {"code": "Interrupted"})
        return [(u, j) for u, j in queued]

    def result_files(self, user: str, job_id: str) -> list[dict[str, Any]]:
        job = self.get(user, job_id)
        if job["status"] != "finished":
            if job["status"] == "error":
                errors = [e for e in self.logs(user, job_id, level="error")]
                last = errors[-1] if errors else {"message": "The batch job failed."}
                raise JobFailed(last["message"], code=(last.get("data") or {}).get(
                    "code", "JobFailed"), status=424)
            raise JobNotFinished()
        return job["results"] or []


class JobFailed(OpenEOError):
    """``GET /jobs/{id}/results`` of a failed job: HTTP 424 with the last error log entry."""

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "level": "error"}


class _ThreadLogHandler(logging.Handler):
    """Copies log records of the thread running a job into that job's logs."""

    def __init__(self, store: JobStore) -> None:
        super().__init__(level=logging.INFO)
        self.store = store
        self.threads: dict[int, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        job_id = self.threads.get(record.thread or 0)
        if job_id is None:
            return
        try:
            self.store.add_log(job_id, record.levelname.lower() if record.levelname.lower()
                               in LEVELS else "info", record.getMessage(),
                               getattr(record, "openeo_data", None))  # set by ``inspect``
        except Exception:  # pragma: no cover - never let logging break a job
            pass


Execute = Callable[[dict[str, Any], Path, Callable[[float], None], threading.Event], list[dict]]


class JobRunner:
    """Runs jobs on a small thread pool; ``execute(job, out_dir, progress, cancel)`` -> assets.

    Each run has its own cancel event and writes into its own hidden staging directory,
    moved into place as the job's results only when the run finishes un-canceled. Status
    changes are conditional on the current status and, in this process, serialised by one
    lock, so racing requests (double start, cancel while a worker picks the job up, restart
    while a canceled run still winds down) cannot leave a job stuck or mix two runs' files.
    """

    def __init__(self, store: JobStore, execute: Execute, workers: int = 1) -> None:
        self.store = store
        self.execute = execute
        self.pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="openeo-job")
        self.cancel_events: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._log_handler = _ThreadLogHandler(store)
        package_logger = logging.getLogger("jupyter_eo")
        package_logger.addHandler(self._log_handler)
        if package_logger.level == logging.NOTSET:
            package_logger.setLevel(logging.INFO)  # so engine info messages reach job logs

    def start(self, user: str, job_id: str) -> None:
        self.store.get(user, job_id)  # JobNotFound for unknown ids and other users' jobs
        with self._lock:
            # spec: starting a queued/running job has no effect
            if not self.store.transition(job_id, ("created", "finished", "error", "canceled"),
                                         status="queued", progress=0.0, results=None,
                                         started=None, finished=None):
                return
            self.store.add_log(job_id, "info", "Job queued.")
            self._submit(user, job_id)

    def _submit(self, user: str, job_id: str) -> None:
        event = threading.Event()
        self.cancel_events[job_id] = event
        self.pool.submit(self._run, user, job_id, event)

    def resume(self, queued: list[tuple[str, str]]) -> None:
        for user, job_id in queued:
            self.store.add_log(job_id, "info", "Backend restarted; job re-queued.")
            with self._lock:
                self._submit(user, job_id)

    def cancel(self, user: str, job_id: str) -> None:
        job = self.store.get(user, job_id)
        if job["status"] not in ACTIVE:
            return
        with self._lock:
            event = self.cancel_events.get(job_id)
            if event is not None:
                event.set()
            if self.store.transition(job_id, ACTIVE, status="canceled", finished=now_iso()):
                self.store.add_log(job_id, "info", "Job canceled by the user.")

    def _progress(self, job_id: str, cancel: threading.Event) -> Callable[[float], None]:
        def report(fraction: float) -> None:
            if not cancel.is_set():  # a canceled run must not show in a later run's progress
                self.store.set_progress(job_id, fraction)
        return report

    def _run(self, user: str, job_id: str, cancel: threading.Event) -> None:
        final = self.store.results_dir(user, job_id)
        staging = final.with_name(f".{job_id}.run-{uuid.uuid4().hex[:12]}")
        try:
            with self._lock:
                if cancel.is_set() or getattr(self, "_stopping", False):
                    return
                if not self.store.transition(job_id, ("queued",), status="running",
                                             started=now_iso(), progress=0.0):
                    return  # canceled or deleted while queued
                self.store.add_log(job_id, "info", "Job started.")
                shutil.rmtree(final, ignore_errors=True)  # a previous run's results
            try:
                job = self.store.get(user, job_id)
            except JobNotFound:
                return
            self._execute(job, user, job_id, staging, final, cancel)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            with self._lock:
                if self.cancel_events.get(job_id) is cancel:
                    del self.cancel_events[job_id]
                    self.store._progress.pop(job_id, None)

    def _execute(self, job: dict[str, Any], user: str, job_id: str, staging: Path, final: Path,
                 cancel: threading.Event) -> None:
        started = time.monotonic()
        self._log_handler.threads[threading.get_ident()] = job_id
        try:
            staging.mkdir(parents=True)
            assets = self.execute(job, staging, self._progress(job_id, cancel), cancel)
            usage = {"duration": {"value": round(time.monotonic() - started, 3), "unit": "s"}}
            with self._lock:
                if cancel.is_set():
                    return
                shutil.rmtree(final, ignore_errors=True)
                os.replace(staging, final)
                self.store.add_log(job_id, "info", f"Job finished: {len(assets)} result file(s).")
                self.store.transition(job_id, ("running",), status="finished", progress=100.0,
                                      results=assets, finished=now_iso(), usage=usage)
        except Exception as exc:
            if cancel.is_set():
                return
            if isinstance(exc, OpenEOError):
                message, data = f"[{exc.code}] {exc.message}", {"code": exc.code}
            else:
                log.error("job %s crashed: %s", job_id, traceback.format_exc())
                message, data = f"Internal error: {type(exc).__name__}: {exc}", None
            with self._lock:
                if cancel.is_set():
                    return
                self.store.add_log(job_id, "error", message, data)
                self.store.transition(job_id, ("running",), status="error", finished=now_iso())
        finally:
            self._log_handler.threads.pop(threading.get_ident(), None)

    def shutdown(self) -> None:
        """Stop: running jobs are reported as interrupted now; queued ones resume next start."""
        self._stopping = True
        with self._lock:
            events = list(self.cancel_events.items())
            for _job_id, event in events:
                event.set()  # before the status change: a finishing run must not win over it
        for job_id, _event in events:
            try:
                if self.store.transition(job_id, ("running",), status="error",
                                         finished=now_iso()):
                    self.store.add_log(job_id, "error", "Job interrupted: the backend shut down "
                                       "while it was running. Start it again to recompute.",
                                       {"code": "Interrupted"})
            except Exception:  # pragma: no cover - best effort during shutdown
                log.exception("could not mark job %s interrupted", job_id)
        logging.getLogger("jupyter_eo").removeHandler(self._log_handler)
        self.pool.shutdown(wait=False, cancel_futures=True)
