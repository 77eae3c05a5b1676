"""Sign-in with an API key, sign-out, and the home page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from themecoder.services import pages
from themecoder.services.projects import authenticate
from themecoder_api.deps import Db
from themecoder_api.web.deps import AnyViewer, Browser, mark_page, render, signer
from themecoder_api.web.session import CSRF_FIELD, Signer, check_csrf

router = APIRouter(include_in_schema=False, dependencies=[Depends(mark_page)])
#: Where each role lands after signing in.
LANDING = {"reviewer": "/review", "admin": "/review", "analyst": "/documents", "ingest": "/"}


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site (no scheme, no ``//host``) is followed after sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request, session: Browser, next: str | None = None) -> HTMLResponse:
    return render(request, "signin.html", session, next=_safe_next(next), error=None)


@router.post("/signin", response_class=HTMLResponse)
def signin(
    request: Request,
    db: Db,
    session: Browser,
    api_key: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=200)] = "",
    next: Annotated[str | None, Form(max_length=2000)] = None,
):
    """Exchange the key for a session; the key is checked once and never stored."""
    check_csrf(session, csrf_token)
    who = authenticate(db, api_key.strip())
    if who is None:
        return render(
            request,
            "signin.html",
            session,
            status_code=401,
            next=_safe_next(next),
            error="That key is unknown or revoked.",
        )
    response = RedirectResponse(_safe_next(next) or LANDING[who.role], status_code=303)
    signer(request).write(response, signer(request).fresh(who.key_id))
    return response


@router.post("/signout")
def signout(
    session: Browser, csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=200)] = ""
) -> RedirectResponse:
    check_csrf(session, csrf_token)
    response = RedirectResponse("/signin", status_code=303)
    Signer.clear(response)
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, db: Db, v: AnyViewer) -> HTMLResponse:
    progress = pages.progress(db, v.who) if v.who.has("reviewer", "analyst") else None
    return render(request, "home.html", v.session, v.who, progress=progress)
