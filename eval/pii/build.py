"""Build ``pii_test.jsonl`` from the hand-written cases (``cases_*.txt``).

Each case becomes one record: ``{"id", "kind", "text", "names", "entities": [{"start", "end",
"type", "text"}]}`` with character offsets into ``text``. Card numbers must pass the Luhn check
and IBANs the ISO 13616 checksum, so a typo in the cases cannot become a false label.

    python eval/pii/build.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
TYPES = {"EMAIL", "PHONE", "CARD", "IBAN", "PERSON", "ADDRESS", "URL", "HANDLE"}
_MARK = re.compile(r"\[\[(?P<type>[A-Z]+)\|(?P<text>[^\]]+)\]\]")


def luhn(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def iban_ok(iban: str) -> bool:
    s = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in s)) % 97 == 1


def parse(marked: str) -> tuple[str, list[dict]]:
    out, entities, last = [], [], 0
    for m in _MARK.finditer(marked):
        out.append(marked[last : m.start()])
        start = sum(map(len, out))
        kind, text = m["type"], m["text"]
        if kind not in TYPES:
            raise ValueError(f"unknown type {kind} in {marked!r}")
        compact = re.sub(r"[\s-]", "", text)
        if kind == "CARD" and not (13 <= len(compact) <= 19 and luhn(compact)):
            raise ValueError(f"card {text!r} fails the Luhn check")
        if kind == "IBAN" and not iban_ok(compact):
            raise ValueError(f"IBAN {text!r} fails its checksum")
        out.append(text)
        entities.append({"start": start, "end": start + len(text), "type": kind, "text": text})
        last = m.end()
    out.append(marked[last:])
    return "".join(out), entities


def cases(path: Path) -> list[dict]:
    records: list[dict] = []
    for block in re.split(r"^### ", path.read_text(encoding="utf-8"), flags=re.M)[1:]:
        head, *lines = block.rstrip("\n").split("\n")
        case_id, kind = head.split()
        names: list[str] = []
        if lines and lines[0].startswith("names:"):
            names = [n.strip() for n in lines.pop(0)[len("names:") :].split(";") if n.strip()]
        text, entities = parse("\n".join(lines).strip())
        records.append(
            {"id": case_id, "kind": kind, "text": text, "names": names, "entities": entities}
        )
    return records


def main() -> None:
    records = [r for p in sorted(HERE.glob("cases_*.txt")) for r in cases(p)]
    with (HERE / "pii_test.jsonl").open("w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    counts: dict[str, int] = {}
    for r in records:
        for e in r["entities"]:
            counts[e["type"]] = counts.get(e["type"], 0) + 1
    print(f"{len(records)} records, {sum(counts.values())} entities: {counts}")


if __name__ == "__main__":
    main()
