"""The job worker: polls the ``jobs`` table, claims a job under a lease and runs it.

``themecoder worker`` runs one in its own process, apart from the API's interactive path; with
``worker_embedded`` (the default) the API process runs the same loop in a thread. Either way
bulk work yields to interactive work: the worker codes on its own coder thread with
``worker_threads`` torch threads, at ``worker_nice`` (:func:`lower_priority` for a worker
process; the embedded worker lowers its own threads only).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from themecoder.config import Settings
from themecoder.errors import ThemecoderError
from themecoder.services.codebook import load as load_codebook
from themecoder.services.coders import CoderRegistry, pin_thread
from themecoder.services.job_kinds import HANDLERS, Handler
from themecoder.services.jobs import ClaimedJob, JobEnv, Lease, LeaseLost, Stopped
from themecoder.services.store import open_store
from themecoder.storage import jobs as store

log = logging.getLogger(__name__)


def owner_name() -> str:
    """A worker's name, unique across hosts, processes and restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    """Claims and runs jobs until stopped.

    Args:
        env: Settings, sessions, coders and codebook the jobs run with.
        owner: The name the lease is held under (default: host, pid and a random suffix).
        handlers: Job functions by kind (tests pass their own).
    """

    def __init__(
        self,
        env: JobEnv,
        owner: str | None = None,
        handlers: dict[str, Handler] | None = None,
    ) -> None:
        self.env = env
        self.owner = owner or owner_name()
        self.handlers = HANDLERS if handlers is None else handlers
        self.lease_s = env.settings.job_lease_s
        self.poll_s = env.settings.job_poll_s
        self.stopping = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> bool:
        """Claim one job and run it to an end; ``False`` when there was none to claim."""
        with self.env.factory.begin() as session:
            store.fail_exhausted(session, self.env.settings.job_max_attempts)
            record = store.claim_next(session, self.owner, self.lease_s)
            job = None if record is None else ClaimedJob.of(record)
        if job is None:
            return False
        log.info(
            "job %s (%s) claimed by %s at chunk %s", job.id, job.kind, self.owner, job.checkpoint
        )
        handler = self.handlers.get(job.kind)
        with Lease(self.env.factory, job.id, self.owner, self.lease_s, self.stopping) as lease:
            if handler is None:
                self._finish(job.id, state="failed", error=f"unknown job kind {job.kind!r}")
                return True
            try:
                result = handler(self.env, job, lease)
            except Stopped:
                with self.env.factory.begin() as session:
                    store.release(session, job.id, self.owner)
            except LeaseLost:
                log.warning(
                    "job %s: lease lost (cancelled, or taken over by another worker)", job.id
                )
            except ThemecoderError as err:
                self._finish(job.id, state="failed", error=err.message)
            except Exception as err:  # a job must end in a state, whatever went wrong
                log.exception("job %s failed", job.id)
                self._finish(job.id, state="failed", error=f"internal error: {type(err).__name__}")
            else:
                self._finish(job.id, state="succeeded", result=result)
        return True

    def held_elsewhere(self) -> list[dict[str, Any]]:
        """Jobs other workers hold under a live lease (``id``, ``owner``, ``until``): a dead
        worker's job is taken over only once its lease expires."""
        with self.env.factory() as session:
            rows = store.held_elsewhere(session, self.owner)
            return [
                {"id": j.id, "owner": j.owner, "until": j.lease_expires_at.isoformat()}
                for j in rows
                if j.lease_expires_at is not None
            ]

    def _finish(self, job_id: int, **values: object) -> None:
        with self.env.factory.begin() as session:
            if not store.finish(session, job_id, self.owner, **values):  # type: ignore[arg-type]
                log.warning("job %s: lease lost before it ended; left to its new owner", job_id)

    def run(self) -> None:
        """Poll and run jobs until :meth:`stop`; a job in progress stops after its chunk."""
        while not self.stopping.is_set():
            try:
                worked = self.run_once()
            except SQLAlchemyError:  # the database was away or busy: poll again later
                log.exception("worker %s: database error while claiming", self.owner)
                worked = False
            if not worked:
                self._wake.wait(self.poll_s)
                self._wake.clear()

    def wake(self) -> None:
        """Look for a job now (a job was just queued in this process)."""
        self._wake.set()

    def start(self, nice: int = 0) -> Worker:
        """Run :meth:`run` in a daemon thread (the API's embedded mode), its niceness raised by
        ``nice`` (threads it starts inherit it)."""

        def run() -> None:
            pin_thread(nice=nice)
            self.run()

        self._thread = threading.Thread(target=run, daemon=True, name="job-worker")
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Stop polling; wait for the job in progress to reach its next checkpoint."""
        self.stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)


AUTOGROUP = Path("/proc/self/autogroup")


def lower_priority(nice: int, autogroup: Path = AUTOGROUP) -> list[str]:
    """Lower this whole process's CPU priority by ``nice``; what was done, for the log.

    Every thread's niceness is raised (on Linux niceness is per thread; threads started later
    inherit the caller's). With autogroup scheduling (Linux's default on desktops and many
    servers) niceness only ranks threads within one session's group, while the groups of two
    sessions (the API's and the worker's) share the CPU equally; so a process that leads its
    own session (``setsid themecoder worker``, a systemd service, a container's first process)
    also sets its group's niceness. A process in a session it does not lead leaves the group
    alone: that would slow the session's other processes too.
    """
    if nice <= 0 or not hasattr(os, "setpriority"):
        return []
    task = Path("/proc/self/task")
    tids = [int(t.name) for t in task.iterdir()] if task.is_dir() else [0]
    for tid in tids:
        with_nice = min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice)
        os.setpriority(os.PRIO_PROCESS, tid, with_nice)
    done = [f"nice {os.getpriority(os.PRIO_PROCESS, 0)}"]
    if autogroup.exists():
        if os.getsid(0) == os.getpid():
            try:
                autogroup.write_text(f"{min(19, nice)}\n")
                done.append(f"autogroup {autogroup.read_text().strip()}")
            except OSError as err:  # a kernel without the knob, or a read-only /proc
                done.append(f"autogroup unchanged ({err.strerror})")
        else:
            done.append("autogroup unchanged (not a session leader: start with setsid)")
    return done


@contextmanager
def open_worker(settings: Settings) -> Iterator[Worker]:
    """A worker on the store of ``settings`` with its own coders (loaded on its first job,
    ``settings.worker_threads`` torch threads); the store's engine is disposed of on exit.
    ``themecoder worker`` runs it, after :func:`lower_priority`."""
    engine, factory = open_store(settings.db_url)
    try:
        coders = CoderRegistry(settings, threads=settings.worker_threads)
        yield Worker(JobEnv(settings, factory, coders, load_codebook(settings.codebook_path)))
    finally:
        engine.dispose()
