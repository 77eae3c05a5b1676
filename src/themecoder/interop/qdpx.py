"""REFI-QDA project exchange (``.qdpx``, QDA-XML 1.0): a plain model, a writer and a reader.

A ``.qdpx`` is a zip holding ``project.qde`` (XML in namespace ``urn:QDA-XML:project:1.0``) and
``sources/<guid>.txt`` for text sources that point to their text through ``plainTextPath``
(``internal://<guid>.txt``). Coded segments are ``PlainTextSelection`` elements with character
``startPosition`` / ``endPosition`` (code points into the source text, end exclusive) holding
``Coding`` elements that reference a code. Notes are ``Note`` elements referenced by
``NoteRef``. The reader validates ``project.qde`` against the REFI-QDA ``Project.xsd`` (read from
``settings.qda_schema``, by default ``../shared/standards/refi-qda/Project.xsd``; the project
does not copy the standard) before it reads anything, so a bad file is refused whole.

No database, no services: :mod:`themecoder.services.interop` maps stored rows to this model.
"""

from __future__ import annotations

import io
import re
import uuid
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from themecoder.errors import InvalidInput

NS = "urn:QDA-XML:project:1.0"
SCHEMA_URL = "http://schema.qdasoftware.org/versions/Project/v1.0/Project.xsd"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_GUIDS = uuid.UUID("0b6c2f7e-3d51-5e0a-8c47-1f9e2a6d3b80")  # namespace of generated GUIDs
VARIABLE_TYPES = ("Text", "Boolean", "Integer", "Float", "Date", "DateTime")
#: Largest ``project.qde`` and source text read from an archive (zip bombs stop here).
MAX_MEMBER_BYTES = 200 * 1024 * 1024


def guid(*parts: object) -> str:
    """A GUID derived from ``parts``: the same thing gets the same GUID in every export."""
    return str(uuid.uuid5(_GUIDS, "/".join(map(str, parts)))).upper()


@dataclass
class QdaCode:
    guid: str
    name: str
    description: str = ""
    color: str | None = None
    codable: bool = True
    children: list[QdaCode] = field(default_factory=list)

    def walk(self, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], QdaCode]]:
        """``(path of names, code)`` for this code and every code below it, depth first."""
        here = (*path, self.name)
        yield here, self
        for child in self.children:
            yield from child.walk(here)


@dataclass
class QdaCoding:
    code_guid: str
    guid: str = ""
    user: str | None = None  # a user GUID


@dataclass
class QdaSelection:
    guid: str
    start: int
    end: int
    codings: list[QdaCoding] = field(default_factory=list)
    name: str | None = None
    description: str | None = None
    user: str | None = None
    note: str | None = None  # text of a Note the selection references


@dataclass
class QdaSource:
    guid: str
    name: str
    text: str
    description: str | None = None
    selections: list[QdaSelection] = field(default_factory=list)
    #: ``{variable guid: value}``; the value's type follows the variable's.
    variables: dict[str, object] = field(default_factory=dict)


@dataclass
class QdaVariable:
    guid: str
    name: str
    type: str = "Text"


@dataclass
class QdaCase:
    guid: str
    name: str
    description: str | None = None
    sources: list[str] = field(default_factory=list)  # source GUIDs


@dataclass
class QdaProject:
    name: str
    origin: str = "themecoder"
    users: dict[str, str] = field(default_factory=dict)  # guid -> name
    codes: list[QdaCode] = field(default_factory=list)
    variables: list[QdaVariable] = field(default_factory=list)
    cases: list[QdaCase] = field(default_factory=list)
    sources: list[QdaSource] = field(default_factory=list)
    description: str | None = None

    def code_paths(self) -> dict[str, tuple[str, ...]]:
        """``{code guid: path of names from the top}`` for every code."""
        return {c.guid: path for top in self.codes for path, c in top.walk()}


# -- writing ---------------------------------------------------------------------------------


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(value: str) -> str:
    """``value`` without the characters XML 1.0 cannot carry (control characters, lone
    surrogates); a stored metadata value may hold them, an export must still be written."""
    return _NOT_XML.sub("", value)


