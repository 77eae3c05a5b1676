"""What each kind of job does, given its claimed row and its lease.

A bulk coding job stores its items chunk by chunk; each chunk and the checkpoint naming it
commit in one transaction, so a job resumed from its checkpoint neither codes a chunk twice nor
skips one. A retrain has no chunks: a job taken over retrains from the start.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from themecoder.services import intake, models, projects
from themecoder.services.intake import IncomingItem
from themecoder.services.jobs import ClaimedJob, JobEnv, Lease

Handler = Callable[[JobEnv, ClaimedJob, Lease], dict[str, Any]]
_TOTALS = ("created", "existing", "units", "suggestions", "auto_accepted")


def run_code(env: JobEnv, job: ClaimedJob, lease: Lease) -> dict[str, Any]:
    """Ingest the job's items from its checkpoint on, one transaction per chunk."""
    batch = [IncomingItem(**item) for item in job.payload["items"]]
    size = int(job.payload["chunk"])
    totals = {key: 0 for key in _TOTALS} | dict(job.partial or {})
    for n in range(job.checkpoint, -(-len(batch) // size)):
        with env.factory() as session:
            o = intake.ingest_into(
                session,
                job.project_id,
                env.coders.get,
                batch[n * size : (n + 1) * size],
                codebook_version=env.codebook.version,
                settings=env.settings,
            )
            for key, value in zip(
                _TOTALS,
                (o.created, o.existing, o.n_units, o.n_suggestions, o.n_auto_accepted),
                strict=True,
            ):
                totals[key] += value
            lease.checkpoint(session, n + 1, min((n + 1) * size, len(batch)), totals)
            session.commit()
        lease.check_stop()
    return totals


def run_retrain(env: JobEnv, job: ClaimedJob, lease: Lease) -> dict[str, Any]:
    """Retrain the project's model, acting as the key that queued the job."""
    with env.factory() as session:
        actor = projects.principal_of_key(session, job.created_by)
    return models.retrain_project(
        env.settings,
        env.factory,
        env.coders,
        job.project_id,
        actor,
        tolerance=float(job.payload["tolerance"]),
        own_limit=env.settings.retrain_own_limit,
        progress=lease.progress,
    )


HANDLERS: dict[str, Handler] = {"code": run_code, "retrain": run_retrain}
