"""REFI-QDA project export: a project's sources, codes and coded segments as a ``.qdpx``.

Mapping (what a QDA tool such as MAXQDA, NVivo, ATLAS.ti or QualCoder then shows):

* **Sources**: one text source per group of items: per input file (``items.source``: a
  transcript, a CSV of tickets) or, with ``group="account"``, per account. The source text is
  the items' texts in order, each prefixed by ``Speaker: `` (transcript turns) or ``[id] ``
  (tickets), separated by a blank line; an imported source is exported as it came.
* **Codes**: each signal bucket is a code with its polarities as sub-codes (the coding goes on
  the sub-code); discovered themes are sub-codes of ``themes``; custom codes and codes imported
  from other tools keep their hierarchy, GUIDs and colours.
* **Coded segments**: every coded unit is a ``PlainTextSelection`` at its exact character
  offsets in the source text, holding a ``Coding`` per code. The coding user is the reviewer
  who decided (approve, override, added code), else the model (``themecoder <model version>``).
  Confidence, review state and the model's reasons go in a note on the selection.
* **Variables and cases**: item metadata that is constant across a source (account_id, plan,
  a transcript header's keys) becomes a variable value of the source; each account is a case
  holding its sources.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any

from sqlalchemy.orm import Session

from themecoder.codebook.model import Codebook
from themecoder.domain import BUCKETS, POLARITIES
from themecoder.errors import InvalidInput
from themecoder.interop.qdpx import (
    QdaCase,
    QdaCode,
    QdaCoding,
    QdaProject,
    QdaSelection,
    QdaSource,
    QdaVariable,
    guid,
    write_qdpx,
)
from themecoder.services import audit
from themecoder.services.theme_store import unit_live_themes
from themecoder.storage import interop_queries as q
from themecoder.storage.codebooks import load_codebook_yaml
from themecoder.storage.review import ProjectRecord

GROUPS = ("source", "account")
#: Item metadata that varies per turn or is ours; never a source variable.
_NOT_VARIABLES = {"speaker", "turn", "timestamp", "qdpx_source", "qdpx_cases", "role"}
IMPORT_MARK = "qdpx_source"


def export_project(
    session: Session,
    project_id: int | None,
    *,
    name: str | None = None,
    group: str = "source",
    codebook: Codebook | None = None,
    who: Any = None,
) -> QdaProject:
    """The stored project as a REFI-QDA model (see the module docstring for the mapping).

    Args:
        session: Open session; an export event is audited in it (projects only).
        project_id: The project (``None``: the command line's store).
        name: The project name written into the file (default: the project's slug).
        group: ``"source"`` (per input file) or ``"account"``.
        codebook: Gives the buckets their descriptions (default: none).
        who: The principal exporting (``None``: the command line).

    Raises:
        InvalidInput: An unknown ``group``.
    """
    if group not in GROUPS:
        raise InvalidInput(
            f"group must be one of {', '.join(GROUPS)}, not {group!r}", field="group"
        )
    items = q.project_items(session, project_id)
    units = q.project_units(session, project_id)
    codes = q.unit_codes(session, project_id)
    themes = unit_live_themes(session, [u["id"] for u in units])
    if name is None:
        name = project_slug(session, project_id)
    project = QdaProject(name=name, origin="themecoder")
    builder = _Builder(project)
    if units:
        builder.bucket_codes(codebook, {c["bucket"] for c in codes})
    labels = {t["theme_id"]: t["label"] for t in themes}
    labels.update(q.theme_labels(session, [c["theme_id"] for c in codes if c["theme_id"]]))
    if labels:
        builder.theme_codes(labels)
    for record in q.qda_imports(session, project_id):
        builder.imported_codes(
            record, Codebook.from_yaml(load_codebook_yaml(session, record.codebook))
        )
    base = builder.sources(items, group)
    builder.unit_selections(units, codes, themes, base)
    builder.segment_selections(q.coded_segments(session, project_id), base)
    builder.variables_and_cases()
    if project_id is not None:
        audit.record(
            session,
            who,
            project_id,
            "export",
            f"project:{project_id}",
            None,
            {
                "format": "qdpx",
                "group": group,
                "sources": len(project.sources),
                "selections": sum(len(s.selections) for s in project.sources),
            },
        )
    return project


def project_slug(session: Session, project_id: int | None) -> str:
    """The project's slug (``"themecoder"`` for the command line's store)."""
    record = session.get(ProjectRecord, project_id) if project_id is not None else None
    return record.slug if record is not None else "themecoder"


def export_qdpx(session: Session, project_id: int | None, **options: Any) -> bytes:
    """:func:`export_project` written as ``.qdpx`` bytes."""
    return write_qdpx(export_project(session, project_id, **options))


class _Builder:
    def __init__(self, project: QdaProject) -> None:
        self.project = project
        self.code_guid: dict[
            tuple[str, ...], str
        ] = {}  # ("bucket", b, p) / ("theme", id) / ("custom", import, id)
        self.source_of: dict[int, QdaSource] = {}
        self.items: dict[int, dict[str, Any]] = {}

    def user(self, name: str) -> str:
        gid = guid("user", name)
        self.project.users.setdefault(gid, name)
        return gid

    def _add_top(self, code: QdaCode) -> None:
        seen = set(self.project.code_paths())
        if code.guid not in seen:
            self.project.codes.append(code)

    def bucket_codes(self, codebook: Codebook | None, used: set[str]) -> None:
        defined = {c.id: c.definition for c in codebook.codes} if codebook else {}
        for bucket in [*BUCKETS, *sorted(used - set(BUCKETS))]:
            top = QdaCode(guid("bucket", bucket), bucket, defined.get(bucket, ""), codable=False)
            for polarity in POLARITIES:
                gid = guid("bucket", bucket, polarity)
                top.children.append(QdaCode(gid, polarity, f"{bucket}, {polarity}"))
                self.code_guid[("bucket", bucket, polarity)] = gid
            self._add_top(top)

    def theme_codes(self, labels: dict[int, str]) -> None:
        top = QdaCode(
            guid("themes"), "themes", "Themes discovered in the project's units.", codable=False
        )
        for theme_id in sorted(labels):
            gid = guid("theme", theme_id)
            top.children.append(QdaCode(gid, f"theme {theme_id}: {labels[theme_id]}"))
            self.code_guid[("theme", str(theme_id))] = gid
        self._add_top(top)

    def imported_codes(self, record: Any, book: Codebook) -> None:
        meta = record.codes

        def build(code_id: str) -> QdaCode:
            code, info = book.get(code_id), meta.get(code_id, {})
            gid = info.get("guid") or guid("custom", record.id, code_id)
            self.code_guid[("custom", str(record.id), code_id)] = gid
            return QdaCode(
                gid,
                code.name,
                info.get("description", code.definition),
                info.get("color"),
                bool(info.get("codable", True)),
                [build(c.id) for c in book.children(code_id)],
            )

        for top in book.children(None):
            self._add_top(build(top.id))

    def sources(self, items: list[dict[str, Any]], group: str) -> dict[int, int]:
        """Make the text sources; returns where each item's text starts in its source."""
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for item in items:
            groups[_group_key(item, group)].append(item)
        base: dict[int, int] = {}
        for key, members in groups.items():
            parts: list[str] = []
            pos = 0
            for item in members:
                prefix = _prefix(item)
                if parts:
                    parts.append("\n\n")
                    pos += 2
                base[item["id"]] = pos + len(prefix)
                parts.append(prefix + item["text"])
                pos += len(prefix) + len(item["text"])
                self.items[item["id"]] = item
            first = members[0]
            gid = first["meta"].get(IMPORT_MARK) or guid("source", group, key)
            source = QdaSource(gid, key, "".join(parts))
            self.project.sources.append(source)
            for item in members:
                self.source_of[item["id"]] = source
        return base

    def unit_selections(
        self,
        units: list[dict[str, Any]],
        codes: list[dict[str, Any]],
        themes: list[dict[str, Any]],
        base: dict[int, int],
    ) -> None:
        by_unit: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for c in codes:
            by_unit[c["unit_id"]].append(c)
        themes_of: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for t in themes:
            themes_of[t["unit_id"]].append(t)
        for unit in units:
            mine, theirs = by_unit.get(unit["id"], []), themes_of.get(unit["id"], [])
            if not mine and not theirs:
                continue
            start = base[unit["item_id"]] + unit["start_char"]
            selection = QdaSelection(
                guid("unit", unit["id"]),
                start,
                start + unit["end_char"] - unit["start_char"],
                name=_short(unit["text"]),
            )
            notes = []
            for c in mine:
                who = c["decided_by"] or f"themecoder {c['model_version']}"
                user = self.user(who)
                gid = self.code_guid[("bucket", c["bucket"], c["polarity"])]
                selection.codings.append(
                    QdaCoding(
                        gid,
                        guid("coding", unit["id"], c["bucket"], c["polarity"], c["origin"]),
                        user,
                    )
                )
                notes.append(_code_note(c, who))
                if c["theme_id"]:
                    key = ("theme", str(c["theme_id"]))
                    if key in self.code_guid:
                        selection.codings.append(
                            QdaCoding(self.code_guid[key], guid("coding", unit["id"], *key), user)
                        )
            for t in sorted(theirs, key=lambda t: t["rank"]):
                user = self.user("themecoder themes")
                key = ("theme", str(t["theme_id"]))
                if all(cd.code_guid != self.code_guid[key] for cd in selection.codings):
                    selection.codings.append(
                        QdaCoding(self.code_guid[key], guid("coding", unit["id"], *key), user)
                    )
                label = f"theme {t['theme_id']} ({t['label']})"
                notes.append(f"{label}: rank {t['rank']}, score {t['score']:.2f}")
            selection.user = selection.codings[0].user if selection.codings else None
            selection.note = "\n".join(notes)
            self.source_of[unit["item_id"]].selections.append(selection)

    def segment_selections(self, segments: list[dict[str, Any]], base: dict[int, int]) -> None:
        for seg in segments:
            start = base[seg["item_id"]] + seg["start_char"]
            user = self.user(seg["coder"]) if seg["coder"] else None
            gid = self.code_guid[("custom", str(seg["import_id"]), seg["code"])]
            selection = QdaSelection(
                guid("segment", seg["id"]),
                start,
                start + seg["end_char"] - seg["start_char"],
                [QdaCoding(gid, guid("coding", "segment", seg["id"]), user)],
                name=_short(seg["text"]),
                user=user,
                note=seg["note"],
            )
            self.source_of[seg["item_id"]].selections.append(selection)

    def variables_and_cases(self) -> None:
        per_source: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
        cases: dict[str, list[str]] = defaultdict(list)
        for item in self.items.values():
            source = self.source_of[item["id"]]
            for key, value in item["meta"].items():
                if key not in _NOT_VARIABLES and isinstance(value, str | int | float | bool):
                    per_source[source.guid][key].append(value)
            names = item["meta"].get("qdpx_cases") or (
                [item["account_id"]] if item["account_id"] else []
            )
            for case in names:
                if source.guid not in cases[case]:
                    cases[case].append(source.guid)
        counts = Counter(self.source_of[i].guid for i in self.items)
        constant = {
            sg: {
                k: v[0]
                for k, v in values.items()
                if len(v) == counts[sg] and len({repr(x) for x in v}) == 1
            }
            for sg, values in per_source.items()
        }
        types: dict[str, str] = {}
        for values in constant.values():
            for key, value in values.items():
                types[key] = _merge_type(types.get(key), value)
        for key in sorted(types):
            self.project.variables.append(QdaVariable(guid("variable", key), key, types[key]))
        for source in self.project.sources:
            for key, value in constant.get(source.guid, {}).items():
                source.variables[guid("variable", key)] = _typed(value, types[key])
        for case in sorted(cases):
            self.project.cases.append(QdaCase(guid("case", case), case, sources=cases[case]))


def _group_key(item: dict[str, Any], group: str) -> str:
    if item["meta"].get(IMPORT_MARK):
        return item["source"] or item["external_id"]
    if group == "account" and item["account_id"]:
        return str(item["account_id"])
    return item["source"] or (f"account {item['account_id']}" if item["account_id"] else "items")


def _prefix(item: dict[str, Any]) -> str:
    if item["meta"].get(IMPORT_MARK):
        return ""
    if item["speaker"]:
        return f"{item['speaker']}: "
    return f"[{item['external_id']}] "


def _short(text: str, width: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


def _code_note(c: dict[str, Any], who: str) -> str:
    line = f"{c['bucket']}: {c['polarity']}, confidence {c['confidence']:.2f}, {c['state']} ({who})"
    reasons = "; ".join(
        f'"{_short(n["text"], 80)}" ({n["similarity"]:.2f})' for n in c["neighbors"][:3]
    )
    return line + (f"; reasons: {reasons}" if reasons else "")


def _merge_type(current: str | None, value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return "Text"
    kind = (
        "Boolean"
        if isinstance(value, bool)
        else "Integer"
        if isinstance(value, int)
        else "Float"
        if isinstance(value, float)
        else "Text"
    )
    if current is None or current == kind:
        return kind
    if {current, kind} == {"Integer", "Float"}:
        return "Float"
    return "Text"


def _typed(value: Any, kind: str) -> Any:
    if kind == "Text":
        return str(value).lower() if isinstance(value, bool) else str(value)
    if kind == "Float":
        return float(value)
    return value
