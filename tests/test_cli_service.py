"""``themecoder projects | keys | serve``: keys are issued once and hashed, revoked keys stop
working, and ``serve`` runs the API on loopback with its OpenAPI docs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import select
from typer.testing import CliRunner

from themecoder.cli import app
from themecoder.config import get_settings
from themecoder.services.projects import authenticate, hash_key
from themecoder.storage import ApiKeyRecord, make_engine, session_factory

runner = CliRunner()


def _run(*args: str, db: str) -> tuple[int, str]:
    get_settings.cache_clear()
    result = runner.invoke(app, [*args, "--db", db])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output.strip()


def test_project_and_keys_lifecycle(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'svc.db'}"
    code, admin_key = _run("projects", "create", "acme", db=db)
    assert code == 0 and admin_key.splitlines()[-1].startswith("tc_")
    admin_key = admin_key.splitlines()[-1]
    assert _run("projects", "create", "acme", db=db)[0] == 1  # taken: a conflict
    assert _run("projects", "create", "Not A Slug", db=db)[0] == 2
    code, reviewer_key = _run(
        "keys", "create", "-p", "acme", "--role", "reviewer", "--name", "dana", db=db
    )
    assert code == 0
    assert _run("keys", "create", "-p", "acme", "--role", "boss", "--name", "x", db=db)[0] == 2
    assert _run("keys", "create", "-p", "nope", "--role", "admin", "--name", "x", db=db)[0] == 2
    code, listing = _run("keys", "list", "-p", "acme", db=db)
    assert code == 0 and "reviewer" in listing and reviewer_key not in listing
    engine = make_engine(db)
    with session_factory(engine)() as s:
        stored = s.scalars(select(ApiKeyRecord.key_hash)).all()
        assert hash_key(reviewer_key) in stored and reviewer_key not in stored
        who = authenticate(s, reviewer_key)
        assert who is not None and (who.project_slug, who.role, who.name) == (
            "acme",
            "reviewer",
            "dana",
        )
        assert authenticate(s, admin_key).role == "admin"  # type: ignore[union-attr]
    assert _run("keys", "revoke", "-p", "acme", str(who.key_id), db=db)[0] == 0
    with session_factory(engine)() as s:
        assert authenticate(s, reviewer_key) is None
    engine.dispose()
    assert _run("keys", "revoke", "-p", "acme", "999", db=db)[0] == 2
    assert _run("projects", "create", "beta", "--name", "Beta support", db=db)[0] == 0
    code, listing = _run("projects", "list", db=db)  # a slug forgotten is found again
    rows = [line.split("│") for line in listing.splitlines() if "│" in line]
    cells = [[c.strip() for c in row[1:-1]] for row in rows]  # the header is ┃-ruled
    assert code == 0 and "2 project(s)" in listing
    assert [(c[0], c[1], c[3], c[4]) for c in cells] == [
        ("acme", "acme", "shipped", "1"),  # the reviewer key was revoked
        ("beta", "Beta support", "shipped", "1"),
    ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_runs_the_api_with_docs(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "THEMECODER_DB_URL": db}
    cmd = [sys.executable, "-m", "themecoder", "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"{base}/v1/health", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read().decode()  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "server did not start in 60 s"
                time.sleep(0.3)
        assert health.json()["status"] == "ok"
        docs = httpx.get(f"{base}/docs", timeout=5)
        assert docs.status_code == 200 and "swagger" in docs.text.lower()
        spec = httpx.get(f"{base}/openapi.json", timeout=5).json()
        assert "/v1/code" in spec["paths"] and "/v1/agreement" in spec["paths"]
        assert httpx.get(f"{base}/v1/queue", timeout=5).status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_service_pins_blas_threads_only_while_it_runs(tmp_path: Path) -> None:
    """One BLAS thread while serving (latency), the library default again after: the limit is
    process-wide, and training's floating-point results depend on it."""
    from fastapi.testclient import TestClient
    from threadpoolctl import threadpool_info

    from themecoder.config import Settings
    from themecoder_api import create_app

    def blas() -> list[int]:
        return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]

    before = blas()
    with TestClient(create_app(Settings(db_url=f"sqlite:///{tmp_path / 'b.db'}"))):
        assert blas() == [1] * len(before)
    assert blas() == before
