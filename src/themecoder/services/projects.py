"""Projects (workspaces), API keys and who a key belongs to.

A key is ``tc_`` plus 32 random URL-safe bytes; only its SHA-256 is stored, so a leaked
database does not leak working keys. A key is shown once, when created.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from themecoder.errors import Conflict, InvalidInput, NotFound
from themecoder.review.gating import DEFAULT_MIN_UNITS, DEFAULT_THRESHOLD
from themecoder.review.queue import DOUBLE_CODING_SHARE
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


def create_project(session: Session, slug: str, name: str | None = None) -> ProjectRecord:
    """Create a project; ``slug`` is lower-case letters, digits and dashes.

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


def create_key(session: Session, project_id: int, role: str, name: str) -> tuple[ApiKeyRecord, str]:
    """Issue a key; returns the record and the plain key, which is never stored.

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
    return record, plain


def revoke_key(session: Session, project_id: int, key_id: int) -> ApiKeyRecord:
    """Revoke a key of ``project_id`` (idempotent).

    Raises:
        NotFound: The key does not exist in this project.
    """
    record = session.get(ApiKeyRecord, key_id)
    if record is None or record.project_id != project_id:
        raise NotFound(f"API key {key_id} not found")
    if record.revoked_at is None:
        record.revoked_at = utc_now()
    return record


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


def update_settings(session: Session, project_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Change a project's review rules; unknown keys or bad values are refused.

    Raises:
        InvalidInput: An unknown setting or a value out of range.
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
        if isinstance(value, bool) or not isinstance(value, int | float) or not checks[key](value):
            raise InvalidInput(f"{key} has an invalid value {value!r}", field=key)
    settings = {**DEFAULT_PROJECT_SETTINGS, **(project.settings or {}), **changes}
    project.settings = settings
    return settings
