"""Listing and cancelling jobs, CLI and API: a runaway bulk job can be stopped, keeping the
chunks it stored; a job id that was lost can be found again. On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from themecoder.cli import app
from themecoder.config import Settings
from themecoder.errors import Conflict, Forbidden, InvalidInput
from themecoder.services import audit, jobs, projects
from themecoder.services.codebook import load as load_codebook
from themecoder.services.intake import IncomingItem
from themecoder.services.jobs import JobEnv
from themecoder.services.worker import Worker
from themecoder.storage.review import JobRecord
from themecoder.storage.tables import ItemRecord

TEXTS = [
    "Support took two weeks to reply to a simple question.",
    "Pricing doubled this year and finance is asking why.",
    "Dashboards save us an hour a day, great value.",
]


@pytest.fixture
def acme(db_url: str, acme_store: Any, tmp_path: Path) -> tuple[Settings, Any, Any]:
    """Project acme's store, its ingest principal and settings with no embedded worker."""
    factory, who = acme_store
    s = Settings(
        db_url=db_url,
        results_dir=tmp_path / "results",
        project_models_dir=tmp_path / "models",
        job_lease_s=30.0,
        worker_embedded=False,
    )
    return s, factory, who


def _queue(factory: sessionmaker[Session], who: Any, n: int = 3) -> int:
    items = [IncomingItem(f"T-{i}", TEXTS[i % len(TEXTS)]) for i in range(n)]
    with factory.begin() as session:
        return jobs.enqueue_code(session, who, items, 1)["id"]


class CancelledWhileCoding:
    """A registry whose second chunk is cancelled by a user while it is being coded."""

    def __init__(self, coder: Any, factory: sessionmaker[Session], who: Any, job_id: int):
        self.coder, self.factory, self.who, self.job_id = coder, factory, who, job_id
        self.version, self.calls = coder.version, 0

    def get(self, path: object) -> CancelledWhileCoding:
        return self

    def code(self, items: Any, progress: Any = None) -> Any:
        self.calls += 1
        if self.calls == 2:
            with self.factory.begin() as session:
                jobs.cancel_job(session, self.who.project_id, self.job_id, self.who)
        return self.coder.code(items, progress=progress)


def test_a_running_bulk_job_cancelled_keeps_what_it_stored(acme, coder) -> None:
    s, factory, who = acme
    job_id = _queue(factory, who)  # 3 chunks of 1
    coders = CancelledWhileCoding(coder, factory, who, job_id)
    env = JobEnv(s, factory, coders, load_codebook(s.codebook_path))  # type: ignore[arg-type]

    assert Worker(env, owner="w").run_once()

    with factory() as session:
        job = jobs.get_job(session, who.project_id, job_id)
        stored = session.scalar(select(func.count()).select_from(ItemRecord))
        payload = session.get(JobRecord, job_id).payload
        [event] = audit.trail(session, who.project_id, subject=f"job:{job_id}")
    assert coders.calls == 2  # it stopped at the chunk in flight, not after the whole job
    assert (job["state"], job["done"], stored) == ("cancelled", 1, 1)  # chunk 2 rolled back
    assert job["result"]["created"] == 1  # what it stored is shown, not hidden
    assert "cancelled by key" in job["error"] and payload is None
    assert (event["action"], event["before"]["state"]) == ("job_cancel", "running")
    with factory.begin() as session, pytest.raises(Conflict, match="already ended"):
        jobs.cancel_job(session, who.project_id, job_id, who)


def test_a_queued_retrain_is_cancelled_by_an_admin_only(acme) -> None:
    s, factory, who = acme
    with factory.begin() as session:
        admin_id = projects.create_key(session, who.project_id, "admin", "admin")[0].id
        admin = projects.principal_of_key(session, admin_id)
        job_id = jobs.enqueue_retrain(session, admin, 0.05)["id"]
    with factory.begin() as session, pytest.raises(Forbidden):
        jobs.cancel_job(session, who.project_id, job_id, who)
    with factory.begin() as session:
        assert jobs.cancel_job(session, who.project_id, job_id, admin)["state"] == "cancelled"


