"""The web pages: server-rendered Jinja2 with a little plain JavaScript, over the same services
as the API. Every asset is served locally (Swagger UI 5 from the files the ``fastapi-offline``
package ships), so the pages and ``/docs`` work without internet. ReDoc is left out: its
bundle fetches its logo from a CDN."""

from __future__ import annotations

import logging
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from themecoder.config import Settings
from themecoder.errors import ThemecoderError
from themecoder_api import errors
from themecoder_api.web import auth, browse, curate, review
from themecoder_api.web.deps import error_page, page_error, page_invalid
from themecoder_api.web.session import Signer

STATIC = Path(__file__).resolve().parent.parent / "static"
DOCS_ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
log = logging.getLogger(__name__)
#: Paths that answer JSON whatever the client accepts (the API and its schema).
API_PATHS = ("/v1/", "/openapi.json")
HTTP_MESSAGES = {
    404: "There is no page at this address.",
    405: "This address does not take that kind of request.",
}


def _wants_page(request: Request) -> bool:
    """A page's request, or a browser's (it accepts HTML) for an address outside the API."""
    if getattr(request.state, "page", False):
        return True
    accept = request.headers.get("accept", "")
    return "text/html" in accept and not request.url.path.startswith(API_PATHS)


async def _error(request: Request, err: Exception) -> object:
    assert isinstance(err, ThemecoderError)
    if getattr(request.state, "page", False):
        return await page_error(request, err)
    return await errors.library_error(request, err)


async def _invalid(request: Request, err: Exception) -> object:
    assert isinstance(err, RequestValidationError)
    if getattr(request.state, "page", False):
        return await page_invalid(request, err)
    return await errors.validation_error(request, err)


def _html_for_browsers(app: FastAPI) -> None:
    """Unknown addresses, wrong methods and unexpected errors answer a browser with the error
    page, never the API's JSON body or a traceback; API clients keep the JSON handlers."""
    http_json = app.exception_handlers[HTTPException]
    crash_json = app.exception_handlers[Exception]

    async def http_error(request: Request, err: Exception) -> object:
        assert isinstance(err, HTTPException)
        if not _wants_page(request) or err.status_code not in HTTP_MESSAGES:
            return await http_json(request, err)
        page = error_page(request, err.status_code, HTTP_MESSAGES[err.status_code])
        page.headers.update(err.headers or {})  # a 405's Allow
        return page

    async def crash(request: Request, err: Exception) -> object:
        if not _wants_page(request):
            return await crash_json(request, err)
        log.exception("unhandled error on a page", exc_info=err)
        return error_page(request, 500, "Something went wrong on the server; try again.")

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, crash)


def install(app: FastAPI, settings: Settings) -> None:
    """Add the pages, their static files, offline API docs, and HTML errors for pages (library
    errors and form or query validation alike)."""
    secret = settings.session_secret
    app.state.signer = Signer(
        secret.get_secret_value() if secret else None,
        settings.session_hours,
        settings.secure_cookies,
    )
    app.mount("/static/docs", StaticFiles(directory=str(DOCS_ASSETS)), name="docs-assets")
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    for module in (auth, review, browse, curate):
        app.include_router(module.router)
    app.include_router(review.pages_router)
    app.add_exception_handler(ThemecoderError, _error)
    app.add_exception_handler(RequestValidationError, _invalid)
    _html_for_browsers(app)

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - API docs",
            swagger_js_url="/static/docs/swagger-ui-bundle.js",
            swagger_css_url="/static/docs/swagger-ui.css",
            swagger_favicon_url="/static/docs/favicon.png",
        )