def to_xml(project: QdaProject) -> bytes:
    """``project.qde`` for ``project``; sources point to ``internal://<guid>.txt``."""
    from lxml import etree

    def sub(
        parent: etree._Element, tag: str, text: str | None = None, **attrs: str
    ) -> etree._Element:
        element = etree.SubElement(parent, _q(tag), {k: xml_safe(v) for k, v in attrs.items() if v})
        if text is not None:
            element.text = xml_safe(text)
        return element

    root = etree.Element(
        _q("Project"),
        {
            "name": project.name,
            "origin": project.origin,
            f"{{{_XSI}}}schemaLocation": f"{NS} {SCHEMA_URL}",
        },
        nsmap={None: NS, "xsi": _XSI},
    )
    if project.users:
        users = sub(root, "Users")
        for gid, name in project.users.items():
            sub(users, "User", guid=gid, name=name)
    if project.codes:
        codes = sub(sub(root, "CodeBook"), "Codes")

        def emit(parent: etree._Element, code: QdaCode) -> None:
            attrs = {"guid": code.guid, "name": code.name, "isCodable": str(code.codable).lower()}
            if code.color:
                attrs["color"] = code.color
            element = sub(parent, "Code", **attrs)
            if code.description:
                sub(element, "Description", code.description)
            for child in code.children:
                emit(element, child)

        for top in project.codes:
            emit(codes, top)
    types = {v.guid: v.type for v in project.variables}
    if project.variables:
        variables = sub(root, "Variables")
        for v in project.variables:
            sub(variables, "Variable", guid=v.guid, name=v.name, typeOfVariable=v.type)
    if project.cases:
        cases = sub(root, "Cases")
        for case in project.cases:
            element = sub(cases, "Case", guid=case.guid, name=case.name)
            if case.description:
                sub(element, "Description", case.description)
            for source in case.sources:
                sub(element, "SourceRef", targetGUID=source)
    notes: list[tuple[str, str]] = []
    if project.sources:
        sources = sub(root, "Sources")
        for s in project.sources:
            element = sub(
                sources,
                "TextSource",
                guid=s.guid,
                name=s.name,
                plainTextPath=f"internal://{s.guid}.txt",
            )
            if s.description:
                sub(element, "Description", s.description)
            for sel in s.selections:
                attrs = {
                    "guid": sel.guid,
                    "name": sel.name or "",
                    "startPosition": str(sel.start),
                    "endPosition": str(sel.end),
                    "creatingUser": sel.user or "",
                }
                selection = sub(element, "PlainTextSelection", **attrs)
                if sel.description:
                    sub(selection, "Description", sel.description)
                for coding in sel.codings:
                    gid = coding.guid or guid("coding", sel.guid, coding.code_guid)
                    c = sub(selection, "Coding", guid=gid, creatingUser=coding.user or "")
                    sub(c, "CodeRef", targetGUID=coding.code_guid)
                if sel.note:
                    note_guid = guid("note", sel.guid)
                    notes.append((note_guid, sel.note))
                    sub(selection, "NoteRef", targetGUID=note_guid)
            for var_guid, value in s.variables.items():
                vv = sub(element, "VariableValue")
                sub(vv, "VariableRef", targetGUID=var_guid)
                sub(vv, f"{types.get(var_guid, 'Text')}Value", _value_text(value))
    if notes:
        element = sub(root, "Notes")
        for gid, text in notes:
            note = sub(element, "Note", guid=gid, name="themecoder")
            sub(note, "PlainTextContent", text)
    if project.description:
        sub(root, "Description", project.description)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)


