"""The FastAPI application: ``create_app(settings)``; ``themecoder serve`` runs it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from threadpoolctl import threadpool_limits

from themecoder import __version__
from themecoder.coder import Coder
from themecoder.config import Settings, get_settings
from themecoder.services import privacy
from themecoder.services.batching import CodeBatchers
from themecoder.services.codebook import load as load_codebook
from themecoder.services.coders import CoderRegistry
from themecoder.services.jobs import JobEnv
from themecoder.services.search import IndexCache
from themecoder.services.store import open_store
from themecoder.services.worker import Worker
from themecoder_api import errors, web
from themecoder_api.contract import error_shapes
from themecoder_api.deps import Context
from themecoder_api.gate import KeyGate
from themecoder_api.limits import BodyLimit
from themecoder_api.public import HealthPublic
from themecoder_api.routes import (
    admin,
    analytics,
    helpdesk,
    intake,
    interop,
    research,
    review,
    themes,
)

DESCRIPTION = """Codes customer feedback into six signal buckets with polarity, sentiment and
expression type, and runs the human review around it.

Authenticate with an API key (`X-API-Key: tc_...` or `Authorization: Bearer tc_...`).
Roles: **admin** (everything), **ingest** (send and code items), **reviewer** (queues,
decisions, blind double coding), **analyst** (agreement, audit). Create the first admin key
with `themecoder projects create SLUG`.
"""


def create_app(settings: Settings | None = None, coder: Coder | None = None) -> FastAPI:
    """Build the app. Nothing heavy happens here: the database is migrated at start-up and
    models load on the first request that needs them.

    Args:
        settings: Defaults to the process settings (environment, ``.env``).
        coder: A loaded coder to use as the shipped model (tests and benchmarks share one).
    """
    s = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The kNN products are tiny; idle OpenBLAS threads spinning after them took the core
        # torch needed and doubled the embedding time per request (bench_api_latency). The
        # limit is process-wide, so it is lifted again when the app stops.
        blas = None if s.blas_threads is None else threadpool_limits(s.blas_threads, "blas")
        engine, factory = open_store(s.db_url)
        try:
            with factory.begin() as session:
                privacy.check_keys(session, s)  # a project keeping originals needs the key
        except BaseException:
            engine.dispose()
            raise
        coders = CoderRegistry(s, default=coder, threads=s.coder_threads, replicas=s.coder_replicas)
        codebook = load_codebook(s.codebook_path)
        # Jobs left running by a stopped process are taken over when their lease expires;
        # without a separate `themecoder worker`, this process runs the worker in a thread.
        # Its coders are its own (a second copy of the models), on a thread of their own at
        # lower priority, so a bulk chunk never queues on the coder thread of /v1/code. A coder
        # passed in (tests) is shared: it may not be safe to call from two threads.
        worker = None
        if s.worker_embedded:
            job_coders = coders
            if coder is None:
                job_coders = CoderRegistry(s, threads=s.worker_threads, nice=s.worker_nice)
            worker = Worker(JobEnv(s, factory, job_coders, codebook)).start(nice=s.worker_nice)
        app.state.context = Context(
            settings=s,
            engine=engine,
            factory=factory,
            coders=coders,
            worker=worker,
            codebook=codebook,
            batchers=CodeBatchers(s),
            search=IndexCache(s.search_dir, s.search_exact_max),
        )
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
            engine.dispose()
            if blas is not None:
                blas.restore_original_limits()

    app = FastAPI(
        title="themecoder",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by web.install from local assets, never a CDN
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    errors.install(app)
    app.add_middleware(BodyLimit, max_bytes=s.max_body_bytes)
    app.add_middleware(KeyGate)  # added last, so outermost: the key before the body
    for module in (intake, review, admin, analytics, interop, helpdesk, research, themes):
        app.include_router(module.router)
    web.install(app, s)

    @app.get("/v1/health", tags=["meta"], response_model=HealthPublic)
    def health() -> HealthPublic:
        """Liveness: the process answers (no key needed)."""
        return HealthPublic(status="ok", version=__version__)

    def openapi() -> dict:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            app.openapi_schema = error_shapes(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
