"""Promotion with evidence (issue 10, item 2): a minimum of held-out reviewed units per bucket,
non-inferiority on a bootstrap interval, unmeasured buckets kept as they were, rollbacks, and
model paths relative to the model store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from themecoder.artifact import load_artifact, save_artifact
from themecoder.cli import app
from themecoder.config import Settings, get_settings
from themecoder.errors import InvalidInput
from themecoder.labelled import split_of
from themecoder.review.promotion import delta_ci, has_evidence, should_promote
from themecoder.services import audit
from themecoder.services.retrain import Correction, keep_heads, retrain
from themecoder.storage import (
    ModelVersionRecord,
    ProjectRecord,
    init_db,
    make_engine,
    session_factory,
)

SHIPPED = Settings().model_dir


def test_retrain_on_one_held_out_unit_is_refused_before_training(tmp_path: Path) -> None:
    """Regression: a retrain was promoted on one held-out unit (one bucket scored)."""
    texts = [f"Ticket {i}: the export to PDF drops the last column." for i in range(40)]
    held = [t for t in texts if split_of(t) == "test"][:1]
    train = [t for t in texts if split_of(t) == "train"]
    corrections = [Correction(t, {"support_friction": "risk"}) for t in [*train, *held]]
    with pytest.raises(InvalidInput, match="not enough held-out reviewed units"):
        retrain(Settings(cache_dir=tmp_path), corrections, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_tie_of_one_unit_is_no_evidence_and_the_interval_decides() -> None:
    truth, pred = np.array([True]), np.array([True])
    assert delta_ci(truth, pred, pred) == (0.0, 0.0)
    assert not has_evidence(1, 1) and not has_evidence(40, 2) and has_evidence(20, 5)
    # Same point F1, but a wide interval reaching below the margin: not promoted.
    assert should_promote({"a": 0.8}, {"a": 0.8}, 0.05, lower_bounds={"a": -0.2}).promote is False
    assert should_promote({"a": 0.8}, {"a": 0.8}, 0.05, lower_bounds={"a": -0.01}).promote is True
    rng = np.random.default_rng(1)
    t = rng.random(200) < 0.3
    better = t.copy()
    worse = t & (rng.random(200) < 0.5)  # misses half the positives
    lo, hi = delta_ci(t, worse, better)
    assert 0 < lo <= hi  # clearly better
    lo, hi = delta_ci(t, better, worse)
    assert lo <= hi < 0


def test_keep_heads_gives_unmeasured_buckets_the_current_head(tmp_path: Path) -> None:
    current = load_artifact(SHIPPED)
    candidate = load_artifact(SHIPPED)
    candidate.arrays = {
        k: (np.zeros_like(v) if k.startswith("bucket.") else v) for k, v in candidate.arrays.items()
    }
    save_artifact(candidate, tmp_path / "cand")
    order = current.config["buckets"]
    kept = ["renewal_likelihood", "pricing_perception"]
    keep_heads(SHIPPED, tmp_path / "cand", kept)
    after = load_artifact(tmp_path / "cand")
    for name in ("bucket.coef_", "bucket.intercept_", "bucket.thresholds_"):
        for i, bucket in enumerate(order):
            want = current.arrays[name][i] if bucket in kept else 0
            assert np.array_equal(
                after.arrays[name][i], np.broadcast_to(want, after.arrays[name][i].shape)
            )
    assert after.config["kept_buckets"] == {"from": current.version, "buckets": kept}


def _store_model(store: Path, rel: str, version: str) -> None:
    shutil.copytree(SHIPPED, store / rel)
    config = json.loads((store / rel / "config.json").read_text())
    config["version"] = version
    (store / rel / "config.json").write_text(json.dumps(config))


def _promoted(db_url: str, slug: str, store: Path) -> None:
    """Two promoted versions v1 then v2, the project on v2, paths relative to the store."""
    engine = make_engine(db_url)
    with session_factory(engine).begin() as s:
        project = s.scalar(select(ProjectRecord).where(ProjectRecord.slug == slug))
        for v in ("v1", "v2"):
            _store_model(store, f"{slug}/{v}", v)
            s.add(
                ModelVersionRecord(
                    project_id=project.id, version=v, path=f"{slug}/{v}", promoted=True, report={}
                )
            )
        project.model_version, project.model_path = "v2", f"{slug}/v2"
    engine.dispose()


@pytest.mark.model
def test_api_rollback_and_store_relative_paths(api, tmp_path, monkeypatch) -> None:
    store = api.settings.project_models_dir
    _promoted(api.settings.db_url, "acme", store)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # a restart elsewhere: the stored path must still resolve

    def code() -> str:
        r = api.client.post("/v1/code", headers=api.h("ingest"), json={"text": "Price doubled."})
        assert r.status_code == 200, r.text
        return r.json()["model_version"]

    assert code() == "v2"
    r = api.client.post("/v1/models/rollback", headers=api.h(), json={})
    assert r.status_code == 200 and r.json() == {"rolled_back": "v2", "model_version": "v1"}
    assert code() == "v1"
    assert (
        api.client.post("/v1/models/rollback", headers=api.h("reviewer"), json={}).status_code
        == 403
    )
    r = api.client.post("/v1/models/rollback", headers=api.h(), json={"to_version": "nope"})
    assert r.status_code == 404
    r = api.client.post("/v1/models/rollback", headers=api.h(), json={})
    assert r.json()["model_version"] == "shipped"
    assert api.client.get("/v1/project", headers=api.h()).json()["model_version"] is None
    assert api.client.post("/v1/models/rollback", headers=api.h(), json={}).status_code == 409
    versions = api.client.get("/v1/models", headers=api.h()).json()["versions"]
    assert [(v["version"], v["rolled_back"]) for v in versions] == [("v2", True), ("v1", True)]
    events = api.client.get("/v1/audit", headers=api.h(), params={"limit": 500}).json()["events"]
    assert [e["after"] for e in events if e["action"] == "rollback"] == [
        {"model_version": "v1"},
        {"model_version": "shipped"},
    ]


def test_cli_rollback_is_audited(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    get_settings.cache_clear()
    assert runner.invoke(app, ["projects", "create", "acme", "--db", db]).exit_code == 0
    _promoted(db, "acme", tmp_path / "store")
    get_settings.cache_clear()
    result = runner.invoke(app, ["models", "rollback", "-p", "acme", "--to", "shipped", "--db", db])
    assert result.exit_code == 0, result.output
    engine = make_engine(db)
    with session_factory(engine)() as s:
        project = s.scalar(select(ProjectRecord))
        assert (project.model_version, project.model_path) == (None, None)
        events = audit.trail(s, project.id)
    engine.dispose()
    assert events[-1]["action"] == "rollback" and events[-1]["actor"] == "cli"


def test_a_rollback_past_a_version_never_returns_to_it(tmp_path: Path) -> None:
    """v1, v2, v3 promoted; rolled back to v1; v4 promoted: the next rollback went to v2,
    the version the admin had skipped, not to v1."""
    from themecoder.services import models, projects

    db = f"sqlite:///{tmp_path / 'roll.db'}"
    engine = make_engine(db)
    init_db(engine)
    with session_factory(engine).begin() as s:
        acme = projects.create_project(s, "acme").id
        for v in ("v1", "v2", "v3"):
            s.add(ModelVersionRecord(project_id=acme, version=v, path=v, promoted=True, report={}))
        s.get(ProjectRecord, acme).model_version = "v3"
    with session_factory(engine).begin() as s:
        assert models.rollback(s, acme, to="v1")["model_version"] == "v1"
    with session_factory(engine).begin() as s:
        s.add(
            ModelVersionRecord(project_id=acme, version="v4", path="v4", promoted=True, report={})
        )
        s.get(ProjectRecord, acme).model_version = "v4"
    with session_factory(engine).begin() as s:
        assert models.rollback(s, acme) == {"rolled_back": "v4", "model_version": "v1"}
    engine.dispose()
