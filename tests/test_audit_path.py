"""One audit path (issue 10, item 6): the CLI and the API write the same events through the
services; faces reach the database only through services; the last admin key cannot be
revoked; themes belong to a project and the API never accepts another project's theme."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from themecoder.cli import app
from themecoder.config import get_settings
from themecoder.services import audit, projects
from themecoder.storage import ProjectRecord, make_engine, session_factory
from themecoder.storage.themes import ThemeRecord, UnitThemeRecord

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def _cli(*args: str, db: str) -> str:
    get_settings.cache_clear()
    result = runner.invoke(app, [*args, "--db", db])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def test_cli_project_and_key_commands_are_audited(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    _cli("projects", "create", "acme", db=db)
    _cli("keys", "create", "-p", "acme", "--role", "reviewer", "--name", "dana", db=db)
    _cli("keys", "create", "-p", "acme", "--role", "admin", "--name", "second", db=db)
    engine = make_engine(db)
    with session_factory(engine)() as s:
        acme = projects.get_project(s, "acme")
        keys = projects.list_keys(s, acme.id)
    _cli("keys", "revoke", "-p", "acme", str(keys[1]["id"]), db=db)
    with session_factory(engine)() as s:
        events = audit.trail(s, acme.id)
    engine.dispose()
    assert [e["action"] for e in events] == [
        "project_create",
        "key_create",
        "key_create",
        "key_create",
        "key_revoke",
    ]
    assert {e["actor"] for e in events} == {"cli"}
    assert [e["subject"] for e in events[1:4]] == [f"key:{k['id']}" for k in keys]


def test_last_admin_key_cannot_be_revoked(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'last.db'}"
    _cli("projects", "create", "acme", db=db)
    get_settings.cache_clear()
    result = runner.invoke(app, ["keys", "revoke", "-p", "acme", "1", "--db", db])
    assert result.exit_code == 1 and "last live admin key" in " ".join(result.output.split())


def test_routes_and_cli_reach_the_database_only_through_services() -> None:
    faces = [
        *sorted((ROOT / "api" / "themecoder_api").rglob("*.py")),
        *sorted((ROOT / "src" / "themecoder").glob("cli*.py")),
    ]
    offenders = []
    for path in faces:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                mod = node.module
                if mod.startswith(("themecoder.storage", "sqlalchemy")) or (
                    path.name.startswith("cli") and mod.startswith("themecoder_api")
                ):
                    names = {a.name for a in node.names}
                    if names - {"Session", "sessionmaker", "Engine"}:  # types only
                        offenders.append(f"{path.relative_to(ROOT)}: {mod} {sorted(names)}")
    assert offenders == []


@pytest.mark.model
def test_api_admin_actions_are_audited_and_the_last_admin_key_stays(api) -> None:
    keys = api.client.get("/v1/keys", headers=api.h()).json()["keys"]
    admin_id = next(k["id"] for k in keys if k["role"] == "admin")
    r = api.client.delete(f"/v1/keys/{admin_id}", headers=api.h())
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    assert api.client.get("/v1/project", headers=api.h()).status_code == 200  # not locked out
    made = api.client.post("/v1/keys", headers=api.h(), json={"role": "admin", "name": "b"})
    assert made.status_code == 201
    second = {"X-API-Key": made.json()["key"]}
    assert api.client.delete(f"/v1/keys/{admin_id}", headers=second).status_code == 200
    r = api.client.delete(f"/v1/keys/{made.json()['id']}", headers=second)
    assert r.status_code == 409  # now the new key is the last admin
    events = api.client.get("/v1/audit", headers=second, params={"limit": 500}).json()["events"]
    actions = [e["action"] for e in events]
    # The fixture made the project and keys through the same services (as the CLI would).
    assert actions[:1] == ["project_create"] and actions.count("key_create") == 6
    assert actions[-1] == "key_revoke" and events[-1]["actor"] == "b"


@pytest.mark.model
def test_theme_of_another_project_is_never_accepted(api) -> None:
    api.client.patch("/v1/project", headers=api.h(), json={"double_coding_share": 0.0})
    api.ingest([{"external_id": "T-1", "text": "The new per-seat pricing doubles our bill."}])
    queue = api.client.get("/v1/queue", headers=api.h("reviewer")).json()["suggestions"]
    s = queue[0]
    engine = make_engine(api.settings.db_url)
    with session_factory(engine).begin() as db:
        other = db.scalar(select(ProjectRecord.id).where(ProjectRecord.slug == "other"))
        theme = ThemeRecord(
            label="theirs",
            keywords=[],
            quotes=[],
            centroid=b"",
            status="active",
            version=1,
            project_id=other,
        )
        db.add(theme)
        db.flush()
        db.add(UnitThemeRecord(unit_id=s["unit"]["id"], theme_id=theme.id, score=1.0, rank=1))
        theme_id = theme.id
    engine.dispose()
    r = api.client.post(
        f"/v1/suggestions/{s['id']}/override",
        headers=api.h("reviewer"),
        json={"version": s["version"], "theme_id": theme_id},
    )
    assert r.status_code == 404
    params = {"theme_id": theme_id}
    page = api.client.get("/v1/queue", headers=api.h("reviewer"), params=params).json()
    assert page["total"] == 0
