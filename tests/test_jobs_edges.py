"""Job journeys a user hits around restarts: a worker stopped cleanly gives its claim back, so
rolling restarts never count as abandoning the job."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from themecoder.config import Settings
from themecoder.services import jobs
from themecoder.services.codebook import load as load_codebook
from themecoder.services.intake import IncomingItem
from themecoder.services.jobs import JobEnv, Stopped
from themecoder.services.worker import Worker
from themecoder.storage import jobs as store
from themecoder.storage.review import JobRecord
from themecoder.storage.tables import utc_now


@pytest.fixture
def queued(
    db_url: str, acme_store: Any, tmp_path: Path
) -> tuple[Settings, sessionmaker[Session], int]:
    """Project acme's store with one queued bulk job."""
    factory, who = acme_store
    with factory.begin() as session:
        items = [IncomingItem("T-1", "Pricing doubled this year.")]
        job_id = jobs.enqueue_code(session, who, items, 1)["id"]
    s = Settings(db_url=db_url, results_dir=tmp_path / "results", job_lease_s=30.0)
    return s, factory, job_id


def _stops(env: JobEnv, job: Any, lease: Any) -> dict[str, Any]:
    raise Stopped("worker stopping")  # SIGTERM during a rolling restart


def test_clean_stops_do_not_count_as_abandoned_attempts(queued) -> None:
    s, factory, job_id = queued
    env = JobEnv(s, factory, None, load_codebook(s.codebook_path))  # type: ignore[arg-type]
    for n in range(s.job_max_attempts):  # three restarts, each stopping the job cleanly
        assert Worker(env, owner=f"restart-{n}", handlers={"code": _stops}).run_once()
    with factory() as session:
        job = session.get(JobRecord, job_id)
        assert (job.state, job.attempts) == ("queued", 0)
    later = utc_now() + timedelta(seconds=60)
    with factory.begin() as session:  # then one worker dies holding it
        assert store.claim_next(session, "dies", lease_s=1, now=later) is not None
    later += timedelta(seconds=60)
    with factory.begin() as session:
        assert store.fail_exhausted(session, s.job_max_attempts, now=later) == 0
        taken = store.claim_next(session, "next", lease_s=30, now=later)
        assert taken is not None and taken.payload is not None  # its items are still there


def test_worker_once_names_a_job_another_worker_still_holds(queued) -> None:
    """``worker --once`` said only "ran 0 job(s)" while a dead worker's lease was live."""
    from typer.testing import CliRunner

    from themecoder.cli import app

    s, factory, job_id = queued
    with factory.begin() as session:
        assert store.claim_next(session, "dead-worker", lease_s=600) is not None
    result = CliRunner().invoke(
        app, ["worker", "--once", "--db", s.db_url], env={"THEMECODER_WORKER_NICE": "0"}
    )
    output = " ".join(result.output.split())
    assert result.exit_code == 0, result.output
    assert "ran 0 job(s)" in output
    assert f"job {job_id} is held by worker dead-worker until" in output
    assert "taken over after then" in output
