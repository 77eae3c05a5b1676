"""Leased jobs: a live lease is never taken, an expired one is; a bulk job resumes from its
checkpoint after its worker crashed; the API queues and a separate worker runs, on SQLite and
PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from themecoder.config import Settings
from themecoder.services import jobs, projects
from themecoder.services.codebook import load as load_codebook
from themecoder.services.coders import CoderRegistry
from themecoder.services.intake import IncomingItem
from themecoder.services.jobs import JobEnv
from themecoder.services.worker import Worker
from themecoder.storage import init_db, make_engine, session_factory
from themecoder.storage import jobs as store
from themecoder.storage.review import JobRecord
from themecoder.storage.tables import ItemRecord, utc_now

TEXTS = [
    "The renewal is at risk: support never answered our ticket.",
    "Onboarding was clear and the team loved the setup guide.",
    "Pricing doubled this year and finance is asking why.",
    "We would buy more seats if the API had webhooks.",
    "Dashboards save us an hour a day, great value.",
    "Support took two weeks to reply to a simple question.",
]


@pytest.fixture
def store_(
    db_url: str, acme_store: Any, tmp_path: Path
) -> tuple[Settings, sessionmaker[Session], Any]:
    """Project acme's store, its ingest principal and short-leased settings for it."""
    factory, who = acme_store
    s = Settings(
        db_url=db_url,
        results_dir=tmp_path / "results",
        project_models_dir=tmp_path / "models",
        job_lease_s=0.6,
        job_poll_s=0.05,
    )
    return s, factory, who


def _queue(factory: sessionmaker[Session], who: Any, n: int = 3, chunk: int = 1) -> int:
    items = [IncomingItem(f"T-{i}", TEXTS[i % len(TEXTS)]) for i in range(n)]
    with factory.begin() as session:
        return jobs.enqueue_code(session, who, items, chunk)["id"]


def test_a_live_lease_is_never_taken_an_expired_one_is(store_) -> None:
    _, factory, who = store_
    job_id = _queue(factory, who)
    with factory.begin() as session:
        assert store.claim_next(session, "a", lease_s=30).id == job_id
    with factory.begin() as session:
        assert store.claim_next(session, "b", lease_s=30) is None  # a is alive
        assert store.renew(session, job_id, "a", lease_s=30)
    later = utc_now() + timedelta(seconds=31)  # a stopped renewing: its lease ran out
    with factory.begin() as session:
        taken = store.claim_next(session, "b", lease_s=30, now=later)
        assert taken is not None and taken.owner == "b" and taken.attempts == 2
    with factory.begin() as session:  # the old owner can no longer write to the job
        assert not store.renew(session, job_id, "a", lease_s=30)
        assert not store.save_checkpoint(session, job_id, "a", checkpoint=3, done=3, partial={})
        assert not store.finish(session, job_id, "a", state="failed", error="x")
        assert session.get(JobRecord, job_id).state == "running"


def test_concurrent_claims_have_one_winner(store_) -> None:
    _, factory, who = store_
    _queue(factory, who)
    won: list[object] = []
    start = threading.Barrier(6)

    def claim(name: str) -> None:
        start.wait()
        with factory.begin() as session:
            job = store.claim_next(session, name, lease_s=30)
            if job is not None:
                won.append(job.owner)

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1


def test_a_job_abandoned_too_often_fails(store_) -> None:
    s, factory, who = store_
    job_id = _queue(factory, who)
    later = utc_now()
    for attempt in range(s.job_max_attempts):
        later += timedelta(seconds=60)
        with factory.begin() as session:
            assert store.claim_next(session, f"w{attempt}", lease_s=1, now=later) is not None
    with factory.begin() as session:
        assert (
            store.fail_exhausted(session, s.job_max_attempts, now=later + timedelta(seconds=60))
            == 1
        )
    with factory() as session:
        job = session.get(JobRecord, job_id)
        assert job.state == "failed" and "stopped 3 times" in job.error and job.payload is None


class Crash(BaseException):
    """The worker process dying mid-job (not an error a job catches)."""


class Coders:
    """A registry that counts the texts it codes and can crash on its ``crash_on``-th call."""

    def __init__(self, coder: Any, crash_on: int | None = None) -> None:
        self.coder, self.crash_on, self.calls, self.texts = coder, crash_on, 0, 0
        self.version = coder.version

    def get(self, path: object) -> Coders:
        return self

    def code(self, items: Any, progress: Any = None) -> Any:
        self.calls += 1
        if self.calls == self.crash_on:
            raise Crash
        self.texts += len(items)
        return self.coder.code(items, progress=progress)


