"""The OpenAPI side of the routes: the error statuses each documents and the links between
operations (so a client, and schemathesis's stateful phase, can follow an id from one response
to the next request)."""

from __future__ import annotations

from typing import Any

from themecoder_api.public import ErrorPublic

#: What each documented error status means; ``documented(...)`` puts them in OpenAPI.
MEANING = {
    401: "No key, or an unknown or revoked one.",
    403: "The key's role may not do this.",
    404: "No such id in the caller's project.",
    409: "Conflicts with the current state (a stale version, a duplicate, ...).",
    413: "The body is over the size limit, or the batch over the item limit.",
    422: "Invalid input; the error's fields name each bad field.",
    503: "The model or the service's configuration is unavailable.",
}


def documented(*statuses: int, **meanings: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each status with the error schema and its meaning
    (``meanings`` overrides one as ``s409="..."``)."""
    return {
        status: {"model": ErrorPublic, "description": meanings.get(f"s{status}", MEANING[status])}
        for status in statuses
    }


def link(method: str, path: str, body: dict[str, str] | None = None, **params: str) -> dict:
    """An OpenAPI link to ``method path``, its parameters taken from this response
    (``suggestion_id="$response.body#/id"``) and optionally its request body."""
    pointer = path.replace("~", "~0").replace("/", "~1")
    out: dict[str, Any] = {"operationRef": f"#/paths/{pointer}/{method.lower()}"}
    if params:
        out["parameters"] = params
    if body:
        out["requestBody"] = body
    return out


def linked(status: int, description: str, **links: dict) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entry for a success status with its links."""
    return {status: {"description": description, "links": links}}


#: A job's response leads to its progress.
JOB_LINK = link("GET", "/v1/jobs/{job_id}", job_id="$response.body#/id")


def error_shapes(schema: dict[str, Any]) -> dict[str, Any]:
    """Give every documented 4xx/5xx response without a body schema the error shape.

    Every error of the app answers ``ErrorPublic`` (``errors.install`` maps each error there),
    so a route that names a status with a description only is documented with that body."""
    ref = {"$ref": "#/components/schemas/ErrorPublic"}
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    if "ErrorPublic" not in components:
        components["ErrorPublic"] = ErrorPublic.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        components.update(components["ErrorPublic"].pop("$defs", {}))
    for operations in schema.get("paths", {}).values():
        for op in operations.values():
            for status, response in op.get("responses", {}).items():
                if status >= "400" and "content" not in response:
                    response["content"] = {"application/json": {"schema": dict(ref)}}
                    response.setdefault("description", MEANING.get(int(status), "Error"))
    return schema
