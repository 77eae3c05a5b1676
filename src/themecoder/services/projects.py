"""Projects (workspaces), API keys and who a key belongs to.

A key is ``tc_`` plus 32 random URL-safe bytes; only its SHA-256 is stored, so a leaked
database does not leak working keys. A key is shown once, when created.

Every change writes its audit event here, in the caller's transaction, so the CLI (actor
``None``, recorded as "cli") and the API (the caller's key) leave the same trail. A project
always keeps a live admin key: revoking the last one is a :class:`Conflict`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from themecoder.errors import Conflict, InvalidInput, NotFound
from themecoder.review.gating import DEFAULT_MIN_UNITS, DEFAULT_THRESHOLD
from themecoder.review.queue import DOUBLE_CODING_SHARE
from themecoder.services import audit
from themecoder.services.privacy import PROJECT_DEFAULTS as PII_DEFAULTS
from themecoder.storage.review import ApiKeyRecord, ProjectRecord
from themecoder.storage.tables import utc_now

ROLES = ("admin", "reviewer", "analyst", "ingest")
KEY_PREFIX = "tc_"
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
#: Review rules of a new project; an admin may change them per project.
DEFAULT_PROJECT_SETTINGS: dict[str, Any] = {
    "double_coding_share": DOUBLE_CODING_SHARE,
    "gate_threshold": DEFAULT_THRESHOLD,
    "gate_min_units": DEFAULT_MIN_UNITS,
    **PII_DEFAULTS,
}


@dataclass(frozen=True)
class Principal:
    """The caller behind an API key."""

    project_id: int
    project_slug: str
    key_id: int
    name: str
    role: str

    def has(self, *roles: str) -> bool:
        """Whether this key may act in one of ``roles``; admin may do everything."""
        return self.role == "admin" or self.role in roles


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_project(
    session: Session, slug: str, name: str | None = None, actor: Principal | None = None
) -> ProjectRecord:
    """Create a project (audited as ``project_create``); ``slug`` is lower-case letters,
    digits and dashes.

    Raises:
        InvalidInput: A malformed slug.
        Conflict: The slug is taken.
    """
    if not _SLUG.match(slug):
        raise InvalidInput(
            f"project slug {slug!r} must be 1-63 lower-case letters, digits or dashes",
            field="slug",
        )
    if session.scalar(select(ProjectRecord.id).where(ProjectRecord.slug == slug)) is not None:
        raise Conflict(f"project {slug!r} already exists", field="slug")
    project = ProjectRecord(
        slug=slug, name=name or slug, settings=dict(DEFAULT_PROJECT_SETTINGS), created_at=utc_now()
    )
    session.add(project)
    session.flush()
    after = {"slug": project.slug, "name": project.name, "settings": project.settings}
    audit.record(session, actor, project.id, "project_create", "project", None, after)
    return project


def get_project(session: Session, slug: str) -> ProjectRecord:
    """The project named ``slug``.

    Raises:
        NotFound: No such project.
    """
    project = session.scalar(select(ProjectRecord).where(ProjectRecord.slug == slug))
    if project is None:
        raise NotFound(f"project {slug!r} not found")
    return project


def model_path(session: Session, project_id: int) -> str | None:
    """The artifact path of the project's model (``None``: the shipped model)."""
    return session.scalar(select(ProjectRecord.model_path).where(ProjectRecord.id == project_id))


def project_settings(session: Session, project_id: int) -> dict[str, Any]:
    """The project's settings (review rules and personal-data rules)."""
    return dict(
        session.scalar(select(ProjectRecord.settings).where(ProjectRecord.id == project_id)) or {}
    )


def create_key(
    session: Session, project_id: int, role: str, name: str, actor: Principal | None = None
) -> tuple[ApiKeyRecord, str]:
    """Issue a key (audited as ``key_create``); returns the record and the plain key, which
    is never stored.

    Raises:
        InvalidInput: Unknown role or empty name.
    """
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}, got {role!r}", field="role")
    if not name.strip():
        raise InvalidInput("key name must not be empty", field="name")
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    record = ApiKeyRecord(
        project_id=project_id,
        name=name.strip(),
        role=role,
        key_hash=hash_key(plain),
        prefix=plain[:10],
        created_at=utc_now(),
    )
    session.add(record)
    session.flush()
    audit.record(
        session, actor, project_id, "key_create", f"key:{record.id}", None, key_view(record)
    )
    return record, plain


def revoke_key(
    session: Session, project_id: int, key_id: int, actor: Principal | None = None
) -> ApiKeyRecord:
    """Revoke a key of ``project_id`` (idempotent; audited as ``key_revoke``).

    Raises:
        NotFound: The key does not exist in this project.
        Conflict: It is the project's last live admin key (the project would be locked out).
    """
    # Lock the project row (PostgreSQL), so two admins revoking each other's keys at once
    # cannot both pass the last-admin check.
    session.get(ProjectRecord, project_id, with_for_update=True)
    record = session.get(ApiKeyRecord, key_id)
    if record is None or record.project_id != project_id:
        raise NotFound(f"API key {key_id} not found")
    if record.revoked_at is not None:
        return record
    if record.role == "admin" and live_admins(session, project_id) <= 1:
        raise Conflict(
            f"API key {key_id} is the project's last live admin key; create another admin "
            "key before revoking it",
            field="key_id",
        )
    before = key_view(record)
    record.revoked_at = utc_now()
    session.flush()
    audit.record(
        session, actor, project_id, "key_revoke", f"key:{key_id}", before, key_view(record)
    )
    return record