def _value_text(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return format(value, "f")  # xsd:decimal has no exponent
    return str(value)


def write_qdpx(project: QdaProject) -> bytes:
    """The ``.qdpx`` archive of ``project``: ``project.qde`` and ``sources/<guid>.txt``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.qde", to_xml(project))
        for s in project.sources:
            archive.writestr(f"sources/{s.guid}.txt", s.text.encode("utf-8"))
    return buffer.getvalue()


# -- reading ---------------------------------------------------------------------------------


@cache
def _schema() -> object:
    from lxml import etree

    from themecoder.config import get_settings

    path = Path(get_settings().qda_schema)
    if not path.is_file():
        raise InvalidInput(
            f"the REFI-QDA schema Project.xsd is not at {path}; set THEMECODER_QDA_SCHEMA to "
            "its path (QDA-XML 1.0, from the REFI-QDA standard) to import .qdpx files"
        )
    return etree.XMLSchema(etree.parse(str(path)))


def schema_errors(xml: bytes) -> list[str]:
    """Problems of ``xml`` against the QDA-XML 1.0 project schema, each with its line."""
    from lxml import etree

    try:
        doc = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc}"]
    schema = _schema()
    if schema.validate(doc):  # type: ignore[attr-defined]
        return []
    if doc.tag != _q("Project"):  # the schema's own message would only say "no declaration"
        return [f"the root element is {doc.tag}, not Project in namespace {NS}"]
    return [f"line {e.line}: {e.message}" for e in schema.error_log]  # type: ignore[attr-defined]


def read_qdpx(data: bytes, name: str = "upload") -> QdaProject:
    """Read a ``.qdpx`` archive into the model.

    Raises:
        InvalidInput: Not a zip, a member damaged, encrypted or compressed in a way zipfile
            cannot read, no ``project.qde``, not valid against the schema, two codes or two
            sources with one GUID, a source whose text is missing from the archive, or a
            selection outside its source's text. The message names the problem; nothing is
            returned half-read.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise InvalidInput(f"{name}: not a .qdpx file (a .qdpx is a zip archive)") from None
    with archive:
        members = {i.filename: i for i in archive.infolist()}
        qde = members.get("project.qde") or next(
            (i for n, i in members.items() if n.lower().endswith("project.qde")), None
        )
        if qde is None:
            raise InvalidInput(f"{name}: the archive holds no project.qde")
        xml = _member(archive, qde, name)
        problems = schema_errors(xml)
        if problems:
            shown = "; ".join(problems[:5]) + (
                f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
            )
            raise InvalidInput(
                f"{name}: project.qde fails the REFI-QDA project schema (QDA-XML 1.0): {shown}"
            )
        return _parse(xml, archive, members, name)


def _member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> bytes:
    if info.file_size > MAX_MEMBER_BYTES:
        raise InvalidInput(f"{name}: {info.filename} is over {MAX_MEMBER_BYTES} bytes")
    # The central directory can be intact while a member's data is not (a truncated or
    # damaged download), encrypted, or packed with a method zipfile lacks (Deflate64).
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise InvalidInput(f"{name}: {info.filename} is damaged in the archive ({exc})") from None
    except (NotImplementedError, RuntimeError) as exc:
        raise InvalidInput(f"{name}: {info.filename} cannot be read ({exc})") from None


def _parse(
    xml: bytes, archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], name: str
) -> QdaProject:
    from lxml import etree

    root = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    project = QdaProject(name=root.get("name") or name, origin=root.get("origin") or "")
    project.description = root.findtext(_q("Description"))
    for user in root.iterfind(f"{_q('Users')}/{_q('User')}"):
        project.users[user.get("guid")] = user.get("name") or user.get("id") or user.get("guid")

    def read_code(element: etree._Element) -> QdaCode:
        return QdaCode(
            guid=element.get("guid"),
            name=element.get("name"),
            description=(element.findtext(_q("Description")) or "").strip(),
            color=element.get("color"),
            codable=element.get("isCodable") in ("true", "1"),
            children=[read_code(c) for c in element.iterfind(_q("Code"))],
        )

    project.codes = [
        read_code(c) for c in root.iterfind(f"{_q('CodeBook')}/{_q('Codes')}/{_q('Code')}")
    ]
    _unique([c for top in project.codes for _, c in top.walk()], "code", name)
    for v in root.iterfind(f"{_q('Variables')}/{_q('Variable')}"):
        project.variables.append(QdaVariable(v.get("guid"), v.get("name"), v.get("typeOfVariable")))
    for c in root.iterfind(f"{_q('Cases')}/{_q('Case')}"):
        project.cases.append(
            QdaCase(
                guid=c.get("guid"),
                name=c.get("name") or c.get("guid"),
                description=c.findtext(_q("Description")),
                sources=[r.get("targetGUID") for r in c.iterfind(_q("SourceRef"))],
            )
        )
    notes = {
        n.get("guid"): _note_text(n, archive, members, name)
        for n in root.iterfind(f"{_q('Notes')}/{_q('Note')}")
    }
    known = project.code_paths()
    for element in root.iterfind(f"{_q('Sources')}/{_q('TextSource')}"):
        source = QdaSource(
            guid=element.get("guid"),
            name=element.get("name") or element.get("guid"),
            text=_source_text(element, archive, members, name),
            description=element.findtext(_q("Description")),
        )
        for sel in element.iterfind(_q("PlainTextSelection")):
            start, end = int(sel.get("startPosition")), int(sel.get("endPosition"))
            if not 0 <= start <= end <= len(source.text):
                raise InvalidInput(
                    f"{name}: selection {sel.get('guid')} of source {source.name!r} spans "
                    f"{start}-{end}, outside its {len(source.text)} characters"
                )
            codings = []
            for coding in sel.iterfind(_q("Coding")):
                target = coding.find(_q("CodeRef")).get("targetGUID")
                if target not in known:
                    raise InvalidInput(
                        f"{name}: a coding in source {source.name!r} references code {target}, "
                        "which the codebook does not hold"
                    )
                codings.append(QdaCoding(target, coding.get("guid"), coding.get("creatingUser")))
            refs = [notes.get(r.get("targetGUID")) for r in sel.iterfind(_q("NoteRef"))]
            source.selections.append(
                QdaSelection(
                    guid=sel.get("guid"),
                    start=start,
                    end=end,
                    codings=codings,
                    name=sel.get("name"),
                    description=sel.findtext(_q("Description")),
                    user=sel.get("creatingUser"),
                    note="\n\n".join(r for r in refs if r) or None,
                )
            )
        for vv in element.iterfind(_q("VariableValue")):
            ref = vv.find(_q("VariableRef")).get("targetGUID")
            value = next((child.text for child in vv if child.tag != _q("VariableRef")), None)
            source.variables[ref] = value
        project.sources.append(source)
    _unique(project.sources, "source", name)
    skipped = [
        e.tag.split("}")[-1]
        for e in root.iterfind(f"{_q('Sources')}/*")
        if e.tag != _q("TextSource")
    ]
    if skipped:
        raise InvalidInput(
            f"{name}: only text sources can be imported; the project also holds "
            + ", ".join(sorted(set(skipped)))
        )
    return project


