"""``job_workers``: N batch jobs run at once, the next ones stay queued until a worker frees."""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import openeo
import pytest

from backend_testlib import PASSWORD, USER, ArrayCatalog, ArrayCollection, make_config
from jupyter_eo.backend.__main__ import add_serve_arguments, config_from_args
from jupyter_eo.backend.config import BackendConfig
from jupyter_eo.backend.testing import serve_in_thread
from jupyter_eo.cli import build_parser, main


class GatedCollection(ArrayCollection):
    """Every ``load`` waits on its own Event (in call order) that the test sets."""

    def __init__(self) -> None:
        super().__init__()
        self.gates: list[threading.Event] = []
        self.lock = threading.Lock()
        self.opened = False

    def load(self, *args: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
        gate = threading.Event()
        with self.lock:
            self.gates.append(gate)
            if self.opened:
                gate.set()
        gate.wait(60)
        return super().load(*args, **kwargs)

    def open_all(self) -> None:
        with self.lock:
            self.opened = True
            for gate in self.gates:
                gate.set()


class GatedCatalog(ArrayCatalog):
    def __init__(self) -> None:
        self.collection = GatedCollection()


@pytest.fixture
def gated() -> Iterator[GatedCollection]:
    catalog = GatedCatalog()
    yield catalog
    catalog.collection.open_all()  # never leave a job thread blocked


def _wait(predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _start_jobs(url: str, count: int) -> list[openeo.BatchJob]:
    con = openeo.connect(url)
    con.authenticate_basic(USER, PASSWORD)
    cube = con.load_collection("TEST_S2", bands=["B04"]).reduce_dimension("t", reducer="max") \
        .save_result("GTiff")
    jobs = [cube.create_job(title=f"job {i}") for i in range(count)]
    for job in jobs:
        job.start()
    return jobs


def test_two_workers_run_two_jobs_and_queue_the_third(data_dir: Path, gated) -> None:
    collection = gated.collection
    with serve_in_thread(make_config(data_dir, catalog=gated, job_workers=2)) as url:
        jobs = _start_jobs(url, 3)
        _wait(lambda: len(collection.gates) == 2, "two jobs to load")
        # Both workers are blocked at their gates, so the third job can only wait in the
        # pool's queue; a third worker thread is what would have run it (no sleep needed)
        pool = serve_in_thread.last_backend.runner.pool  # type: ignore[attr-defined]
        assert len(pool._threads) == 2 and pool._work_queue.qsize() == 1
        assert len(collection.gates) == 2
        assert [job.status() for job in jobs] == ["running", "running", "queued"]

        collection.gates[0].set()  # one running job finishes; its worker takes the third job
        _wait(lambda: [job.status() for job in jobs[:2]].count("finished") == 1,
              "one of the running jobs to finish")
        _wait(lambda: len(collection.gates) == 3, "the third job to load")
        assert sorted(job.status() for job in jobs[:2]) == ["finished", "running"]
        assert jobs[2].status() == "running"

        collection.open_all()
        _wait(lambda: all(job.status() == "finished" for job in jobs), "all jobs to finish")
        messages = [entry["message"] for entry in jobs[2].logs()]
        assert messages.index("Job queued.") < messages.index("Job started.")


def test_queued_jobs_resume_after_restart_with_the_same_workers(data_dir: Path, gated) -> None:
    with serve_in_thread(make_config(data_dir, catalog=gated, job_workers=2)) as url:
        jobs = _start_jobs(url, 3)
        _wait(lambda: len(gated.collection.gates) == 2, "two jobs to load")
        ids = [job.job_id for job in jobs]
    gated.collection.open_all()  # let the interrupted threads of the stopped app return
    with serve_in_thread(make_config(data_dir, job_workers=2)) as url:
        con = openeo.connect(url)
        con.authenticate_basic(USER, PASSWORD)
        again = [con.job(job_id) for job_id in ids]
        _wait(lambda: again[2].status() == "finished", "the queued job to run after restart")
        # the two that were running when the backend stopped are reported interrupted
        assert [job.status() for job in again[:2]] == ["error", "error"]


@pytest.mark.parametrize("value", [0, 33, -1, True, 2.0])
def test_config_rejects_job_workers_out_of_range(tmp_path: Path, value: Any) -> None:
    with pytest.raises(ValueError, match="job_workers must be an integer from 1 to 32"):
        BackendConfig(data_dir=tmp_path, job_workers=value)


@pytest.mark.parametrize("value", ["0", "33", "two", "1.5"])
def test_cli_rejects_bad_job_workers(value: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--job-workers", value])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--job-workers" in err and ("1 to 32" in err or "integer" in err)


def test_cli_job_workers_reaches_the_backend_config(tmp_path: Path) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    args = parser.parse_args(["--data-dir", str(tmp_path), "--job-workers", "32"])
    assert config_from_args(args).job_workers == 32
    default = parser.parse_args(["--data-dir", str(tmp_path)])
    assert config_from_args(default).job_workers == 1


def test_serve_help_documents_job_workers() -> None:
    subcommands = build_parser()._subparsers._group_actions[0]  # type: ignore[union-attr]
    serve = subcommands.choices["serve"]  # type: ignore[attr-defined]
    text = " ".join(serve.format_help().split())
    assert "--job-workers N" in text and "1 to 32 (default 1)" in text and "queued" in text
