"""Curating the codebook and the themes from the pages: each edit goes through the codebook or
theme service the command line uses and is audited against the editor's project.

The codebook is the service's (every project served codes with it), so it is edited only in a
file named by ``THEMECODER_CODEBOOK_PATH``; the shipped default is never rewritten. Themes
belong to one project: an edit naming another project's theme is :class:`NotFound`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from themecoder.config import Settings
from themecoder.errors import Conflict, InvalidInput
from themecoder.services import audit, codebook, theme_edits
from themecoder.services.codebook import EditResult
from themecoder.services.projects import Principal
from themecoder.services.themes import ThemeView

__all__ = [
    "add_code",
    "edit_themes",
    "editable_codebook",
    "merge_codes",
    "rename_code",
]
THEME_ACTIONS = ("accept", "reject", "rename", "merge")


def editable_codebook(settings: Settings) -> Path | None:
    """The codebook file edits go to, or ``None`` when the service runs the shipped default."""
    path = settings.codebook_path
    return path if path is not None and path.is_file() else None


def _path(settings: Settings) -> Path:
    path = editable_codebook(settings)
    if path is None:
        raise Conflict(
            "this service codes with the shipped codebook, which is not edited in place; "
            "copy it to a file and set THEMECODER_CODEBOOK_PATH (make demo does)"
        )
    return path


def _audited(session: Session, who: Principal, action: str, result: EditResult) -> EditResult:
    d = result.diff
    audit.record(
        session,
        who,
        who.project_id,
        f"codebook_{action}",
        f"codebook:{d.name}",
        {"version": d.old_version},
        {"version": d.new_version, "diff": d.text()},
        codebook_version=d.new_version,
    )
    return result


def add_code(
    session: Session,
    settings: Settings,
    who: Principal,
    code_id: str,
    definition: str,
    *,
    name: str | None = None,
    parent: str | None = None,
    owner: str | None = None,
) -> EditResult:
    """Add a code (a sub-code with ``parent``; a top-level code needs an ``owner``) as a new
    codebook version, audited.

    Raises:
        Conflict: The service runs the shipped codebook, or the store holds a newer version.
        CodebookInvalid: The id is taken or malformed, or the parent is unknown.
    """
    result = codebook.add(
        _path(settings),
        code_id,
        definition,
        name=name,
        parent=parent,
        owner=owner,
        settings=settings,
    )
    return _audited(session, who, "add", result)


def rename_code(
    session: Session,
    settings: Settings,
    who: Principal,
    old: str,
    new: str,
    name: str | None = None,
) -> EditResult:
    """Rename a code; the lineage records it so past counts follow. Audited."""
    result = codebook.rename(_path(settings), old, new, name, settings=settings)
    return _audited(session, who, "rename", result)


def merge_codes(
    session: Session,
    settings: Settings,
    who: Principal,
    sources: Sequence[str],
    into: str,
    name: str | None = None,
) -> EditResult:
    """Merge codes into ``into``; the lineage records it so past counts sum. Audited."""
    if len(set(sources)) < 2:
        raise InvalidInput("a merge needs at least two different codes", field="sources")
    result = codebook.merge(_path(settings), list(sources), into, name, settings=settings)
    return _audited(session, who, "merge", result)


def edit_themes(
    session: Session,
    settings: Settings,
    who: Principal,
    action: str,
    theme_ids: Sequence[int],
    label: str | None = None,
) -> list[ThemeView]:
    """Accept or reject proposed themes, rename one, or merge several into the first, in the
    editor's project and the page's transaction; the theme service audits each edit.

    Raises:
        InvalidInput: An unknown action, no theme, or a rename without a label.
        NotFound: A theme of another project (or none).
        Conflict: A theme in the wrong state for the action (e.g. accepting an active one).
    """
    if action not in THEME_ACTIONS:
        raise InvalidInput(f"action must be one of {THEME_ACTIONS}", field="action")
    ids = list(dict.fromkeys(int(t) for t in theme_ids))
    if not ids:
        raise InvalidInput("name at least one theme", field="theme_ids")
    scope: dict[str, Any] = {"project_id": who.project_id, "session": session, "who": who}
    if action == "accept":
        return theme_edits.accept(settings, ids, **scope)
    if action == "reject":
        return theme_edits.reject(settings, ids, **scope)
    if action == "rename":
        if len(ids) != 1 or not (label or "").strip():
            raise InvalidInput("a rename names one theme and its new label", field="label")
        return [theme_edits.rename(settings, ids[0], str(label), **scope)]
    return [theme_edits.merge(settings, ids, label or None, **scope)]
