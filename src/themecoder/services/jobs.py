"""Background jobs (bulk coding, retraining) with progress kept in the ``jobs`` table.

Jobs run on a small in-process thread pool: enough for one service process. A deployment that
outgrows one machine runs the same job functions as Ray tasks; this module stays the place
that records state and progress. A job that was queued or running when the process stopped is
marked failed on the next start (:func:`fail_interrupted`): nothing pretends to be running.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from themecoder.errors import NotFound, ThemecoderError
from themecoder.storage.review import JobRecord
from themecoder.storage.tables import utc_now

log = logging.getLogger(__name__)
STATES = ("queued", "running", "succeeded", "failed")
Progress = Callable[[int, int], None]
JobFn = Callable[[Progress], dict[str, Any]]
_PROGRESS_EVERY_S = 0.5


def view(job: JobRecord) -> dict[str, Any]:
    """A job as the API shows it."""
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


def fail_interrupted(session: Session) -> int:
    """Mark jobs left queued or running by a stopped process as failed; returns how many."""
    result = session.execute(
        update(JobRecord)
        .where(JobRecord.state.in_(("queued", "running")))
        .values(state="failed", error="interrupted: the service stopped", finished_at=utc_now())
    )
    return int(result.rowcount or 0)


class JobRunner:
    """Runs job functions in the background and records their state and progress."""

    def __init__(self, factory: sessionmaker[Session], max_workers: int = 1) -> None:
        self.factory = factory
        self.pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="job")

    def submit(
        self, project_id: int, kind: str, total: int, created_by: int | None, fn: JobFn
    ) -> dict[str, Any]:
        """Record a queued job and start it; returns its view."""
        with self.factory.begin() as session:
            job = JobRecord(
                project_id=project_id,
                kind=kind,
                state="queued",
                total=total,
                done=0,
                created_by=created_by,
                created_at=utc_now(),
            )
            session.add(job)
            session.flush()
            out = view(job)
        self.pool.submit(self._run, out["id"], fn)
        return out

    def _set(self, job_id: int, **values: Any) -> None:
        with self.factory.begin() as session:
            session.execute(update(JobRecord).where(JobRecord.id == job_id).values(**values))

    def _run(self, job_id: int, fn: JobFn) -> None:
        self._set(job_id, state="running")
        last = [0.0]

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] >= _PROGRESS_EVERY_S or done >= total:
                last[0] = now
                self._set(job_id, done=int(done), total=int(total))

        try:
            result = fn(progress)
        except ThemecoderError as err:
            self._set(job_id, state="failed", error=err.message, finished_at=utc_now())
        except Exception as err:  # a job must end in a state, whatever went wrong
            log.exception("job %s failed", job_id)
            self._set(
                job_id,
                state="failed",
                error=f"internal error: {type(err).__name__}",
                finished_at=utc_now(),
            )
        else:
            self._set(
                job_id,
                state="succeeded",
                result=result,
                done=JobRecord.total,
                finished_at=utc_now(),
            )

    def shutdown(self) -> None:
        """Stop taking jobs and wait for the running ones."""
        self.pool.shutdown(wait=True)
