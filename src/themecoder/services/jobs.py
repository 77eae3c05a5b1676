"""Background jobs (bulk coding, retraining): queued in the ``jobs`` table, run by workers.

The API only enqueues: a job row holds what the job runs on (its payload). Workers
(:mod:`themecoder.services.worker`: ``themecoder worker``, or a thread of the API process in
the embedded default) claim a job under a lease, renew it while they work and record the last
finished chunk with the chunk itself, so a job whose worker died is taken over when the lease
expires and resumes from its checkpoint; a live owner's job is never taken.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from themecoder.codebook.model import Codebook
from themecoder.config import Settings
from themecoder.errors import Conflict, Forbidden, InvalidInput, NotFound
from themecoder.services import audit
from themecoder.services.coders import CoderRegistry
from themecoder.services.intake import IncomingItem
from themecoder.services.projects import Principal
from themecoder.storage import jobs as store
from themecoder.storage.review import JobRecord

log = logging.getLogger(__name__)
STATES = ("queued", "running", "succeeded", "failed", "cancelled")
_PROGRESS_EVERY_S = 0.5


@dataclass
class JobEnv:
    """What job functions run with: the same objects the API process holds."""

    settings: Settings
    factory: sessionmaker[Session]
    coders: CoderRegistry
    codebook: Codebook


@dataclass(frozen=True)
class ClaimedJob:
    """A job as its worker claimed it (detached from any session)."""

    id: int
    project_id: int
    kind: str
    total: int
    created_by: int | None
    checkpoint: int
    payload: dict[str, Any]
    partial: dict[str, Any] | None

    @classmethod
    def of(cls, job: JobRecord) -> ClaimedJob:
        return cls(
            job.id,
            job.project_id,
            job.kind,
            job.total,
            job.created_by,
            job.checkpoint,
            job.payload or {},
            job.result,
        )


class LeaseLost(Exception):
    """The worker no longer holds the job: it stalled past its lease and was taken over, or
    the job was cancelled."""


class Stopped(Exception):
    """The worker is stopping; the job goes back to the queue at its checkpoint."""


def view(job: JobRecord) -> dict[str, Any]:
    """A job as the API shows it; ``result`` is the final result, or the totals of the chunks
    stored so far while a bulk job runs or after it failed or was cancelled."""
    return {
        "id": job.id,
        "kind": job.kind,
        "state": job.state,
        "done": job.done,
        "total": job.total,
        "progress": round(job.done / job.total, 4) if job.total else None,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "error": job.error,
        "result": job.result,
    }


def get_job(session: Session, project_id: int, job_id: int) -> dict[str, Any]:
    """One job of the project.

    Raises:
        NotFound: No such job in this project.
    """
    job = session.get(JobRecord, job_id)
    if job is None or job.project_id != project_id:
        raise NotFound(f"job {job_id} not found")
    return view(job)


def list_jobs(
    session: Session, project_id: int, state: str | None = None, limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    """A page of the project's jobs, newest first: ``{"total", "jobs"}``.

    Raises:
        InvalidInput: ``state`` is not one of :data:`STATES`.
    """
    if state is not None and state not in STATES:
        raise InvalidInput(
            f"unknown job state {state!r}; states: {', '.join(STATES)}", field="state"
        )
    rows, total = store.project_jobs(session, project_id, state, limit, offset)
    return {"total": total, "jobs": [view(job) for job in rows]}


def cancel_job(
    session: Session, project_id: int, job_id: int, actor: Principal | None = None
) -> dict[str, Any]:
    """Cancel a queued or running job of ``project_id`` (audited as ``job_cancel``; ``actor``
    ``None`` is the command line); the caller commits. A bulk job keeps the chunks stored
    before it stopped (``done``, ``result``). A retrain can be cancelled only while queued:
    once running it ends with its promotion decision.

    Raises:
        NotFound: No such job in this project.
        Forbidden: A retrain job, and the key is not an admin's.
        Conflict: The job has already ended, or is a running retrain.
    """
    job = session.get(JobRecord, job_id, with_for_update=True)
    if job is None or job.project_id != project_id:
        raise NotFound(f"job {job_id} not found")
    if job.kind == "retrain" and actor is not None and not actor.has("admin"):
        raise Forbidden("only an admin key may cancel a retrain job")
    if job.kind == "retrain" and job.state == "running":
        raise Conflict(f"job {job_id} is a running retrain; it ends with its promotion decision")
    before = view(job)
    by = "the command line" if actor is None else f"key {actor.key_id} ({actor.name})"
    if not store.cancel(session, job_id, f"cancelled by {by}"):
        raise Conflict(f"job {job_id} has already ended ({job.state})")
    session.refresh(job)
    after = view(job)
    audit.record(session, actor, project_id, "job_cancel", f"job:{job_id}", before, after)
    return after


def enqueue_code(
    session: Session, who: Principal, items: Sequence[IncomingItem], chunk: int
) -> dict[str, Any]:
    """Queue a bulk coding job over ``items``, stored ``chunk`` items per transaction; the
    caller commits. Returns the job's view."""
    payload = {"chunk": chunk, "items": [asdict(i) for i in items]}
    job = store.insert_job(session, who.project_id, "code", len(items), who.key_id, payload)
    return view(job)


