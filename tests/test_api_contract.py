"""The API contract (issue 10, item 5): response models on every route, every status a route
returns documented, 405 for a wrong method, strict body types, the key checked before the body
is read, and schemathesis over the whole OpenAPI document finding nothing.

Schemathesis runs as its CLI against a real ``uvicorn`` on loopback (a fast coder with a
hashing embedder: the contract does not depend on the embedding), bounded by a fixed number of
examples per operation and a seed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import DATA

MAX_BODY = 256 * 1024
#: Bounds of the schemathesis run: examples per operation and its seed.
MAX_EXAMPLES = 6
SEED = 10


def _app(db_url: str, tmp_path: Path, coder: Any) -> tuple[Any, dict[str, str]]:
    from themecoder.config import Settings
    from themecoder.services import projects
    from themecoder.storage import init_db, make_engine, session_factory
    from themecoder_api import create_app

    s = Settings(
        db_url=db_url,
        project_models_dir=tmp_path / "project-models",
        results_dir=tmp_path / "results",
        max_body_bytes=MAX_BODY,
        max_batch_items=100,
        retrain_own_limit=200,
        cache_dir=tmp_path / "cache",
    )
    engine = make_engine(db_url)
    init_db(engine)
    keys = {}
    with session_factory(engine).begin() as session:
        acme = projects.create_project(session, "acme")
        for role in ("admin", "reviewer", "analyst", "ingest"):
            keys[role] = projects.create_key(session, acme.id, role, f"{role} key")[1]
    engine.dispose()
    return create_app(s, coder=coder), keys


@pytest.fixture(scope="module")
def fast_coder():
    """The shipped heads over a hashing embedder (no transformer): quick to run thousands of
    requests through."""
    from themecoder.coder import Coder
    from themecoder.config import Settings
    from themecoder.pipeline.embed import HashingEmbedder

    return Coder.load(Settings(), embedder=HashingEmbedder(768))  # the encoder's dimension


@pytest.fixture
def client(db_url: str, tmp_path: Path, fast_coder):
    from fastapi.testclient import TestClient

    app, keys = _app(db_url, tmp_path, fast_coder)
    with TestClient(app, raise_server_exceptions=False) as c:
        c.keys = keys  # type: ignore[attr-defined]
        yield c


@pytest.fixture
def served(db_url: str, tmp_path: Path, fast_coder):
    """The app under uvicorn on 127.0.0.1 (a free port); yields (base URL, keys)."""
    import uvicorn

    app, keys = _app(db_url, tmp_path, fast_coder)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", keys
    server.should_exit = True
    thread.join(30)


def _error(r: Any) -> dict[str, Any]:
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}, body
    return body["error"]


# --- the OpenAPI document ---------------------------------------------------------------------


def test_every_route_has_a_response_model_and_documents_its_statuses(client):
    """Before: routes returned untyped dicts and OpenAPI listed only 200 and 422."""
    doc = client.get("/openapi.json").json()
    failures = []
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            where = f"{method.upper()} {path}"
            responses = op["responses"]
            ok = [s for s in responses if s.startswith("2") and s != "204"]
            for status in ok:
                content = responses[status].get("content", {})
                if content and "application/json" not in content:
                    continue  # a file download (a .qdpx archive): no JSON model to name
                schema = content.get("application/json", {})
                ref = schema.get("schema", {}).get("$ref", "")
                if not ref.endswith("Public") and "Public" not in json.dumps(schema):
                    failures.append(f"{where}: {status} has no Public model ({schema})")
            if path == "/v1/health":
                continue
            params = {p["in"] for p in op.get("parameters", [])}
            needed = {"401"}
            if "requestBody" in op:
                needed |= {"413", "422"}
            if "path" in params:
                needed |= {"404", "422"}
            if "query" in params:
                needed.add("422")
            for status in sorted(needed - set(responses)):
                failures.append(f"{where}: {status} not documented")
            for status, response in responses.items():
                if status >= "400":
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    if not ref.endswith("/ErrorPublic"):
                        failures.append(f"{where}: {status} is not the error shape ({ref})")
    assert not failures, "\n".join(failures)


def test_wrong_methods_get_405_not_422(client):
    """Before: POST /v1/blind/next reached POST /v1/blind/{unit_id} and answered 422 ("next"
    is no integer); GET /v1/jobs/code likewise. Now a path that exists answers 405 with every
    method it has, with a key or without."""
    cases = [
        ("POST", "/v1/blind/next", {"GET"}),
        ("GET", "/v1/jobs/code", {"POST"}),
        ("DELETE", "/v1/project", {"GET", "PATCH"}),
        ("PUT", "/v1/keys", {"GET", "POST"}),
        ("OPTIONS", "/v1/keys", {"GET", "POST"}),
        ("GET", "/v1/items", {"POST"}),
        ("GET", "/v1/suggestions/1/approve", {"POST"}),
        ("PUT", "/v1/keys/1", {"DELETE"}),
        ("DELETE", "/v1/items/x", {"GET"}),
        ("POST", "/v1/health", {"GET"}),
    ]
    for headers in ({"X-API-Key": client.keys["admin"]}, {}):
        for method, path, allowed in cases:
            r = client.request(method, path, headers=headers)
            where = f"{method} {path}: {r.status_code} {r.text[:200]}"
            assert r.status_code == 405, where
            assert _error(r)["code"] == "method_not_allowed", where
            assert set(r.headers["allow"].split(", ")) == allowed, where
    assert client.get("/v1/no-such-route").status_code == 404


def test_bodies_are_strictly_typed(client):
    """Before: ``"version": "1"`` and ``false`` for a float were coerced and accepted."""
    admin = {"X-API-Key": client.keys["admin"]}
    refused = [
        ("POST", "/v1/suggestions/1/approve", {"version": "1"}, "version"),
        ("POST", "/v1/suggestions/1/approve", {"version": True}, "version"),
        ("POST", "/v1/suggestions/1/reject", {"version": 1.5}, "version"),
        ("POST", "/v1/suggestions/1/override", {"version": 1, "theme_id": "2"}, "theme_id"),
        ("PATCH", "/v1/project", {"double_coding_share": False}, "double_coding_share"),
        ("PATCH", "/v1/project", {"gate_threshold": "0.5"}, "gate_threshold"),
        ("PATCH", "/v1/project", {"gate_min_units": True}, "gate_min_units"),
        ("PATCH", "/v1/project", {"keep_original": 0}, "keep_original"),
        ("PATCH", "/v1/project", {"pii_allow": [""]}, "pii_allow.0"),
        ("POST", "/v1/code", {"text": "hello", "store": "false"}, "store"),
        ("POST", "/v1/code", {"text": 12345}, "text"),
        ("POST", "/v1/items", {"items": [{"external_id": 7, "text": "x"}]}, "items.0.external_id"),
        ("POST", "/v1/models/retrain", {"tolerance": "0.1"}, "tolerance"),
        ("POST", "/v1/keys", {"role": "analyst", "name": 5}, "name"),
    ]
    for method, path, body, field in refused:
        r = client.request(method, path, headers=admin, json=body)
        where = f"{method} {path} {body}: {r.status_code} {r.text[:300]}"
        assert r.status_code == 422, where
        assert field in [f["field"] for f in _error(r)["fields"]], where
    # Whole numbers where a float is asked, and 2.0 where an integer is, stay valid JSON.
    r = client.patch("/v1/project", headers=admin, json={"double_coding_share": 1})
    assert r.status_code == 200 and r.json()["settings"]["double_coding_share"] == 1.0, r.text
    r = client.patch("/v1/project", headers=admin, json={"gate_min_units": 60.0})
    assert r.status_code == 200 and r.json()["settings"]["gate_min_units"] == 60, r.text
    r = client.get("/v1/queue", headers=admin, params={"bucket": "no_such_bucket"})
    assert r.status_code == 422 and _error(r)["fields"][0]["field"] == "bucket", r.text


def _asgi(app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]]) -> tuple:
    """Send a request straight through ASGI; returns (status, body, receive calls)."""
    import asyncio

    calls = []
    sent: list[dict] = []

    async def receive() -> dict:
        calls.append(1)
        return {"type": "http.request", "body": b"{" * 1024, "more_body": True}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "scheme": "http",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body, len(calls)


def test_the_key_is_checked_before_the_body_is_read(client):
    """Before: the body was buffered (up to 5 MiB) and parsed before the key was looked at.
    Now a caller without a key, or with the wrong role, gets 401/403 and ``receive`` is never
    called, whatever the body declares; a valid key still gets 413 for a body over the limit."""
    app = client.app
    huge = [(b"content-type", b"application/json"), (b"content-length", b"1000000000")]
    chunked = [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")]
    for headers in (huge, chunked):
        for extra, status in (
            ([], 401),
            ([(b"x-api-key", b"tc_" + b"A" * 43)], 401),
            ([(b"authorization", b"Bearer nonsense")], 401),
            ([(b"x-api-key", client.keys["reviewer"].encode())], 403),
        ):
            for path in ("/v1/items", "/v1/code", "/v1/keys", "/v1/models/retrain"):
                got, body, reads = _asgi(app, "POST", path, headers + extra)
                assert (got, reads) == (status, 0), (path, extra, got, body[:200], reads)
                assert json.loads(body)["error"]["code"] in ("unauthorized", "forbidden")
    got, body, reads = _asgi(
        app, "POST", "/v1/items", huge + [(b"x-api-key", client.keys["ingest"].encode())]
    )
    assert (got, reads) == (413, 0), body[:200]
    # Over real HTTP, an unauthenticated oversized body: 401 (it was 413 after buffering).
    r = client.post("/v1/items", content=b"x" * (MAX_BODY + 10))
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", r.text


# --- schemathesis -----------------------------------------------------------------------------


def _schemathesis(base: str, key: str, tmp: Path, *selection: str) -> dict[str, Any]:
    """Run the schemathesis CLI over the served OpenAPI document; its JSON report."""
    cli = Path(sys.executable).with_name("schemathesis")
    report = tmp / "report.json"
    cmd = [
        str(cli),
        "--config-file",
        str(DATA / "contract" / "schemathesis.toml"),
        "run",
        f"{base}/openapi.json",
        "--header",
        f"X-API-Key: {key}",
        "--checks",
        "all",
        "--exclude-checks",
        "positive_data_acceptance",  # see tests/data/contract/schemathesis.toml
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--request-timeout",
        "120",
        "--no-shrink",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        "--no-color",
        *selection,
    ]
    # in tmp: the CLI keeps a .schemathesis folder in its working directory
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False, cwd=tmp)
    assert report.exists(), out.stdout[-3000:] + out.stderr[-3000:]
    result = json.loads(report.read_text())
    result["output"] = out.stdout
    return result


def test_schemathesis_finds_no_server_error_undocumented_status_or_schema_violation(
    served, tmp_path
):
    """Every operation of the OpenAPI document, positive and negative data, examples, coverage,
    fuzzing and stateful phases (OpenAPI links: ingest -> item -> suggestion -> decision, job ->
    progress, blind unit -> blind code), with every check schemathesis has (bar the one
    disabled in tests/data/contract/schemathesis.toml, with its reason). Revoking keys runs
    last, on its own and without links, since it may revoke the key the run uses."""
    base, keys = served
    failures = []
    figures = []
    runs = (
        ("--exclude-method", "DELETE"),
        ("--include-method", "DELETE", "--phases", "examples,coverage,fuzzing"),
    )
    for selection in runs:
        result = _schemathesis(base, keys["admin"], tmp_path, *selection)
        cases = result["test_cases"]
        figures.append(
            f"{' '.join(selection)}: {result['operations']['tested']} operations, "
            f"{cases['generated']} cases, {len(result['failures'])} failures, "
            f"{len(result['errors'])} errors"
        )
        assert result["operations"]["tested"] == result["operations"]["selected"] > 0
        for f in result["failures"]:
            failures.append(f"{f['code']} {f['title']}: {f['operations']}")
        for e in result["errors"]:
            failures.append(f"error: {json.dumps(e)[:500]}")
    print("\n".join(figures))
    assert not failures, "\n".join(failures) + "\n" + result["output"][-4000:]
