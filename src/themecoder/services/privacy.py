"""Personal data at ingest: what is stored, served and exported is masked.

With redaction on (``Settings.redact``, the default) every item's text is masked by the
:class:`~themecoder.pipeline.pii.PiiMasker` before it is segmented, coded and stored, so
``items.text``, ``units.text``, evidence and exports hold placeholders and unit offsets index
the masked text. Names the caller knows are masked wherever they occur: the item's speaker,
the other speakers of its source (a transcript's turns) and the values of personal metadata
columns. The speaker label and personal metadata columns are masked too.

A project's settings say which metadata columns are personal (``personal_metadata``), which
words are never names (``pii_allow``) and whether the original is kept (``keep_original``):
then it is stored Fernet-encrypted with ``Settings.pii_key``, and a project that keeps
originals refuses to ingest, and the service to start, without that key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from themecoder.config import Settings
from themecoder.errors import ConfigurationError, NotFound
from themecoder.pipeline.pii import NullMasker, PiiMasker
from themecoder.pipeline.pii_items import Policy, mask_items

__all__ = ["PROJECT_DEFAULTS", "Policy", "mask_items", "policy", "masker_for", "seal", "unseal"]
from themecoder.storage.review import ProjectRecord
from themecoder.storage.tables import ItemRecord

#: Project settings of personal data, and their defaults.
PROJECT_DEFAULTS: dict[str, Any] = {
    "personal_metadata": [],
    "keep_original": False,
    "pii_allow": [],
}


def policy(settings: Settings, project: Mapping[str, Any] | None = None) -> Policy:
    """The policy of a project's settings (``None``: the CLI's, from ``settings``)."""
    if project is None:
        return Policy(
            settings.redact, tuple(settings.personal_metadata), False, tuple(settings.pii_allow)
        )
    return Policy(
        redact=settings.redact,
        personal_metadata=tuple(project.get("personal_metadata") or ()),
        keep_original=bool(project.get("keep_original", False)),
        allow=tuple(settings.pii_allow) + tuple(project.get("pii_allow") or ()),
    )


@lru_cache(maxsize=8)
def _masker(spacy_model: str, allow: tuple[str, ...]) -> PiiMasker:
    return PiiMasker(spacy_model, allow=allow)


def masker_for(settings: Settings, p: Policy) -> PiiMasker | NullMasker:
    """The process's masker for a policy: one per allow list, its spaCy model loaded lazily."""
    return _masker(settings.spacy_model, p.allow) if p.redact else NullMasker()


def _fernet(settings: Settings) -> Any:
    from cryptography.fernet import Fernet

    if settings.pii_key is None:
        raise ConfigurationError(
            "a project keeps originals (keep_original) but THEMECODER_PII_KEY is not set"
        )
    try:
        return Fernet(settings.pii_key.get_secret_value().encode("ascii"))
    except ValueError as e:
        raise ConfigurationError(f"THEMECODER_PII_KEY is not a Fernet key: {e}") from None


def seal(settings: Settings, originals: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Encrypt each item's originals (``{id: token}``) with ``settings.pii_key``.

    Raises:
        ConfigurationError: No key, or not a Fernet key.
    """
    if not originals:
        return {}
    f = _fernet(settings)
    return {
        k: f.encrypt(json.dumps(v, ensure_ascii=False).encode("utf-8")).decode("ascii")
        for k, v in originals.items()
    }


def unseal(settings: Settings, token: str) -> dict[str, Any]:
    """The originals a :func:`seal` token holds.

    Raises:
        ConfigurationError: No key, a wrong key, or a damaged token.
    """
    from cryptography.fernet import InvalidToken

    try:
        return json.loads(_fernet(settings).decrypt(token.encode("ascii")))
    except InvalidToken:
        raise ConfigurationError("the original cannot be decrypted with this key") from None


def original_item(
    session: Session, settings: Settings, project_id: int, external_id: str
) -> dict[str, Any] | None:
    """The decrypted original of a stored item (``None`` when none was kept).

    Raises:
        NotFound: The project holds no such item.
    """
    row = session.execute(
        select(ItemRecord.id, ItemRecord.original).where(
            ItemRecord.project_id == project_id, ItemRecord.external_id == external_id
        )
    ).first()
    if row is None:
        raise NotFound(f"item {external_id!r} not found")
    return None if row.original is None else unseal(settings, row.original)


def check_keys(session: Session, settings: Settings) -> None:
    """Refuse to serve when a project keeps originals and no usable key is set.

    Raises:
        ConfigurationError: Naming the projects.
    """
    keeping = [
        p.slug
        for p in session.scalars(select(ProjectRecord).order_by(ProjectRecord.id))
        if (p.settings or {}).get("keep_original")
    ]
    if keeping:
        try:
            _fernet(settings)
        except ConfigurationError as e:
            raise ConfigurationError(f"{e.message} (projects: {', '.join(keeping)})") from None
