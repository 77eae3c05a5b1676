"""Queries of jobs: their lease (claim, renew, checkpoint, finish, release), listing and
cancelling.

Every write that a worker makes to its job is conditional on it still holding the lease
(``owner`` matches and the job is running), so a worker that lost its lease (it stalled past
the expiry and another worker took the job over) changes nothing. Claiming is one
compare-and-set ``UPDATE``: on SQLite the database lock serialises writers, on PostgreSQL the
candidate row is picked with ``FOR UPDATE SKIP LOCKED`` so concurrent workers do not queue on
the same row; on both, the ``WHERE`` repeats the claim condition, so at most one claim wins.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session

from themecoder.storage.review import JobRecord
from themecoder.storage.tables import utc_now


def insert_job(
    session: Session,
    project_id: int,
    kind: str,
    total: int,
    created_by: int | None,
    payload: dict[str, Any],
) -> JobRecord:
    """A queued job; the caller commits."""
    job = JobRecord(
        project_id=project_id,
        kind=kind,
        state="queued",
        total=total,
        done=0,
        created_by=created_by,
        created_at=utc_now(),
        checkpoint=0,
        attempts=0,
        payload=payload,
    )
    session.add(job)
    session.flush()
    return job


def _claimable(now: datetime) -> ColumnElement[bool]:
    return or_(
        JobRecord.state == "queued",
        and_(JobRecord.state == "running", JobRecord.lease_expires_at < now),
    )


def fail_exhausted(session: Session, max_attempts: int, now: datetime | None = None) -> int:
    """Fail running jobs whose lease expired after ``max_attempts`` claims (a job that kills
    every worker that runs it is not retried for ever); returns how many."""
    now = now or utc_now()
    result = session.execute(
        update(JobRecord)
        .where(
            JobRecord.state == "running",
            JobRecord.lease_expires_at < now,
            JobRecord.attempts >= max_attempts,
        )
        .values(
            state="failed",
            error=f"abandoned: its worker stopped {max_attempts} times",
            finished_at=now,
            lease_expires_at=None,
            payload=None,
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


def claim_next(
    session: Session, owner: str, lease_s: float, now: datetime | None = None
) -> JobRecord | None:
    """Take the oldest queued job, or a running one whose lease expired, for ``owner``.

    Returns:
        The claimed job (its row as updated), or ``None`` when there is nothing to take. The
        caller commits; the claim holds once committed.
    """
    now = now or utc_now()
    pick = select(JobRecord.id).where(_claimable(now)).order_by(JobRecord.id).limit(1)
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    for _ in range(5):  # another worker may win the row between the pick and the update
        job_id = session.scalar(pick)
        if job_id is None:
            return None
        claimed = session.execute(
            update(JobRecord)
            .where(JobRecord.id == job_id, _claimable(now))
            .values(
                state="running",
                owner=owner,
                heartbeat_at=now,
                lease_expires_at=now + timedelta(seconds=lease_s),
                attempts=JobRecord.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount == 1:
            job = session.get(JobRecord, job_id, populate_existing=True)
            return job
    return None


def _held(job_id: int, owner: str) -> tuple[ColumnElement[bool], ...]:
    return (JobRecord.id == job_id, JobRecord.owner == owner, JobRecord.state == "running")


def _update_held(session: Session, job_id: int, holder: str, **values: Any) -> bool:
    result = session.execute(
        update(JobRecord)
        .where(*_held(job_id, holder))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def renew(session: Session, job_id: int, owner: str, lease_s: float) -> bool:
    """Extend ``owner``'s lease; ``False`` if it no longer holds the job."""
    now = utc_now()
    return _update_held(
        session,
        job_id,
        owner,
        heartbeat_at=now,
        lease_expires_at=now + timedelta(seconds=lease_s),
    )


def save_checkpoint(
    session: Session,
    job_id: int,
    owner: str,
    *,
    checkpoint: int,
    done: int,
    partial: dict[str, Any] | None,
) -> bool:
    """Record ``checkpoint`` chunks finished, in the caller's transaction (the one that stored
    the chunk); ``False`` if ``owner`` no longer holds the job, and the caller rolls back."""
    return _update_held(session, job_id, owner, checkpoint=checkpoint, done=done, result=partial)


def set_progress(session: Session, job_id: int, owner: str, done: int, total: int) -> bool:
    """Progress of a job without checkpoints (retraining)."""
    return _update_held(session, job_id, owner, done=done, total=total)


def finish(
    session: Session,
    job_id: int,
    owner: str,
    *,
    state: str,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> bool:
    """End ``owner``'s job as ``state``; its payload is dropped (it may hold raw text)."""
    values: dict[str, Any] = {
        "state": state,
        "error": error,
        "finished_at": utc_now(),
        "lease_expires_at": None,
        "payload": None,
    }
    if state == "succeeded":
        values.update(result=result, done=JobRecord.total)
    return _update_held(session, job_id, owner, **values)


def release(session: Session, job_id: int, owner: str) -> bool:
    """Give a job back to the queue (its worker is stopping); it resumes from its checkpoint.

    The claim is given back too: a worker that stopped cleanly did not abandon the job, so
    rolling restarts never count towards ``job_max_attempts`` (the job would otherwise be
    failed, its remaining items dropped, after a later single crash).
    """
    return _update_held(
        session,
        job_id,
        owner,
        state="queued",
        owner=None,
        lease_expires_at=None,
        attempts=JobRecord.attempts - 1,
    )


def cancel(session: Session, job_id: int, reason: str) -> bool:
    """End a queued or running job as ``cancelled``, its payload dropped; ``False`` if it had
    already ended. A running job's worker no longer holds it, so its next checkpoint fails and
    the chunk in flight rolls back: what was stored before stays, nothing after."""
    result = session.execute(
        update(JobRecord)
        .where(JobRecord.id == job_id, JobRecord.state.in_(("queued", "running")))
        .values(
            state="cancelled",
            error=reason,
            finished_at=utc_now(),
            owner=None,
            lease_expires_at=None,
            payload=None,
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def project_jobs(
    session: Session, project_id: int, state: str | None, limit: int, offset: int
) -> tuple[list[JobRecord], int]:
    """A page of a project's jobs, newest first, and how many there are in all."""
    where = [JobRecord.project_id == project_id]
    if state is not None:
        where.append(JobRecord.state == state)
    total = session.scalar(select(func.count()).select_from(JobRecord).where(*where)) or 0
    rows = session.scalars(
        select(JobRecord).where(*where).order_by(JobRecord.id.desc()).limit(limit).offset(offset)
    )
    return list(rows), int(total)


def held_elsewhere(session: Session, owner: str, now: datetime | None = None) -> list[JobRecord]:
    """Running jobs whose lease another worker still holds, soonest expiry first."""
    now = now or utc_now()
    return list(
        session.scalars(
            select(JobRecord)
            .where(
                JobRecord.state == "running",
                JobRecord.owner != owner,
                JobRecord.lease_expires_at >= now,
            )
            .order_by(JobRecord.lease_expires_at)
        )
    )
