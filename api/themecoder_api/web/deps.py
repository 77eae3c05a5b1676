"""What page routes depend on: the signed-in viewer, rendering, and HTML errors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, model_validator

from themecoder.domain import BUCKETS, POLARITIES
from themecoder.errors import InvalidInput, ThemecoderError, Unauthorized
from themecoder.services.pages import principal_for_key
from themecoder.services.projects import Principal
from themecoder_api.deps import Db, check_role
from themecoder_api.errors import status_of, validation_fields
from themecoder_api.web.session import Signer, WebSession

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
TEMPLATES.env.globals.update(
    buckets=BUCKETS,
    polarities=POLARITIES,
    polarity_mark={"positive": "+", "neutral": "=", "risk": "!"},
    label=lambda s: str(s).replace("_", " ").capitalize() if s else "",
)


@dataclass(frozen=True)
class Viewer:
    """The signed-in person on a page: their key's principal and their browser session."""

    who: Principal
    session: WebSession


def signer(request: Request) -> Signer:
    return request.app.state.signer


def browser(request: Request) -> WebSession:
    """The request's session (a fresh anonymous one if none)."""
    return signer(request).read(request)


def mark_page(request: Request) -> None:
    """Errors of this request render as a page (or a redirect to sign-in), not JSON."""
    request.state.page = True


def viewer(request: Request, db: Db) -> Viewer:
    """The signed-in viewer; :class:`Unauthorized` (a redirect on pages) without one."""
    session = browser(request)
    who = principal_for_key(db, session.key_id) if session.key_id is not None else None
    if who is None:
        raise Unauthorized("sign in with your project's API key")
    return Viewer(who, session)


def role(*roles: str) -> Any:
    """A dependency: the viewer if their key has one of ``roles`` (admin always)."""

    def check(v: Annotated[Viewer, Depends(viewer)]) -> Viewer:
        check_role(v.who, roles)
        return v

    return check


Browser = Annotated[WebSession, Depends(browser)]
AnyViewer = Annotated[Viewer, Depends(viewer)]
ReviewerViewer = Annotated[Viewer, Depends(role("reviewer"))]
ReaderViewer = Annotated[Viewer, Depends(role("reviewer", "analyst"))]


def render(
    request: Request,
    name: str,
    session: WebSession,
    who: Principal | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a page; a new session's cookie is set on the way."""
    response = TEMPLATES.TemplateResponse(
        request,
        name,
        {"csrf": session.csrf, "who": who, "path": request.url.path, **context},
        status_code=status_code,
    )
    # Pages show a project's data: never kept in the browser's cache, so the back button
    # after signing out or deciding asks the server again instead of showing a stale copy.
    response.headers["Cache-Control"] = "no-store"
    if session.new:
        signer(request).write(response, session)
    return response


class FilterForm(BaseModel):
    """Query filters of a GET form: a select left at "any" sends an empty value, which
    means the filter is unset (so its default applies), never an invalid choice."""

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v != ""}
        return data


async def page_error(request: Request, err: ThemecoderError) -> Response:
    """A library error on a page: sign-in for 401, an error page otherwise."""
    if isinstance(err, Unauthorized):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/signin?next={quote(target)}", status_code=303)
    return error_page(request, status_of(err), err.message)


def error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    """The error page with ``message`` (escaped by the template) and ``status_code``."""
    return render(request, "error.html", browser(request), status_code=status_code, message=message)


# Plain words for the checks the page forms declare (see ``web.curate.CodeId``); any other
# failure keeps pydantic's message.
FORM_MESSAGES = {
    "missing": "is required",
    "string_pattern_mismatch": "must start with a lower-case letter and hold only lower-case "
    "letters, digits and _",
}


async def page_invalid(request: Request, err: RequestValidationError) -> Response:
    """A page form or query that fails validation: the error page (422) naming each field,
    as for a library :class:`InvalidInput`, never the API's JSON body."""
    problems = [
        f"{f['field']}: {FORM_MESSAGES.get(f['type'], f['message'])}"
        for f in validation_fields(err)
    ]
    return await page_error(request, InvalidInput("; ".join(problems[:5]) or "invalid input"))
