"""JobRunner under racing requests: cancel/restart while a canceled run winds down, double start,
cancel landing between the queued check and the start of a run."""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from jupyter_eo.backend.jobs import JobRunner, JobStore

USER = "alice"
GRAPH = {"process_graph": {"x": {"process_id": "add", "arguments": {"x": 1, "y": 2},
                                 "result": True}}}


class ScriptedExecute:
    """An ``execute`` whose n-th call blocks until the test releases gate n; each call writes
    ``result.txt`` holding its call number into the directory it was given. Like the engine,
    it does not stop on its own when canceled: a canceled run keeps going until released."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.gates: list[threading.Event] = []
        self.entered: list[threading.Event] = [threading.Event() for _ in range(8)]
        self.cancels: list[threading.Event] = []
        self.out_dirs: list[Path] = []
        self.opened = False

    def __call__(self, job: dict, out_dir: Path, progress: Callable[[float], None],
                 cancel: threading.Event) -> list[dict]:
        with self.lock:
            n = len(self.gates)
            gate = threading.Event()
            if self.opened:
                gate.set()
            self.gates.append(gate)
            self.cancels.append(cancel)
            self.out_dirs.append(out_dir)
        self.entered[n].set()
        assert gate.wait(30), "test never released this run"
        progress(0.5)
        (out_dir / "result.txt").write_text(str(n + 1))
        return [{"name": "result.txt", "file": "result.txt", "type": "text/plain", "size": 1}]

    def release_all(self) -> None:
        with self.lock:
            self.opened = True
            for gate in self.gates:
                gate.set()


class TrackedRunner(JobRunner):
    """The real runner; counts finished ``_run`` calls so tests can wait for a run's cleanup."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.done = threading.Semaphore(0)
        self.submitted = 0  # runs handed to the pool (synchronously, inside ``start``)

    def _run(self, user: str, job_id: str, cancel: threading.Event) -> None:
        try:
            super()._run(user, job_id, cancel)
        finally:
            self.done.release()

    def _submit(self, user: str, job_id: str) -> None:
        self.submitted += 1
        super()._submit(user, job_id)

    def wait_runs(self, count: int) -> None:
        for _ in range(count):
            assert self.done.acquire(timeout=30), "a job run did not return"


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[JobStore, TrackedRunner, ScriptedExecute]]:
    store = JobStore(tmp_path / "jobs.sqlite", lambda user, job_id: tmp_path / user / "jobs" / job_id)
    execute = ScriptedExecute()
    runner = TrackedRunner(store, execute, workers=2)
    yield store, runner, execute
    execute.release_all()
    runner.shutdown()


def _entered(execute: ScriptedExecute, n: int) -> None:
    assert execute.entered[n].wait(30), f"run {n + 1} never started"


def _wait_status(store: JobStore, job_id: str, status: str) -> None:
    deadline = time.monotonic() + 30
    while store.get(USER, job_id)["status"] != status:
        assert time.monotonic() < deadline, f"job never reached {status!r}"
        time.sleep(0.01)


def test_restart_after_cancel_keeps_the_new_runs_cancel_handle(setup) -> None:
    """The canceled first run finishing later must not drop the second run's cancel event,
    else canceling the second run has no effect and it ends up ``finished``."""
    store, runner, execute = setup
    job_id = store.create(USER, GRAPH)["id"]
    runner.start(USER, job_id)
    _entered(execute, 0)
    runner.cancel(USER, job_id)
    assert store.get(USER, job_id)["status"] == "canceled"
    runner.start(USER, job_id)  # restart while run 1 still winds down
    _entered(execute, 1)
    execute.gates[0].set()
    runner.wait_runs(1)  # run 1 returned and cleaned up
    runner.cancel(USER, job_id)
    assert execute.cancels[1].is_set()
    execute.gates[1].set()
    runner.wait_runs(1)
    assert store.get(USER, job_id)["status"] == "canceled"


def test_a_canceled_run_never_writes_into_the_results_of_the_next_run(setup, tmp_path) -> None:
    store, runner, execute = setup
    job_id = store.create(USER, GRAPH)["id"]
    runner.start(USER, job_id)
    _entered(execute, 0)
    runner.cancel(USER, job_id)
    runner.start(USER, job_id)
    _entered(execute, 1)
    execute.gates[1].set()  # the second run finishes first
    runner.wait_runs(1)
    assert store.get(USER, job_id)["status"] == "finished"
    results = store.results_dir(USER, job_id)
    assert (results / "result.txt").read_text() == "2"
    execute.gates[0].set()  # now the canceled first run writes its file and returns
    runner.wait_runs(1)
    assert store.get(USER, job_id)["status"] == "finished"
    assert (results / "result.txt").read_text() == "2"
    # and nothing of the canceled run is left behind next to the results
    assert sorted(p.name for p in results.parent.iterdir()) == [job_id]


def test_two_simultaneous_starts_run_the_job_once(setup, monkeypatch) -> None:
    store, runner, execute = setup
    job_id = store.create(USER, GRAPH)["id"]
    both_read = threading.Barrier(2, timeout=5)
    real_get = store.get
    starters = set()

    def get_then_wait(user: str, jid: str) -> dict:
        job = real_get(user, jid)
        if threading.get_ident() in starters:
            both_read.wait()  # both requests saw the job idle before either queued it
        return job

    monkeypatch.setattr(store, "get", get_then_wait)
    errors: list[BaseException] = []

    def start() -> None:
        starters.add(threading.get_ident())
        try:
            runner.start(USER, job_id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    _entered(execute, 0)
    runner.cancel(USER, job_id)  # must reach the one run that is executing
    assert execute.cancels[0].is_set()
    execute.release_all()
    runner.wait_runs(1)
    assert real_get(USER, job_id)["status"] == "canceled"
    # a second run would have been handed to the pool inside one of the joined start() calls
    assert runner.submitted == 1
    assert len(execute.gates) == 1
    queued = [e for e in store.logs(USER, job_id) if e["message"] == "Job queued."]
    assert len(queued) == 1


def test_cancel_between_the_queued_check_and_the_run_start_sticks(setup, monkeypatch) -> None:
    """A cancel landing while the worker picks the job up must leave it ``canceled``,
    not ``running`` forever."""
    store, runner, execute = setup
    job_id = store.create(USER, GRAPH)["id"]
    real_get = store.get
    canceled = threading.Event()

    def get_then_cancel(user: str, jid: str) -> dict:
        job = real_get(user, jid)
        if threading.current_thread().name.startswith("openeo-job") and not canceled.is_set():
            canceled.set()
            other = threading.Thread(target=runner.cancel, args=(USER, job_id))
            other.start()
            other.join(2)  # the cancel request completes while this worker is mid-pick-up
        return job

    monkeypatch.setattr(store, "get", get_then_cancel)
    execute.release_all()  # runs do not block in this test
    runner.start(USER, job_id)
    runner.wait_runs(1)
    assert canceled.is_set()
    assert real_get(USER, job_id)["status"] == "canceled"