def enqueue_retrain(session: Session, who: Principal, tolerance: float) -> dict[str, Any]:
    """Queue a retrain of the project's model; the caller commits. Returns the job's view."""
    job = store.insert_job(
        session, who.project_id, "retrain", 4, who.key_id, {"tolerance": tolerance}
    )
    return view(job)


class Lease:
    """A worker's hold on one job: a heartbeat thread renews it; checkpoints, progress and the
    end are written only while it holds."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        job_id: int,
        owner: str,
        lease_s: float,
        stopping: threading.Event,
    ) -> None:
        self.factory = factory
        self.job_id = job_id
        self.owner = owner
        self.lease_s = lease_s
        self.stopping = stopping
        self.lost = threading.Event()
        self._done = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, daemon=True, name="job-heartbeat")
        self._last_progress = 0.0

    def __enter__(self) -> Lease:
        self._beat.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._beat.join()

    def _heartbeat(self) -> None:
        while not self._done.wait(self.lease_s / 3):
            try:
                with self.factory.begin() as session:
                    held = store.renew(session, self.job_id, self.owner, self.lease_s)
            except SQLAlchemyError:  # busy or away: the next beat tries again within the lease
                log.warning("job %s: heartbeat failed", self.job_id, exc_info=True)
                continue
            if not held:
                self.lost.set()
                return

    def checkpoint(self, session: Session, checkpoint: int, done: int, partial: dict) -> None:
        """Record ``checkpoint`` chunks finished in ``session``'s transaction (the caller
        commits it with the chunk).

        Raises:
            LeaseLost: Another worker holds the job now; the caller must roll back.
        """
        if not store.save_checkpoint(
            session, self.job_id, self.owner, checkpoint=checkpoint, done=done, partial=partial
        ):
            raise LeaseLost(f"job {self.job_id}: lease lost")

    def progress(self, done: int, total: int) -> None:
        """Progress of a job without checkpoints, written at most every half second."""
        now = time.monotonic()
        if now - self._last_progress < _PROGRESS_EVERY_S and done < total:
            return
        self._last_progress = now
        with self.factory.begin() as session:
            if not store.set_progress(session, self.job_id, self.owner, int(done), int(total)):
                raise LeaseLost(f"job {self.job_id}: lease lost")

    def check_stop(self) -> None:
        """Between chunks: stop here if the worker is stopping.

        Raises:
            Stopped: The worker is stopping.
        """
        if self.stopping.is_set():
            raise Stopped(f"job {self.job_id}: worker stopping")
