"""REFI-QDA codebook interchange (``.qdc``), per the REFI-QDA Codebook standard 1.0.

The standard gives a code a GUID, a name, ``isCodable``, an optional ``Description`` and
nested sub-codes. Everything else themecoder keeps (id, criteria, examples, expressions,
owner, metrics) goes in the Description after the definition, as a YAML block under a
``---`` line: QDA tools show it to coders as the code's memo, and import reads it back, so an
export followed by an import gives the same codes. One ``Set`` per owner groups codes by the
team accountable. The codebook's description and lineage, which the standard has no place
for, travel in one more Set (``themecoder: codebook``, no members) whose Description is YAML,
so a round trip keeps history; other tools show it as an empty set.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from xml.etree import ElementTree as ET

import yaml
from pydantic import ValidationError

from themecoder.codebook.model import Code, Codebook
from themecoder.codebook.problems import CodebookInvalid, Problem
from themecoder.codebook.yamlio import dump_yaml, format_path
from themecoder.errors import InvalidInput

NS = "urn:QDA-XML:codebook:1.0"
SCHEMA = "http://schema.qdasoftware.org/versions/Codebook/v1.0/Codebook.xsd"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_GUIDS = uuid.UUID("6f1c3e0a-2b7d-5c4e-9a1f-7d2e8b3c4a50")  # namespace of our code GUIDs
_MARK = "\n---\nthemecoder:\n"
_META_SET = "themecoder: codebook"
_ORIGIN = re.compile(r"codebook=(?P<name>.*?); version=(?P<version>\d+)")


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def code_guid(book: Codebook, code_id: str) -> str:
    """A GUID stable across exports and renames: derived from the code's first id."""
    first = {e.targets[0]: e.sources[0] for e in book.history().events if e.kind == "rename"}
    while code_id in first:
        code_id = first[code_id]
    return str(uuid.uuid5(_GUIDS, f"{book.name}/{code_id}"))


def to_qdc(book: Codebook) -> str:
    """The codebook as REFI-QDA ``.qdc`` XML text."""
    ET.register_namespace("", NS)
    ET.register_namespace("xsi", _XSI)
    origin = f"themecoder; codebook={book.name}; version={book.version}"
    root = ET.Element(
        _q("CodeBook"), {"origin": origin, f"{{{_XSI}}}schemaLocation": f"{NS} {SCHEMA}"}
    )
    codes = ET.SubElement(root, _q("Codes"))
    position = {cid: i for i, cid in enumerate(book.ids())}

    def emit(parent: ET.Element, code: Code) -> None:
        attrs = {"guid": code_guid(book, code.id), "name": code.name, "isCodable": "true"}
        element = ET.SubElement(parent, _q("Code"), attrs)
        ET.SubElement(element, _q("Description")).text = _description(code, position[code.id])
        for child in book.children(code.id):
            emit(element, child)

    for top in book.children(None):
        emit(codes, top)
    owners: dict[str, list[str]] = {}
    for code in book.codes:
        if code.owner:
            owners.setdefault(code.owner, []).append(code.id)
    sets = ET.SubElement(root, _q("Sets"))
    if owners:
        for owner, ids in owners.items():
            guid = str(uuid.uuid5(_GUIDS, f"{book.name}/owner/{owner}"))
            member = ET.SubElement(sets, _q("Set"), {"guid": guid, "name": f"Owner: {owner}"})
            ET.SubElement(member, _q("Description")).text = f"Codes {owner} is accountable for."
            for cid in ids:
                ET.SubElement(member, _q("MemberCode"), {"targetGUID": code_guid(book, cid)})
    meta = book.model_dump(include={"description", "lineage"}, exclude_defaults=True)
    if meta:
        guid = str(uuid.uuid5(_GUIDS, f"{book.name}/meta"))
        element = ET.SubElement(sets, _q("Set"), {"guid": guid, "name": _META_SET})
        ET.SubElement(element, _q("Description")).text = dump_yaml(meta)
    if not len(sets):
        root.remove(sets)
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n"


def _description(code: Code, position: int) -> str:
    extra: dict[str, Any] = {"id": code.id, "position": position}
    extra.update(
        code.model_dump(exclude={"id", "name", "parent", "definition"}, exclude_defaults=True)
    )
    block = dump_yaml({"themecoder": extra}).split("\n", 1)[1]
    return code.definition + _MARK + block


def from_qdc(text: str, default_owner: str | None = None) -> Codebook:
    """Read ``.qdc`` XML, ours or another tool's, into a codebook (not yet validated).

    Codes without our YAML block take their definition from the Description and an id made
    from the name; top-level codes without an owner get ``default_owner``.

    Raises:
        InvalidInput: Not well-formed XML, or not a REFI-QDA codebook.
    """
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise InvalidInput(f"not a .qdc file: {exc}") from None
    if root.tag != _q("CodeBook"):
        raise InvalidInput(
            f"not a REFI-QDA codebook: root element is {root.tag!r}, expected CodeBook"
        )
    origin = _ORIGIN.search(root.get("origin", ""))
    rows: list[tuple[int, dict[str, Any]]] = []
    used: set[str] = set()

    def read(element: ET.Element, parent: str | None) -> None:
        name = element.get("name") or ""
        desc = element.findtext(_q("Description")) or ""
        definition, _, tail = desc.partition(_MARK)
        extra = _extra(tail, name)
        code_id = str(extra.pop("id", "") or _slug(name, used))
        used.add(code_id)
        position = int(extra.pop("position", len(rows)))
        row = {
            "id": code_id,
            "name": name,
            "parent": parent,
            "definition": definition.strip(),
            **extra,
        }
        if parent is None and not row.get("owner") and default_owner:
            row["owner"] = default_owner
        rows.append((position, row))
        for child in element.findall(_q("Code")):
            read(child, code_id)

    codes = root.find(_q("Codes"))
    for element in [] if codes is None else codes.findall(_q("Code")):
        read(element, None)
    rows.sort(key=lambda r: r[0])
    name = origin.group("name") if origin else (root.get("origin") or "imported")
    version = int(origin.group("version")) if origin else 1
    meta: dict[str, Any] = {}
    for element in root.iterfind(f"{_q('Sets')}/{_q('Set')}"):
        if element.get("name") == _META_SET:
            meta = _yaml_block(element.findtext(_q("Description")) or "", _META_SET)
    try:
        codes = [row for _, row in rows]
        return Codebook(name=name, version=version, codes=codes, **meta)
    except ValidationError as exc:
        problems = [Problem(e["msg"], format_path(e["loc"])) for e in exc.errors()]
        raise CodebookInvalid(problems, "imported .qdc") from None


def _extra(tail: str, name: str) -> dict[str, Any]:
    if not tail:
        return {}
    extra = _yaml_block("themecoder:\n" + tail, f"code {name!r}").get("themecoder")
    return dict(extra) if isinstance(extra, dict) else {}


def _yaml_block(text: str, where: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        raise InvalidInput(f"{where}: unreadable themecoder YAML in its Description") from None
    return data if isinstance(data, dict) else {}


def _slug(name: str, used: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "code"
    base = base if base[0].isalpha() else f"c_{base}"
    slug, n = base, 2
    while slug in used:
        slug, n = f"{base}_{n}", n + 1
    return slug
