"""One error shape for every failure: ``{"error": {"code", "message", "fields"}}``.

Library errors map to HTTP statuses once, here; bad input is always a 4xx that names the
field, never a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from themecoder.errors import (
    ConfigurationError,
    Conflict,
    Forbidden,
    InvalidInput,
    ModelUnavailable,
    NotFound,
    PayloadTooLarge,
    ThemecoderError,
    Unauthorized,
)

log = logging.getLogger(__name__)
STATUS: list[tuple[type[ThemecoderError], int]] = [
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (PayloadTooLarge, 413),
    (InvalidInput, 422),
    (ModelUnavailable, 503),
    (ConfigurationError, 503),
]


def error_body(code: str, message: str, fields: list[dict[str, str]] | None = None) -> dict:
    """The JSON body of an error response."""
    return {"error": {"code": code, "message": message, "fields": fields or []}}


def status_of(err: ThemecoderError) -> int:
    """The HTTP status of a library error (500 for one not in :data:`STATUS`)."""
    return next((status for kind, status in STATUS if isinstance(err, kind)), 500)


def _field(loc: tuple[Any, ...]) -> str:
    parts = list(loc[1:]) if loc and loc[0] in ("body", "query", "path", "header") else list(loc)
    return ".".join(str(p) for p in parts) or str(loc[0] if loc else "body")


async def library_error(_: Request, err: Exception) -> JSONResponse:
    """A :class:`ThemecoderError` as the JSON error body with its status."""
    assert isinstance(err, ThemecoderError)
    field = err.details.get("field")
    fields = [{"field": str(field), "message": err.message}] if field else []
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(err, Unauthorized) else None
    return JSONResponse(
        error_body(err.code, err.message, fields), status_code=status_of(err), headers=headers
    )


def validation_fields(err: RequestValidationError) -> list[dict[str, str]]:
    """Each failed check of a request as ``{"field", "message", "type"}``, fields named as
    the client sent them (``code_id``, not ``("body", "code_id")``)."""
    return [
        {
            "field": "body" if e.get("type") == "json_invalid" else _field(tuple(e.get("loc", ()))),
            "message": e["msg"],
            "type": str(e.get("type", "")),
        }
        for e in err.errors()
    ]


async def validation_error(_: Request, err: Exception) -> JSONResponse:
    """Request validation failures as a 422 JSON error body naming each field."""
    assert isinstance(err, RequestValidationError)
    fields = [{"field": f["field"], "message": f["message"]} for f in validation_fields(err)]
    message = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
    return JSONResponse(error_body("invalid_input", message, fields), status_code=422)


async def _http_error(_: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, HTTPException)
    if err.status_code == 400:  # FastAPI's "error parsing the body": bytes that are no JSON
        message = "body: not a JSON document in UTF-8"
        fields = [{"field": "body", "message": str(err.detail)}]
        return JSONResponse(error_body("invalid_input", message, fields), status_code=422)
    code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
        err.status_code, "http_error"
    )
    return JSONResponse(
        error_body(code, str(err.detail)), status_code=err.status_code, headers=err.headers
    )


async def _unexpected(_: Request, err: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=err)
    return JSONResponse(error_body("internal_error", "internal server error"), status_code=500)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(ThemecoderError, library_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
