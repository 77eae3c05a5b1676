"""Personal data is masked where it is stored and served; originals only encrypted, by opt-in;
migration 0007_pii masks rows stored before it."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import select, text

from themecoder.storage import make_engine, session_factory
from themecoder.storage.tables import ItemRecord, UnitRecord

pytestmark = pytest.mark.model

RAW = {
    "email": "maria.gonzalez@brightlane.io",
    "phone": "+1 (415) 555-0134",
    "card": "4111 1111 1111 1111",
    "name": "Maria Gonzalez",
    "speaker": "Oluwaseun",
}
TICKET = (
    "Hi, this is Maria Gonzalez. We were charged twice on card 4111 1111 1111 1111 exp 09/28 "
    "and nobody answered. The per-seat pricing doubled our bill and I am thinking about not "
    "renewing. Reach me at maria.gonzalez@brightlane.io or +1 (415) 555-0134. Oluwaseun "
    "from our IT team has the details."
)


def _stored(url: str) -> tuple[list[ItemRecord], list[UnitRecord]]:
    engine = make_engine(url)
    with session_factory(engine)() as s:
        items = list(s.scalars(select(ItemRecord).order_by(ItemRecord.id)))
        units = list(s.scalars(select(UnitRecord).order_by(UnitRecord.id)))
    engine.dispose()
    return items, units


def _no_raw(blob: str) -> None:
    for kind, value in RAW.items():
        assert value not in blob, f"raw {kind} {value!r} in {blob[:200]!r}"
    assert "Maria" not in blob and "Gonzalez" not in blob


def test_stored_and_served_text_is_masked_with_offsets_on_it(api) -> None:
    api.ingest(
        [
            {
                "external_id": "T-1",
                "text": TICKET,
                "speaker": "Oluwaseun (Lagos Logistics)",
                "metadata": {"email": RAW["email"], "customer_name": RAW["name"], "plan": "Pro"},
            }
        ]
    )
    items, units = _stored(api.settings.db_url)
    (item,) = items
    _no_raw(item.text + " ".join(u.text for u in units) + str(item.speaker))
    assert "[EMAIL]" in item.text and "[PHONE]" in item.text and "[CARD]" in item.text
    assert "[PERSON]" in item.text and item.original is None  # not kept unless opted in
    assert item.speaker == "[PERSON] (Lagos Logistics)"
    assert units and all(item.text[u.start_char : u.end_char] == u.text for u in units)

    r = api.client.get("/v1/items/T-1", headers=api.h("reviewer"))
    assert r.status_code == 200
    body = r.json()
    assert body["text"] == item.text
    assert all(body["text"][u["start"] : u["end"]] == u["text"] for u in body["units"])
    # metadata columns are masked once the project names them as personal (next test); the
    # text itself never holds the raw values
    _no_raw(body["text"] + " ".join(u["text"] for u in body["units"]))

    r = api.client.post("/v1/code", headers=api.h("ingest"), json={"text": TICKET})
    assert r.status_code == 200
    _no_raw(r.text)


def test_personal_metadata_columns_are_masked(api) -> None:
    r = api.client.patch(
        "/v1/project",
        headers=api.h("admin"),
        json={"personal_metadata": ["email", "customer_name", "phone"]},
    )
    assert r.status_code == 200, r.text
    api.ingest(
        [
            {
                "external_id": "T-2",
                "text": "Please call Maria about the renewal.",
                "metadata": {
                    "email": RAW["email"],
                    "customer_name": RAW["name"],
                    "phone": 4155550134,
                    "plan": "Pro",
                },
            }
        ]
    )
    body = api.client.get("/v1/items/T-2", headers=api.h("admin")).json()
    assert body["metadata"] == {
        "email": "[EMAIL]",
        "customer_name": "[PERSON]",
        "phone": "[REDACTED]",
        "plan": "Pro",
    }
    assert body["text"] == "Please call [PERSON] about the renewal."  # the column's name, too


def test_keep_original_needs_a_key(api) -> None:
    r = api.client.patch("/v1/project", headers=api.h("admin"), json={"keep_original": True})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "keep_original"


@pytest.fixture
def keyed(db_url: str, coder, tmp_path):
    """The API with a PII key, project acme keeping originals."""
    from fastapi.testclient import TestClient

    from themecoder.config import Settings
    from themecoder.services import projects
    from themecoder.storage import init_db
    from themecoder_api import create_app

    key = Fernet.generate_key().decode()
    s = Settings(db_url=db_url, pii_key=key, project_models_dir=tmp_path / "models")
    engine = make_engine(db_url)
    init_db(engine)
    with session_factory(engine).begin() as session:
        acme = projects.create_project(session, "acme")
        projects.update_settings(session, acme.id, {"keep_original": True}, key_configured=True)
        admin = projects.create_key(session, acme.id, "admin", "admin")[1]
    engine.dispose()
    with TestClient(create_app(s, coder=coder), raise_server_exceptions=True) as client:
        yield client, s, {"X-API-Key": admin}


def test_opted_in_original_round_trips_encrypted(keyed) -> None:
    from themecoder.services import privacy

    client, s, h = keyed
    r = client.post(
        "/v1/items",
        headers=h,
        json={"items": [{"external_id": "K-1", "text": TICKET, "metadata": {"plan": "Pro"}}]},
    )
    assert r.status_code == 200, r.text
    (item,), _ = _stored(s.db_url)
    _no_raw(item.text)
    assert item.original and RAW["email"] not in item.original  # a Fernet token, not the text
    engine = make_engine(s.db_url)
    with session_factory(engine)() as session:
        original = privacy.original_item(session, s, item.project_id, "K-1")
        wrong = s.model_copy(update={"pii_key": SecretStr(Fernet.generate_key().decode())})
        with pytest.raises(Exception, match="cannot be decrypted"):
            privacy.original_item(session, wrong, item.project_id, "K-1")
    engine.dispose()
    assert original == {"text": TICKET, "speaker": None, "metadata": {}}


def test_service_refuses_to_start_for_a_keeping_project_without_key(keyed) -> None:
    from fastapi.testclient import TestClient

    from themecoder.errors import ConfigurationError
    from themecoder_api import create_app

    _, s, _ = keyed
    app = create_app(s.model_copy(update={"pii_key": None}))
    with pytest.raises(ConfigurationError, match="acme"), TestClient(app):
        pass


def test_migration_masks_rows_stored_before_it(db_url: str) -> None:
    from alembic import command

    from themecoder.storage import alembic_config, init_db

    engine = make_engine(db_url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0005_trust")
    raw = "Dana: call me on 415-555-0199 or mail dana.w@northwind.io, card 4111111111111111."
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO runs (id, created_at, source, model_version, level, n_items, "
                "n_units, settings) VALUES (1, CURRENT_TIMESTAMP, 'x', 'm', 'unit', 1, 2, '{}')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO items (id, run_id, external_id, text, speaker, coded, meta, "
                "sentiment, sentiment_score, expression) VALUES (1, 1, 'i1', :t, 'Dana Whitfield', "
                ":c, :m, 'neutral', 0.0, 'none')"
            ),
            {"t": raw, "c": True, "m": '{"speaker": "Dana Whitfield", "plan": "Pro"}'},
        )
        cut = raw.index(" or mail")
        for idx, (a, b) in enumerate([(0, cut), (cut + 1, len(raw))]):
            conn.execute(
                text(
                    "INSERT INTO units (item_id, idx, start_char, end_char, text, sentiment, "
                    "sentiment_score, expression, embedding_dim) VALUES (1, :i, :a, :b, :t, "
                    "'neutral', 0.0, 'none', 0)"
                ),
                {"i": idx, "a": a, "b": b, "t": raw[a:b]},
            )
    init_db(engine)  # 0005_trust -> head, through 0007_pii
    engine.dispose()
    (item,), units = _stored(db_url)
    assert item.text == "[PERSON]: call me on [PHONE] or mail [EMAIL], card [CARD]."
    assert item.speaker == "[PERSON]" and item.meta == {"speaker": "[PERSON]", "plan": "Pro"}
    assert [u.text for u in units] == [
        "[PERSON]: call me on [PHONE]",
        "or mail [EMAIL], card [CARD].",
    ]
    assert all(item.text[u.start_char : u.end_char] == u.text for u in units)
