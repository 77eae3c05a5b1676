"""The key gate: a request's key and role are checked before its body is read, and a method
the path does not have is answered 405 with every method it has.

FastAPI reads and parses a JSON body before it solves a route's dependencies, so without this
an unauthenticated caller could make the service buffer and parse up to the body limit, and a
malformed body would answer 422 instead of 401. The gate is the outermost middleware: it
finds the route the request will reach, checks the key against the roles its dependencies
require (``deps.require`` keeps them on the dependency) and answers 401/403 without calling
``receive`` at all. The principal it found is handed on in the request state, so the route's
own dependency does not look the key up twice.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import compile_path, get_route_path

from themecoder.errors import Forbidden, Unauthorized
from themecoder.services.projects import Principal
from themecoder_api.errors import error_body

Scope = dict[str, Any]


def route_roles(dependencies: list[Any]) -> tuple[str, ...] | None:
    """The roles a route's dependencies require (``()``: any key), ``None`` for an open route."""
    for dep in dependencies:
        roles = getattr(dep.call, "roles", None)
        if roles is not None:
            return tuple(roles)
        inner = route_roles(dep.dependencies)
        if inner is not None:
            return inner
    return None


Entry = tuple[re.Pattern[str], re.Pattern[str], set[str], tuple[str, ...] | None]


def route_table(app: Any) -> list[Entry]:
    """``(strict regex, loose regex, methods, roles)`` of every route, in the router's order.

    The loose regex is the router's own (any segment for a path parameter); the strict one
    takes only digits for an integer parameter, so ``/v1/blind/next`` is the GET route's path
    and not an id of the POST ``/v1/blind/{unit_id}``.
    """
    table = []
    for context in iter_route_contexts(app.router.routes):
        route = context.original_route
        if not (isinstance(route, APIRoute) and context.path):
            continue
        loose = compile_path(context.path)[0]
        strict = loose.pattern
        for param in route.dependant.path_params:
            if param.field_info.annotation is int:
                strict = strict.replace(f"(?P<{param.name}>[^/]+)", f"(?P<{param.name}>[0-9]+)")
        roles = route_roles(route.dependant.dependencies)
        table.append((re.compile(strict), loose, set(route.methods), roles))
    return table


def _key(headers: dict[bytes, bytes]) -> str | None:
    key = headers.get(b"x-api-key", b"").decode("latin-1").strip()
    scheme, _, credentials = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    if not key and scheme.lower() == "bearer":
        key = credentials.strip()
    return key or None


async def _not_allowed(scope: Scope, receive: Any, send: Any, allowed: set[str]) -> None:
    """405 listing every method the path has (Starlette's names only the first route's).

    The gate answers before the app's exception middleware, so it hands the 405 to the app's
    own handler: the API's JSON body for API clients, the error page for a browser opening
    an address that only takes a form's POST. The handler gets no ``receive``: the body is
    never read.
    """
    methods = ", ".join(sorted(allowed))
    err = HTTPException(
        405, f"method not allowed; this path allows {methods}", headers={"Allow": methods}
    )
    handler = scope["app"].exception_handlers[HTTPException]
    response = await handler(Request(scope), err)
    await response(scope, receive, send)


class KeyGate:
    """ASGI middleware answering 401/403 for a protected route before its body is received."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._table: list[Entry] | None = None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found, allowed = self._route(scope)
        if not found and allowed:
            await _not_allowed(scope, receive, send, allowed)
            return
        roles = found[0] if found else None
        if roles is not None:
            from themecoder_api.deps import check_role, resolve_key

            factory = scope["app"].state.context.factory
            key = _key(dict(scope.get("headers") or []))

            def check() -> Principal:
                with factory() as db:
                    return check_role(resolve_key(db, key), roles)

            try:
                who = await run_in_threadpool(check)
            except (Unauthorized, Forbidden) as denied:
                await self._deny(send, denied)
                return
            scope.setdefault("state", {})["principal"] = who
        await self.app(scope, receive, send)

    def _route(self, scope: Scope) -> tuple[list[tuple[str, ...] | None], set[str]]:
        """The roles of the route the request reaches (an empty list: none), and the methods
        its path has (an empty set: an unknown path, which the router answers 404)."""
        if self._table is None:
            self._table = route_table(scope["app"])
        path, method = get_route_path(scope), scope["method"]
        strict_methods: set[str] = set()
        loose_methods: set[str] = set()
        found: list[tuple[str, ...] | None] = []
        for strict, loose, methods, roles in self._table:
            if strict.match(path):
                strict_methods |= methods
                if method in methods and not found:
                    found = [roles]
            if loose.match(path):
                loose_methods |= methods
        if found or strict_methods:  # a literal path, or ids that are integers
            return found, strict_methods
        for _, loose, methods, roles in self._table:  # an id that is no integer: 422 later
            if method in methods and loose.match(path):
                return [roles], loose_methods
        return [], loose_methods

    @staticmethod
    async def _deny(send: Any, err: Unauthorized | Forbidden) -> None:
        status = 401 if isinstance(err, Unauthorized) else 403
        body = json.dumps(error_body(err.code, err.message)).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),  # the unread body is never read
        ]
        if status == 401:
            headers.append((b"www-authenticate", b"Bearer"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