def _env(s: Settings, factory: sessionmaker[Session], coders: Any) -> JobEnv:
    return JobEnv(s, factory, coders, load_codebook(s.codebook_path))


def test_a_crashed_bulk_job_resumes_from_its_checkpoint(store_, coder) -> None:
    s, factory, who = store_
    s = s.model_copy(update={"job_lease_s": 30.0})  # no lease runs out by itself here
    job_id = _queue(factory, who)  # 3 items, 3 chunks of 1
    dying = Coders(coder, crash_on=2)
    with pytest.raises(Crash):
        Worker(_env(s, factory, dying), owner="a").run_once()
    with factory() as session:
        job = session.get(JobRecord, job_id)
        assert (job.state, job.owner, job.checkpoint, job.done) == ("running", "a", 1, 1)
    healthy = Coders(coder)
    b = Worker(_env(s, factory, healthy), owner="b")
    assert not b.run_once()  # a's lease has not run out yet
    with factory.begin() as session:  # a is dead: its lease runs out
        session.get(JobRecord, job_id).lease_expires_at = utc_now() - timedelta(seconds=1)
    assert b.run_once()
    with factory() as session:
        job = session.get(JobRecord, job_id)
        n_items = session.scalar(select(func.count()).select_from(ItemRecord))
    assert job.state == "succeeded" and job.done == 3 and job.attempts == 2
    assert job.payload is None  # the raw texts go once the job ends
    assert job.result["created"] == 3 and job.result["existing"] == 0
    assert n_items == 3
    assert (dying.texts, healthy.texts) == (1, 2)  # nothing coded twice, nothing skipped


def test_a_stopping_worker_gives_its_job_back_at_the_checkpoint(store_, coder) -> None:
    s, factory, who = store_
    job_id = _queue(factory, who, n=2)
    w = Worker(_env(s, factory, Coders(coder)), owner="a")
    w.stopping.set()  # asked to stop: it finishes the chunk in hand, then releases the job
    assert w.run_once()
    with factory() as session:
        job = session.get(JobRecord, job_id)
        assert (job.state, job.owner, job.checkpoint) == ("queued", None, 1)
    assert Worker(_env(s, factory, Coders(coder)), owner="b").run_once()
    with factory() as session:
        job = session.get(JobRecord, job_id)
        assert job.state == "succeeded" and job.result["created"] == 2


def test_the_api_queues_and_a_separate_worker_runs(db_url: str, coder, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from themecoder_api import create_app

    s = Settings(
        db_url=db_url,
        results_dir=tmp_path / "results",
        project_models_dir=tmp_path / "models",
        worker_embedded=False,
        job_chunk_items=1,
        job_poll_s=0.05,
    )
    engine = make_engine(db_url)
    init_db(engine)
    factory = session_factory(engine)
    with factory.begin() as session:
        acme = projects.create_project(session, "acme")
        key = projects.create_key(session, acme.id, "ingest", "ingest key")[1]
    items = [{"external_id": f"T-{i}", "text": t} for i, t in enumerate(TEXTS[:3])]
    h = {"X-API-Key": key}
    with TestClient(create_app(s, coder=coder)) as client:
        job = client.post("/v1/jobs/code", headers=h, json={"items": items}).json()
        time.sleep(0.2)
        assert client.get(f"/v1/jobs/{job['id']}", headers=h).json()["state"] == "queued"
        worker = Worker(_env(s, factory, CoderRegistry(s, default=coder))).start()
        deadline = time.monotonic() + 60
        while job["state"] not in ("succeeded", "failed") and time.monotonic() < deadline:
            time.sleep(0.1)
            job = client.get(f"/v1/jobs/{job['id']}", headers=h).json()
        worker.stop()
    engine.dispose()
    assert job["state"] == "succeeded", job
    assert job["done"] == job["total"] == len(items) and job["result"]["created"] == len(items)


def test_worker_command_runs_the_queue_and_exits_with_once(settings, monkeypatch) -> None:
    from typer.testing import CliRunner

    from themecoder.cli import app

    monkeypatch.setenv("THEMECODER_WORKER_NICE", "0")  # in-process: leave pytest's priority
    result = CliRunner().invoke(app, ["worker", "--once", "--db", settings.db_url])
    assert result.exit_code == 0, result.output
    assert "ran 0 job(s)" in result.output