def test_list_newest_first_by_state(acme) -> None:
    s, factory, who = acme
    first, second = _queue(factory, who), _queue(factory, who)
    with factory.begin() as session:
        jobs.cancel_job(session, who.project_id, first, who)
    with factory() as session:
        page = jobs.list_jobs(session, who.project_id)
        assert [j["id"] for j in page["jobs"]] == [second, first] and page["total"] == 2
        cancelled = jobs.list_jobs(session, who.project_id, state="cancelled")
        assert [j["id"] for j in cancelled["jobs"]] == [first]
        with pytest.raises(InvalidInput, match="unknown job state 'done'; states: queued"):
            jobs.list_jobs(session, who.project_id, state="done")


def test_api_lists_and_cancels_jobs(acme, coder) -> None:
    from fastapi.testclient import TestClient

    from themecoder_api import create_app

    s, factory, who = acme
    with factory.begin() as session:
        key = projects.create_key(session, who.project_id, "ingest", "api key")[1]
        reader = projects.create_key(session, who.project_id, "reviewer", "reader")[1]
        other = projects.create_project(session, "other")
        other_key = projects.create_key(session, other.id, "admin", "other admin")[1]
    h = {"X-API-Key": key}
    items = [{"external_id": f"T-{i}", "text": t} for i, t in enumerate(TEXTS)]
    with TestClient(create_app(s, coder=coder)) as client:
        job = client.post("/v1/jobs/code", headers=h, json={"items": items}).json()
        listed = client.get("/v1/jobs", headers=h).json()
        assert [j["id"] for j in listed["jobs"]] == [job["id"]] and listed["total"] == 1
        assert client.get("/v1/jobs", headers={"X-API-Key": other_key}).json()["jobs"] == []
        assert client.get("/v1/jobs?state=nope", headers=h).status_code == 422
        path = f"/v1/jobs/{job['id']}/cancel"
        assert client.post(path, headers={"X-API-Key": reader}).status_code == 403
        assert client.post(path, headers={"X-API-Key": other_key}).status_code == 404
        done = client.post(path, headers=h)
        assert done.status_code == 200 and done.json()["state"] == "cancelled"
        again = client.post(path, headers=h)
        assert again.status_code == 409 and "already ended" in again.json()["error"]["message"]
        running = client.get("/v1/jobs?state=running", headers=h).json()
        assert running == {"total": 0, "limit": 50, "offset": 0, "jobs": []}


def test_cli_lists_and_cancels_jobs(acme) -> None:
    s, factory, who = acme
    job_id = _queue(factory, who)
    db = ["--db", s.db_url]
    runner = CliRunner()

    listed = runner.invoke(app, ["jobs", "list", "-p", "acme", *db])
    assert listed.exit_code == 0, listed.output
    assert "queued" in listed.output and "0/3" in listed.output

    cancelled = runner.invoke(app, ["jobs", "cancel", "-p", "acme", str(job_id), *db])
    assert cancelled.exit_code == 0, cancelled.output
    assert f"cancelled job {job_id} (code): 0 of 3 stored" in cancelled.output
    with factory() as session:
        [event] = audit.trail(session, who.project_id, subject=f"job:{job_id}")
    assert (event["action"], event["actor"]) == ("job_cancel", "cli")

    again = runner.invoke(app, ["jobs", "cancel", "-p", "acme", str(job_id), *db])
    assert again.exit_code != 0 and "already ended" in again.output
    unknown = runner.invoke(app, ["jobs", "cancel", "-p", "acme", "999", *db])
    assert unknown.exit_code == 2 and "job 999 not found" in unknown.output
    bad_state = runner.invoke(app, ["jobs", "list", "-p", "acme", "--state", "done", *db])
    assert bad_state.exit_code == 2 and "unknown job state" in bad_state.output
