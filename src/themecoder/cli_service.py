"""``themecoder serve | worker | projects | keys | models``: run the API and its job worker,
manage projects.

Parse, call one service, print. Keys are printed once, when created; only hashes are stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from themecoder.cli_support import console, out
from themecoder.cli_support import errors as _errors
from themecoder.cli_support import settings as _settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

Db = Annotated[str | None, typer.Option(help="Database URL (default THEMECODER_DB_URL).")]
Project = Annotated[str, typer.Option("--project", "-p", help="Project slug.")]

projects_app = typer.Typer(no_args_is_help=True, help="Create and list projects (workspaces).")
keys_app = typer.Typer(no_args_is_help=True, help="Issue, list and revoke API keys.")
models_app = typer.Typer(
    no_args_is_help=True, help="Retrain, list and roll back a project's models."
)

jobs_app = typer.Typer(no_args_is_help=True, help="List and cancel a project's background jobs.")


def _factory(db: str | None) -> sessionmaker[Session]:
    from themecoder.services.store import open_store

    return open_store(_settings(db).db_url)[1]


def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    db: Db = None,
) -> None:
    """Run the HTTP API (OpenAPI docs at /docs) with the same settings as the CLI.

    Example: themecoder serve --host 0.0.0.0 --port 8000
    """
    import os

    import uvicorn

    from themecoder.config import get_settings

    if db:  # the app reads its settings from the environment, as this command does
        os.environ["THEMECODER_DB_URL"] = db
        get_settings.cache_clear()
    s = _settings(db)
    # An import string, not the app: the CLI does not import the API package (cli and api
    # never import each other); uvicorn builds the app with create_app().
    uvicorn.run(
        "themecoder_api:create_app",
        factory=True,
        host=host or s.host,
        port=port or s.port,
        log_level="info",
    )


def worker(
    db: Db = None,
    once: Annotated[
        bool, typer.Option("--once", help="Run the queued jobs, then exit (no polling).")
    ] = False,
) -> None:
    """Run background jobs (bulk coding, retraining) in this process, apart from the API.

    Start the API with THEMECODER_WORKER_EMBEDDED=0 so it only queues jobs; run as many
    workers as you like on the same database. The worker runs at THEMECODER_WORKER_NICE (10)
    with THEMECODER_WORKER_THREADS (1) torch threads, so bulk jobs yield to the API; start it
    with setsid on Linux so the niceness also holds against the API's session. A worker holds
    a lease on its job and renews it; a job whose worker died is taken over when the lease
    expires and resumes from its last chunk. Stop with Ctrl-C or SIGTERM: the job in progress
    stops after its current chunk and goes back to the queue.

    Example: THEMECODER_WORKER_EMBEDDED=0 themecoder serve & setsid themecoder worker
    """
    import signal

    from themecoder.services.worker import lower_priority, open_worker

    s = _settings(db)
    for done in lower_priority(s.worker_nice):  # before any model thread starts
        console.print(f"worker priority: {done}")
    with _errors(), open_worker(s) as w:
        if once:
            n = 0
            while w.run_once():
                n += 1
            console.print(f"ran {n} job(s)")
            for job in w.held_elsewhere():  # why a job that seems stuck was not run
                console.print(
                    f"job {job['id']} is held by worker {job['owner']} until {job['until'][:19]}"
                    " UTC; if that worker is dead, the job is taken over after then"
                )
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: w.stop())
        console.print(f"worker {w.owner} polling for jobs every {s.job_poll_s:g} s")
        w.run()
        console.print("worker stopped")


@projects_app.command("create")
def create_project(
    slug: Annotated[str, typer.Argument(help="Lower-case letters, digits, dashes.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    db: Db = None,
) -> None:
    """Create a project and print its first admin key (shown once); both are audited.

    Example: themecoder projects create acme --name "Acme support"
    """
    from themecoder.services import projects

    with _errors(), _factory(db).begin() as session:
        project = projects.create_project(session, slug, name)
        _, key = projects.create_key(session, project.id, "admin", "initial admin")
    console.print(f"created project {slug!r}; its admin key (store it now, it is not kept):")
    out.print(key, markup=False)


@projects_app.command("list")
def list_projects(db: Db = None) -> None:
    """The store's projects: slug, name, created, model in use, live keys.

    Example: themecoder projects list
    """
    from themecoder.services import projects

    with _errors(), _factory(db)() as session:
        rows = projects.list_projects(session)
    table = Table(title=f"{len(rows)} project(s)")
    for col in ("slug", "name", "created", "model", "live keys"):
        table.add_column(col)
    for p in rows:
        model = p["model_version"] or "shipped"
        table.add_row(p["slug"], p["name"], p["created_at"][:19], model, str(p["live_keys"]))
    out.print(table)


@keys_app.command("create")
def create_key(
    project: Project,
    role: Annotated[str, typer.Option(help="admin, reviewer, analyst or ingest.")],
    name: Annotated[str, typer.Option(help="Who or what uses the key.")],
    db: Db = None,
) -> None:
    """Issue a key; prints it once.

    Example: themecoder keys create -p acme --role reviewer --name dana
    """
    from themecoder.services import projects

    with _errors(), _factory(db).begin() as session:
        p = projects.get_project(session, project)
        _, key = projects.create_key(session, p.id, role, name)
    out.print(key, markup=False)


@keys_app.command("list")
def list_keys(project: Project, db: Db = None) -> None:
    """The project's keys (prefix, role, state), never the keys.

    Example: themecoder keys list -p acme
    """
    from themecoder.services import projects

    with _errors(), _factory(db)() as session:
        rows = projects.list_keys(session, projects.get_project(session, project).id)
    table = Table(title=f"keys of {project}")
    for col in ("id", "prefix", "role", "name", "state"):
        table.add_column(col)
    for k in rows:
        state = "revoked" if k["revoked"] else "live"
        table.add_row(str(k["id"]), k["prefix"] + "...", k["role"], k["name"], state)
    out.print(table)


@keys_app.command("revoke")
def revoke_key(
    project: Project, key_id: Annotated[int, typer.Argument(help="Key id.")], db: Db = None
) -> None:
    """Revoke a key; it stops working at once.

    Example: themecoder keys revoke -p acme 3
    """
    from themecoder.services import projects

    with _errors(), _factory(db).begin() as session:
        projects.revoke_key(session, projects.get_project(session, project).id, key_id)
    console.print(f"revoked key {key_id}")


@models_app.command("retrain")
def retrain(
    project: Project,
    tolerance: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,  # as POST /v1/models/retrain: a margin over 1 would promote anything
            help="Non-inferiority margin on each bucket's F1 change (95% CI), 0 to 1.",
        ),
    ] = 0.05,
    db: Db = None,
) -> None:
    """Retrain on the project's reviewed decisions; promote only if not worse.

    Example: themecoder models retrain -p acme --tolerance 0.02
    """
    from themecoder.services import models, projects
    from themecoder.services.coders import CoderRegistry

    s = _settings(db)
    factory = _factory(db)
    with _errors():
        with factory() as session:
            project_id = projects.get_project(session, project).id
        report = models.retrain_project(
            s, factory, CoderRegistry(s), project_id, tolerance=tolerance
        )
    table = Table(title=f"retrain of {project}: {'promoted' if report['promote'] else 'kept'}")
    for col in ("bucket", "F1 before", "F1 after", "delta"):
        table.add_column(col, justify="left" if col == "bucket" else "right")
    for bucket, before in report["before"].items():
        after = report["after"][bucket]
        table.add_row(bucket, f"{before:.3f}", f"{after:.3f}", f"{after - before:+.3f}")
    out.print(table)
    console.print(f"model in use: {report['model_version']}")


@models_app.command("list")
def list_models(project: Project, db: Db = None) -> None:
    """The project's trained versions, newest first: promoted, rolled back, in use.

    Example: themecoder models list -p acme
    """
    from themecoder.services import models, projects

    with _errors(), _factory(db)() as session:
        p = projects.get_project(session, project)
        rows = models.list_versions(session, p.id)
        in_use = p.model_version or "shipped"
    table = Table(title=f"models of {project}")
    for col in ("version", "created", "promoted", "state", "macro-F1 delta"):
        table.add_column(col)
    for v in rows:
        state = "in use" if v["in_use"] else "rolled back" if v["rolled_back"] else ""
        deltas = (v["report"] or {}).get("deltas") or {}
        delta = f"{sum(deltas.values()) / len(deltas):+.4f}" if deltas else ""
        promoted = "yes" if v["promoted"] else "no"
        table.add_row(v["version"], v["created_at"][:19], promoted, state, delta)
    out.print(table)
    console.print(f"model in use: {in_use}")


@models_app.command("rollback")
def rollback(
    project: Project,
    to: Annotated[
        str | None, typer.Option("--to", help="An earlier promoted version, or 'shipped'.")
    ] = None,
    db: Db = None,
) -> None:
    """Take the project back to the model promoted before the current one (audited).

    Example: themecoder models rollback -p acme
    """
    from themecoder.services import models, projects

    store = _settings(db).project_models_dir
    with _errors(), _factory(db).begin() as session:
        p = projects.get_project(session, project)
        out = models.rollback(session, p.id, to=to, store=store)
    console.print(f"rolled back {out['rolled_back']}; model in use: {out['model_version']}")


@jobs_app.command("list")
def list_jobs(
    project: Project,
    state: Annotated[
        str | None, typer.Option(help="Only jobs in this state (queued, running, ...).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many.")] = 50,
    db: Db = None,
) -> None:
    """The project's background jobs, newest first: kind, state, progress, error.

    Example: themecoder jobs list -p acme --state running
    """
    from themecoder.services import jobs, projects

    with _errors(), _factory(db)() as session:
        p = projects.get_project(session, project)
        page = jobs.list_jobs(session, p.id, state, limit)
    table = Table(title=f"jobs of {project} ({page['total']} in all)")
    for col in ("id", "kind", "state", "done", "created", "finished", "error"):
        table.add_column(col)
    for j in page["jobs"]:
        finished = (j["finished_at"] or "")[:19]
        done = f"{j['done']}/{j['total']}"
        table.add_row(
            str(j["id"]), j["kind"], j["state"], done, j["created_at"][:19], finished, j["error"]
        )
    out.print(table)


@jobs_app.command("cancel")
def cancel_job(
    project: Project,
    job_id: Annotated[int, typer.Argument(min=1, help="The job's id.")],
    db: Db = None,
) -> None:
    """Cancel a queued or running job (audited); a bulk job keeps the chunks already stored.

    Example: themecoder jobs cancel -p acme 12
    """
    from themecoder.services import jobs, projects

    with _errors(), _factory(db).begin() as session:
        p = projects.get_project(session, project)
        job = jobs.cancel_job(session, p.id, job_id)
    console.print(f"cancelled job {job_id} ({job['kind']}): {job['done']} of {job['total']} stored")