def _unique(things: list[QdaCode] | list[QdaSource], kind: str, name: str) -> None:
    """Refuse two codes (or sources) with one GUID: codings and items are matched by GUID, so
    one would silently take the other's segments."""
    seen: dict[str, str] = {}
    for thing in things:
        if thing.guid in seen:
            raise InvalidInput(
                f"{name}: {kind}s {seen[thing.guid]!r} and {thing.name!r} have the same GUID "
                f"{thing.guid}; a GUID names one {kind}"
            )
        seen[thing.guid] = thing.name


def _note_text(
    note: object, archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], name: str
) -> str:
    return _source_text(note, archive, members, name, kind="note")


def _source_text(
    element: object,
    archive: zipfile.ZipFile,
    members: dict[str, zipfile.ZipInfo],
    name: str,
    kind: str = "source",
) -> str:
    inline = element.findtext(_q("PlainTextContent"))  # type: ignore[attr-defined]
    if inline is not None:
        return inline
    path = element.get("plainTextPath")  # type: ignore[attr-defined]
    label = element.get("name") or element.get("guid")  # type: ignore[attr-defined]
    if not path:
        return ""
    if not path.startswith("internal://"):
        raise InvalidInput(
            f"{name}: {kind} {label!r} points to {path!r} outside the archive; only "
            "internal:// sources can be imported"
        )
    member = "sources/" + path.removeprefix("internal://")
    info = members.get(member)
    if info is None:
        raise InvalidInput(f"{name}: {kind} {label!r} names {member}, which the archive lacks")
    try:
        text = _member(archive, info, name).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{name}: {member} is not UTF-8 text") from None
    return text.removeprefix("\ufeff")
