"""Personal data: items keep an encrypted original (opt-in), stored rows are masked.

Adds ``items.original`` (a Fernet token, NULL unless a project keeps originals) and, with
redaction on (``THEMECODER_REDACT``, default true), masks every stored item as ingest now
does: text, speaker, transcript name fields and the project's ``personal_metadata`` columns;
its units' text and offsets are moved onto the masked text. Originals of rows stored before
this revision are not kept (there was no key when they were stored). Downgrade drops the
column; masked text stays masked.

Revision ID: 0007_pii
Revises: 0006_analytics
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0007_pii"
down_revision: str | None = "0006_analytics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHUNK = 500


def upgrade() -> None:
    """Add the column, then mask what is stored."""
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("original", sa.Text(), nullable=True))
    from themecoder.config import get_settings

    settings = get_settings()
    if settings.redact:
        mask_stored(op.get_bind(), settings.spacy_model, tuple(settings.pii_allow))


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_column("original")


def mask_stored(conn: sa.Connection, spacy_model: str, allow: tuple[str, ...]) -> int:
    """Mask every stored item and its units in place; returns how many items changed."""
    from themecoder.domain import Item
    from themecoder.pipeline.pii import PiiMasker
    from themecoder.pipeline.pii_items import Policy, mask_each

    items = sa.table(
        "items",
        sa.column("id", sa.Integer),
        sa.column("run_id", sa.Integer),
        sa.column("project_id", sa.Integer),
        sa.column("text", sa.Text),
        sa.column("speaker", sa.String),
        sa.column("source", sa.String),
        sa.column("meta", sa.JSON),
    )
    units = sa.table(
        "units",
        sa.column("id", sa.Integer),
        sa.column("item_id", sa.Integer),
        sa.column("start_char", sa.Integer),
        sa.column("end_char", sa.Integer),
        sa.column("text", sa.Text),
    )
    projects = sa.table("projects", sa.column("id", sa.Integer), sa.column("settings", sa.JSON))
    if conn.execute(sa.select(sa.func.count()).select_from(items)).scalar_one() == 0:
        return 0  # a new database: nothing to mask, no model to load
    personal = {
        pid: tuple((s or {}).get("personal_metadata") or ())
        for pid, s in conn.execute(sa.select(projects.c.id, projects.c.settings))
    }
    masker = PiiMasker(spacy_model, allow=allow)
    changed = 0
    # One run's items of one source are read together, so a transcript's speakers are known
    # in all of its turns.
    groups = conn.execute(
        sa.select(items.c.run_id, items.c.project_id, items.c.source)
        .group_by(items.c.run_id, items.c.project_id, items.c.source)
        .order_by(items.c.run_id)
    ).all()
    for run_id, project_id, source in groups:
        rows = conn.execute(
            sa.select(items.c.id, items.c.text, items.c.speaker, items.c.meta)
            .where(
                items.c.run_id == run_id,
                items.c.project_id.is_(None)
                if project_id is None
                else items.c.project_id == project_id,
                items.c.source.is_(None) if source is None else items.c.source == source,
            )
            .order_by(items.c.id)
        ).all()
        policy = Policy(personal_metadata=personal.get(project_id, ()))
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            originals = [
                Item(
                    id=str(r.id),
                    text=r.text or "",
                    metadata=dict(r.meta or {}),
                    speaker=r.speaker,
                    source=source,
                )
                for r in chunk
            ]
            for before, done in zip(originals, mask_each(originals, masker, policy), strict=True):
                if done.original is None:
                    continue
                changed += 1
                after = done.item
                conn.execute(
                    items.update()
                    .where(items.c.id == int(before.id))
                    .values(text=after.text, speaker=after.speaker, meta=after.metadata)
                )
                if done.masked.changed:
                    _move_units(conn, units, int(before.id), done.masked)
    return changed


def _move_units(conn: sa.Connection, units: Any, item_id: int, m: Any) -> None:
    """Move the item's units onto its masked text (a unit edge inside a mask widens to it)."""
    rows = conn.execute(
        sa.select(units.c.id, units.c.start_char, units.c.end_char).where(
            units.c.item_id == item_id
        )
    ).all()
    for uid, start, end in rows:
        new_start, new_end = m.to_masked(start), m.to_masked_end(end)
        conn.execute(
            units.update()
            .where(units.c.id == uid)
            .values(start_char=new_start, end_char=new_end, text=m.text[new_start:new_end])
        )
