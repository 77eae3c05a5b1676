"""Dependencies: the service context, a database session per request, and the caller's key."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from themecoder.codebook.model import Codebook
from themecoder.config import Settings
from themecoder.errors import Forbidden, Unauthorized
from themecoder.services.batching import CodeBatchers
from themecoder.services.coders import CoderRegistry
from themecoder.services.projects import Principal, authenticate
from themecoder.services.search import IndexCache
from themecoder.services.worker import Worker


@dataclass
class Context:
    """What the service holds for its lifetime; models inside load lazily."""

    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    coders: CoderRegistry
    #: The embedded job worker; ``None`` when ``themecoder worker`` runs the jobs.
    worker: Worker | None
    codebook: Codebook
    batchers: CodeBatchers
    search: IndexCache

    def jobs_queued(self) -> None:
        """A job was queued: the embedded worker looks now rather than at its next poll."""
        if self.worker is not None:
            self.worker.wake()


def context(request: Request) -> Context:
    return request.app.state.context


def session(ctx: Annotated[Context, Depends(context)]) -> Iterator[Session]:
    """A session per request; routes commit explicitly, anything else rolls back."""
    with ctx.factory() as s:
        yield s


_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key.")
_bearer = HTTPBearer(auto_error=False, description="The API key as a bearer token.")


def resolve_key(db: Session, key: str | None) -> Principal:
    """The principal of a live key; :class:`Unauthorized` without one or for a bad one."""
    if not key:
        raise Unauthorized("an API key is required (X-API-Key header or Bearer token)")
    found = authenticate(db, key)
    if found is None:
        raise Unauthorized("unknown or revoked API key")
    return found


def check_role(who: Principal, roles: tuple[str, ...]) -> Principal:
    """``who`` if it may act in one of ``roles`` (admin always; none named: anyone)."""
    if roles and not who.has(*roles):
        allowed = ", ".join(("admin", *roles))
        raise Forbidden(f"role {who.role!r} may not do this; needs one of: {allowed}")
    return who


def principal(
    request: Request,
    db: Annotated[Session, Depends(session)],
    key: Annotated[str | None, Security(_key_header)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
) -> Principal:
    """The caller: 401 without a key or with an unknown or revoked one.

    The key gate (``gate.KeyGate``) has normally checked the key before the body was read;
    its principal is used, so the key is looked up once per request.
    """
    checked = getattr(request.state, "principal", None)
    if isinstance(checked, Principal):
        return checked
    return resolve_key(db, key or (bearer.credentials if bearer else None))


principal.roles = ()  # type: ignore[attr-defined]


def require(*roles: str) -> Callable[[Principal], Principal]:
    """A dependency that lets through keys with one of ``roles`` (admin always) or 403s.

    The roles are kept on the dependency (``.roles``) so the key gate can check the key and
    role before the request's body is read (see ``gate.KeyGate``).
    """

    def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
        return check_role(who, roles)

    check.roles = roles  # type: ignore[attr-defined]
    return check


Db = Annotated[Session, Depends(session)]
Ctx = Annotated[Context, Depends(context)]
Anyone = Annotated[Principal, Depends(principal)]
Admin = Annotated[Principal, Depends(require("admin"))]
Ingest = Annotated[Principal, Depends(require("ingest"))]
Reviewer = Annotated[Principal, Depends(require("reviewer"))]
Analyst = Annotated[Principal, Depends(require("analyst"))]
Reader = Annotated[Principal, Depends(require("reviewer", "analyst"))]
