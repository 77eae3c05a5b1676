"""REFI-QDA .qdc interchange: structure per the Codebook standard, round trips, foreign files."""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET

import pytest

from themecoder.codebook import edits
from themecoder.codebook.model import Code, Codebook
from themecoder.codebook.qdc import NS, code_guid, from_qdc, to_qdc
from themecoder.codebook.validate import load_codebook
from themecoder.errors import InvalidInput
from themecoder.services import codebook as svc

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
Q = f"{{{NS}}}"


@pytest.fixture
def book() -> Codebook:
    """The default codebook with sub-codes, awkward characters, and a sub-code listed last."""
    base = load_codebook()
    base = edits.add_code(
        base,
        Code(
            id="sso_setup",
            name='SSO <setup> & "login"',
            parent="onboarding_clarity",
            definition="Setting up single sign-on.\nIncludes SAML & OIDC.",
            examples={"risk": ["Où est la configuration SSO ? ☕"]},
            metrics=["activation_rate"],
        ),
    )
    base = edits.add_code(
        base, Code(id="saml_errors", name="SAML errors", parent="sso_setup", definition="SAML.")
    )
    return edits.rename_code(base, "pricing_perception", "price_perception", "Price perception")


def test_export_follows_the_codebook_standard(book):
    root = ET.fromstring(to_qdc(book))
    assert root.tag == f"{Q}CodeBook"
    assert "codebook=signal-buckets; version=4" in root.get("origin", "")
    top = root.findall(f"{Q}Codes/{Q}Code")
    assert [c.get("name") for c in top] == [c.name for c in book.children(None)]
    all_codes = root.iter(f"{Q}Code")
    guids = set()
    for element in all_codes:
        assert GUID.match(element.get("guid", "")) and element.get("isCodable") == "true"
        assert element.find(f"{Q}Description") is not None
        guids.add(element.get("guid"))
    assert len(guids) == len(book.codes) == 8
    onboarding = next(c for c in top if c.get("name") == "Onboarding clarity")
    (sso,) = onboarding.findall(f"{Q}Code")
    assert sso.get("name") == 'SSO <setup> & "login"'
    assert [c.get("name") for c in sso.findall(f"{Q}Code")] == ["SAML errors"]
    description = sso.findtext(f"{Q}Description") or ""
    assert description.startswith("Setting up single sign-on.\nIncludes SAML & OIDC.\n---\n")
    sets = root.findall(f"{Q}Sets/{Q}Set")
    owners = {f"Owner: {c.owner}" for c in book.codes if c.owner}
    assert {s.get("name") for s in sets} == owners | {"themecoder: codebook"}
    members = {m.get("targetGUID") for m in root.iter(f"{Q}MemberCode")}
    assert members <= guids and len(members) == 6


def test_round_trip_gives_the_same_codebook(book):
    back = from_qdc(to_qdc(book))
    assert back == book  # codes, name, version, description and lineage
    assert back.history().resolve("pricing_perception") == ("price_perception",)
    default = load_codebook()
    assert from_qdc(to_qdc(default)) == default


def test_guid_survives_a_rename(book):
    renamed = edits.rename_code(book, "support_friction", "support_experience")
    assert code_guid(renamed, "support_experience") == code_guid(book, "support_friction")
    assert code_guid(book, "price_perception") == code_guid(load_codebook(), "pricing_perception")
    assert code_guid(book, "support_friction") != code_guid(book, "renewal_likelihood")


FOREIGN = """<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="SomeQDA 12">
  <Codes>
    <Code guid="0b5e2f4c-1111-4a2b-9c3d-000000000001" name="Pricing" isCodable="true">
      <Description>Talk about price.</Description>
      <Code guid="0b5e2f4c-1111-4a2b-9c3d-000000000002" name="Too expensive!" isCodable="true">
        <Description>Price judged too high.</Description>
      </Code>
    </Code>
    <Code guid="0b5e2f4c-1111-4a2b-9c3d-000000000003" name="2nd topic" isCodable="false">
      <Description>Another.</Description>
    </Code>
  </Codes>
</CodeBook>
"""


def test_import_from_another_tool(tmp_path):
    book = from_qdc(FOREIGN, default_owner="CS Ops")
    assert [(c.id, c.parent, c.owner, c.definition) for c in book.codes] == [
        ("pricing", None, "CS Ops", "Talk about price."),
        ("too_expensive", "pricing", None, "Price judged too high."),
        ("c_2nd_topic", None, "CS Ops", "Another."),
    ]
    src = tmp_path / "other.qdc"
    src.write_text(FOREIGN, encoding="utf-8")
    written = svc.import_codebook(src, tmp_path / "cb.yaml", default_owner="CS Ops")
    assert svc.load(tmp_path / "cb.yaml") == written
    with pytest.raises(Exception, match="top-level code 'pricing' needs an owner"):
        svc.import_codebook(src, tmp_path / "cb2.yaml")
    assert not (tmp_path / "cb2.yaml").exists()


def test_bad_files_are_refused():
    with pytest.raises(InvalidInput, match="not a .qdc file"):
        from_qdc("<CodeBook><Codes>")
    with pytest.raises(InvalidInput, match="root element is 'Project'"):
        from_qdc("<Project/>")