def list_projects(session: Session) -> list[dict[str, Any]]:
    """Every project of the store, oldest first: slug, name, when created, the model it uses
    (``None``: the shipped model) and its live keys."""
    live = (
        select(ApiKeyRecord.project_id, func.count().label("n"))
        .where(ApiKeyRecord.revoked_at.is_(None))
        .group_by(ApiKeyRecord.project_id)
        .subquery()
    )
    rows = session.execute(
        select(ProjectRecord, func.coalesce(live.c.n, 0))
        .outerjoin(live, live.c.project_id == ProjectRecord.id)
        .order_by(ProjectRecord.id)
    )
    return [
        {
            "slug": project.slug,
            "name": project.name,
            "created_at": project.created_at.isoformat(),
            "model_version": project.model_version,
            "live_keys": int(n),
        }
        for project, n in rows
    ]


def live_admins(session: Session, project_id: int) -> int:
    """Live (unrevoked) admin keys of the project."""
    return int(
        session.scalar(
            select(func.count()).where(
                ApiKeyRecord.project_id == project_id,
                ApiKeyRecord.role == "admin",
                ApiKeyRecord.revoked_at.is_(None),
            )
        )
        or 0
    )


def key_view(k: ApiKeyRecord) -> dict[str, Any]:
    """A key as listings show it (never the key itself)."""
    return {
        "id": k.id,
        "name": k.name,
        "role": k.role,
        "prefix": k.prefix,
        "created_at": k.created_at.isoformat(),
        "revoked": k.revoked_at is not None,
    }


def list_keys(session: Session, project_id: int) -> list[dict[str, Any]]:
    """The project's keys, oldest first."""
    rows = session.scalars(
        select(ApiKeyRecord).where(ApiKeyRecord.project_id == project_id).order_by(ApiKeyRecord.id)
    )
    return [key_view(k) for k in rows]


def project_view(session: Session, who: Principal) -> dict[str, Any]:
    """The caller's project, its review rules and current model, and the caller's role."""
    p = session.get(ProjectRecord, who.project_id)
    if p is None:
        raise NotFound(f"project {who.project_id} not found")
    return {
        "slug": p.slug,
        "name": p.name,
        "settings": p.settings,
        "model_version": p.model_version,
        "role": who.role,
    }


def principal_of_key(session: Session, key_id: int | None) -> Principal | None:
    """The principal a key acted as (revoked or not): a background job acts for the key that
    queued it; ``None`` for no key or an unknown one."""
    if key_id is None:
        return None
    row = session.execute(
        select(ApiKeyRecord, ProjectRecord.slug)
        .join(ProjectRecord, ProjectRecord.id == ApiKeyRecord.project_id)
        .where(ApiKeyRecord.id == key_id)
    ).first()
    if row is None:
        return None
    record, slug = row
    return Principal(record.project_id, slug, record.id, record.name, record.role)


def authenticate(session: Session, key: str) -> Principal | None:
    """The principal of a live key, or ``None`` for an unknown or revoked one."""
    if not key.startswith(KEY_PREFIX):
        return None
    row = session.execute(
        select(ApiKeyRecord, ProjectRecord.slug)
        .join(ProjectRecord, ProjectRecord.id == ApiKeyRecord.project_id)
        .where(ApiKeyRecord.key_hash == hash_key(key))
    ).first()
    if row is None or row[0].revoked_at is not None:
        return None
    record, slug = row
    return Principal(record.project_id, slug, record.id, record.name, record.role)


def update_settings(
    session: Session,
    project_id: int,
    changes: dict[str, Any],
    actor: Principal | None = None,
    *,
    key_configured: bool = False,
) -> dict[str, Any]:
    """Change a project's review or personal-data rules (audited as ``project_settings``);
    unknown keys or bad values are refused.

    Args:
        key_configured: Whether the service has a PII key; ``keep_original`` needs one.

    Raises:
        InvalidInput: An unknown setting, a value out of range, or ``keep_original`` without
            a key.
    """
    project = session.get(ProjectRecord, project_id)
    if project is None:
        raise NotFound(f"project {project_id} not found")
    unknown = sorted(set(changes) - set(DEFAULT_PROJECT_SETTINGS))
    if unknown:
        raise InvalidInput(f"unknown project settings {unknown}", field=unknown[0])
    checks = {
        "double_coding_share": lambda v: 0.0 <= v <= 1.0,
        "gate_threshold": lambda v: -1.0 < v <= 1.0,
        "gate_min_units": lambda v: float(v).is_integer() and v >= 1,
    }
    for key, value in changes.items():
        if key in PII_DEFAULTS:
            _check_pii_setting(key, value, key_configured)
        elif (
            isinstance(value, bool) or not isinstance(value, int | float) or not checks[key](value)
        ):
            raise InvalidInput(f"{key} has an invalid value {value!r}", field=key)
    before = dict(project.settings or {})
    settings = {**DEFAULT_PROJECT_SETTINGS, **before, **changes}
    project.settings = settings
    audit.record(session, actor, project_id, "project_settings", "project", before, settings)
    return settings


def _check_pii_setting(key: str, value: Any, key_configured: bool) -> None:
    if key == "keep_original":
        if not isinstance(value, bool):
            raise InvalidInput(f"{key} must be true or false", field=key)
        if value and not key_configured:
            raise InvalidInput(
                "keep_original needs THEMECODER_PII_KEY (a Fernet key) set on the service",
                field=key,
            )
    elif not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InvalidInput(f"{key} must be a list of non-empty strings", field=key)
