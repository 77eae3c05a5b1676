"""The codebook and themes pages' forms: add, rename and merge codes (admin: the codebook is
the service's, shared by every project); accept, reject, rename and merge themes (analyst).

Plain HTML forms with the CSRF token; each calls one service in ``services.curation`` and
redirects back to its page with what changed.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form
from fastapi.responses import RedirectResponse

from themecoder.services import curation
from themecoder_api.deps import Ctx, Db
from themecoder_api.schemas import RowId
from themecoder_api.web.deps import Viewer, mark_page, role
from themecoder_api.web.session import CSRF_FIELD, check_csrf

router = APIRouter(include_in_schema=False, dependencies=[Depends(mark_page)])
CodebookEditor = Annotated[Viewer, Depends(role("admin"))]
ThemeEditor = Annotated[Viewer, Depends(role("analyst"))]
Token = Annotated[str, Form(alias=CSRF_FIELD, max_length=200)]
CodeId = Annotated[str, Form(min_length=1, max_length=80, pattern=r"^[a-z][a-z0-9_]*$")]
Label = Annotated[str | None, Form(max_length=200)]
DONE = {"accept": "accepted", "reject": "rejected", "rename": "renamed"}


def _back(page: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"{page}?{urlencode({'done': done})}", status_code=303)


@router.post("/codebook/add")
def codebook_add(
    db: Db,
    ctx: Ctx,
    v: CodebookEditor,
    code_id: CodeId,
    definition: Annotated[str, Form(min_length=1, max_length=2000)],
    csrf_token: Token = "",
    name: Label = None,
    parent: Annotated[str | None, Form(max_length=80)] = None,
    owner: Label = None,
) -> RedirectResponse:
    """Add a code or sub-code as a new codebook version."""
    check_csrf(v.session, csrf_token)
    done = curation.add_code(
        db,
        ctx.settings,
        v.who,
        code_id,
        definition,
        name=name or None,
        parent=parent or None,
        owner=owner or None,
    )
    db.commit()
    ctx.codebook = done.codebook
    return _back("/codebook", f"Added {code_id} (version {done.codebook.version}).")


@router.post("/codebook/rename")
def codebook_rename(
    db: Db,
    ctx: Ctx,
    v: CodebookEditor,
    old: Annotated[str, Form(min_length=1, max_length=80)],
    new: CodeId,
    csrf_token: Token = "",
    name: Label = None,
) -> RedirectResponse:
    """Rename a code; the lineage keeps its past counts."""
    check_csrf(v.session, csrf_token)
    done = curation.rename_code(db, ctx.settings, v.who, old, new, name or None)
    db.commit()
    ctx.codebook = done.codebook
    return _back("/codebook", f"Renamed {old} to {new} (version {done.codebook.version}).")


@router.post("/codebook/merge")
def codebook_merge(
    db: Db,
    ctx: Ctx,
    v: CodebookEditor,
    sources: Annotated[list[str], Form(max_length=20)],
    into: CodeId,
    csrf_token: Token = "",
    name: Label = None,
) -> RedirectResponse:
    """Merge two or more codes into one; the lineage sums their past counts."""
    check_csrf(v.session, csrf_token)
    done = curation.merge_codes(db, ctx.settings, v.who, sources, into, name or None)
    db.commit()
    ctx.codebook = done.codebook
    merged = ", ".join(sources)
    return _back("/codebook", f"Merged {merged} into {into} (version {done.codebook.version}).")


@router.post("/themes/{theme_id}/{action}")
def theme_action(
    theme_id: RowId,
    action: Literal["accept", "reject", "rename"],
    db: Db,
    ctx: Ctx,
    v: ThemeEditor,
    csrf_token: Token = "",
    label: Label = None,
) -> RedirectResponse:
    """Accept or reject a proposed theme, or rename a theme."""
    check_csrf(v.session, csrf_token)
    (shown, *_) = curation.edit_themes(db, ctx.settings, v.who, action, [theme_id], label)
    db.commit()
    return _back("/themes", f"Theme {theme_id} {DONE[action]}: {shown.label} ({shown.status}).")


@router.post("/themes/merge")
def themes_merge(
    db: Db,
    ctx: Ctx,
    v: ThemeEditor,
    theme_ids: Annotated[list[int], Form(max_length=20)],
    csrf_token: Token = "",
    label: Label = None,
) -> RedirectResponse:
    """Merge active themes into the first one named."""
    check_csrf(v.session, csrf_token)
    (merged,) = curation.edit_themes(db, ctx.settings, v.who, "merge", theme_ids, label)
    db.commit()
    return _back("/themes", f"Merged into theme {merged.id}: {merged.label}.")
