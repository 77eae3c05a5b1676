"""Model journeys of an admin, CLI and API alike: ``themecoder models list`` shows what
``GET /v1/models`` shows, and a rollback to a version missing from the model store (a store
that moved) is refused instead of leaving the project on a model that cannot load."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from themecoder.cli import app
from themecoder.config import Settings, get_settings
from themecoder.errors import Conflict
from themecoder.services import audit, models, projects
from themecoder.storage import (
    ModelVersionRecord,
    ProjectRecord,
    init_db,
    make_engine,
    session_factory,
)


@pytest.fixture
def promoted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    """Project acme on v2, promoted after v1; the model store holds only v2 (v1 went missing
    when the store was moved). The CLI reads this store from the environment."""
    db = f"sqlite:///{tmp_path / 'models.db'}"
    store = tmp_path / "store"
    (store / "acme" / "v2").mkdir(parents=True)
    (store / "acme" / "v2" / "config.json").write_text("{}")
    engine = make_engine(db)
    init_db(engine)
    with session_factory(engine).begin() as s:
        acme = projects.create_project(s, "acme")
        for v in ("v1", "v2"):
            report = {"deltas": {"pricing_perception": 0.02}}
            s.add(
                ModelVersionRecord(
                    project_id=acme.id, version=v, path=f"acme/{v}", promoted=True, report=report
                )
            )
        acme.model_version, acme.model_path = "v2", "acme/v2"
    engine.dispose()
    monkeypatch.setenv("THEMECODER_PROJECT_MODELS_DIR", str(store))
    get_settings.cache_clear()
    yield db, store
    get_settings.cache_clear()


def _state(db: str) -> tuple[str | None, list[tuple[str, bool]], list[str]]:
    engine = make_engine(db)
    with session_factory(engine)() as s:
        project = s.scalar(select(ProjectRecord))
        versions = [(v["version"], v["rolled_back"]) for v in models.list_versions(s, project.id)]
        actions = [e["action"] for e in audit.trail(s, project.id)]
    engine.dispose()
    return project.model_version, versions, actions


def test_cli_models_list_shows_the_versions_and_the_one_in_use(promoted) -> None:
    db, _ = promoted
    result = CliRunner().invoke(app, ["models", "list", "-p", "acme", "--db", db])
    assert result.exit_code == 0, result.output
    assert "v1" in result.output and "v2" in result.output and "in use" in result.output
    assert "+0.0200" in result.output
    result = CliRunner().invoke(app, ["models", "list", "-p", "nope", "--db", db])
    assert result.exit_code == 2 and "project 'nope' not found" in result.output


def test_rollback_to_a_version_missing_from_the_store_is_refused(promoted) -> None:
    db, store = promoted
    engine = make_engine(db)
    with session_factory(engine)() as s, pytest.raises(Conflict, match="not in the model store"):
        models.rollback(s, s.scalar(select(ProjectRecord.id)), store=store)
    engine.dispose()
    result = CliRunner().invoke(app, ["models", "rollback", "-p", "acme", "--db", db])
    assert result.exit_code == 1 and "not in the model store" in result.output
    # nothing moved: still on v2, which is not marked rolled back, and no rollback event
    assert _state(db) == ("v2", [("v2", False), ("v1", False)], ["project_create"])
    result = CliRunner().invoke(
        app, ["models", "rollback", "-p", "acme", "--db", db, "--to", "shipped"]
    )
    assert result.exit_code == 0, result.output  # the shipped model is always there


def test_api_rollback_to_a_missing_version_is_409(promoted, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from themecoder_api import create_app

    db, store = promoted
    engine = make_engine(db)
    with session_factory(engine).begin() as s:
        key = projects.create_key(s, s.scalar(select(ProjectRecord.id)), "admin", "second")[1]
    engine.dispose()
    s = Settings(db_url=db, project_models_dir=store, results_dir=tmp_path / "results")
    with TestClient(create_app(s), raise_server_exceptions=False) as client:
        r = client.post("/v1/models/rollback", headers={"X-API-Key": key}, json={})
        assert r.status_code == 409 and "not in the model store" in r.json()["error"]["message"]
        (store / "acme" / "v1").mkdir()
        (store / "acme" / "v1" / "config.json").write_text("{}")  # the store is put back
        r = client.post("/v1/models/rollback", headers={"X-API-Key": key}, json={})
        assert r.status_code == 200 and r.json() == {"rolled_back": "v2", "model_version": "v1"}


@pytest.mark.parametrize("tolerance", ["2", "-0.1"])
def test_cli_retrain_tolerance_has_the_api_bounds(promoted, tolerance: str) -> None:
    db, _ = promoted
    args = ["models", "retrain", "-p", "acme", "--db", db, "--tolerance", tolerance]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "--tolerance" in result.output, result.output


def test_a_project_model_missing_from_the_store_names_the_store_setting(tmp_path: Path) -> None:
    """The message named only `themecoder train` and THEMECODER_MODEL_DIR, the shipped model's
    setting, where a promoted model had been left behind by a moved store."""
    from themecoder.errors import ModelUnavailable
    from themecoder.services.coders import CoderRegistry

    registry = CoderRegistry(Settings(project_models_dir=tmp_path))

    with pytest.raises(ModelUnavailable, match="THEMECODER_PROJECT_MODELS_DIR") as info:
        registry.get("acme/v2")
    assert str(tmp_path / "acme" / "v2") in info.value.message
