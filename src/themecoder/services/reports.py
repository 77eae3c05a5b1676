"""Evaluation reports and model cards as files (JSON for machines, Markdown for people)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from themecoder.artifact import CARD, artifact_hash, load_artifact


def _fmt(v: Any) -> str:
    return "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


def report_markdown(report: dict[str, Any]) -> str:
    """The evaluation report as Markdown tables."""
    lines = [f"# Evaluation of {report['model_version']}", ""]
    real = report.get("real_text", {})
    unseen = report.get("real_text_unseen", {})
    lines += [
        f"Held-out real text, bucket macro-F1 over {', '.join(real.get('macro_over', []))}: "
        f"**{_fmt(real.get('macro_f1'))}**; calibration error (ECE) "
        f"{_fmt(real.get('calibration_error'))}. Own held-out bucket macro-F1: "
        f"**{_fmt(report.get('own_macro_f1'))}**. Real text from domains never trained on "
        f"(all but BANKING77), macro-F1 over {', '.join(unseen.get('macro_over', []))}: "
        f"**{_fmt(unseen.get('macro_f1'))}**.",
        "",
        "| source | n | bucket | precision | recall | F1 | support | polarity acc. |",
        "|---|---|---|---|---|---|---|---|",
    ]
    pools = [("real text (pooled)", real), ("real text, unseen domains", unseen)]
    for source, entry in [*report["sources"].items(), *pools]:
        for bucket, m in entry.get("buckets", {}).items():
            lines.append(
                f"| {source} | {entry.get('n', '')} | {bucket} | {_fmt(m.get('precision'))} | "
                f"{_fmt(m.get('recall'))} | {_fmt(m.get('f1'))} | {m.get('support')} | "
                f"{_fmt(m.get('polarity_accuracy'))} |"
            )
    lines += [
        "",
        "| source | sentiment macro-F1 | n | expression macro-F1 | n | ECE |",
        "|---|---|---|---|---|---|",
    ]
    for source, entry in report["sources"].items():
        sent, expr = entry.get("sentiment", {}), entry.get("expression", {})
        lines.append(
            f"| {source} | {_fmt(sent.get('macro_f1'))} | {sent.get('n', '-')} | "
            f"{_fmt(expr.get('macro_f1'))} | {expr.get('n', '-')} | "
            f"{_fmt(entry.get('calibration_error'))} |"
        )
    return "\n".join(lines) + "\n"


def write_report(report: dict[str, Any], directory: Path, name: str = "eval") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    path = directory / f"{name}.md"
    path.write_text(report_markdown(report))
    return path


def model_card(model_dir: Path, report: dict[str, Any] | None = None) -> str:
    """The model card: version, hash, every training source with its license, eval figures."""
    art = load_artifact(model_dir)
    cfg = art.config
    lines = [
        f"# Model card: {cfg['version']}",
        "",
        "Six-bucket coder (presence + polarity per bucket), sentiment and expression-type heads:",
        f"logistic heads on frozen `{cfg['embedding_model']}` sentence embeddings (sentiment and",
        "expression blended with VADER lexicon scores). Rebuild with `themecoder train`.",
        "",
        f"- artifact sha256: `{artifact_hash(model_dir)}`",
        f"- training data sha256: `{cfg['training_data_sha256']}`; seed {cfg['seed']}",
        f"- libraries: {', '.join(f'{k} {v}' for k, v in cfg['libraries'].items())}",
        "",
        "## Training sources",
        "",
        "| source | license | train rows | opt-in only |",
        "|---|---|---|---|",
    ]
    for src in cfg["sources"]:
        cite = f" ({src['citation']})" if src.get("citation") else ""
        lines.append(
            f"| {src['name']}{cite} | {src['license']} | {src['train_rows']} | "
            f"{'yes' if src['opt_in'] else 'no'} |"
        )
    if cfg.get("restricted_terms"):
        lines += [
            "",
            f"**Restricted terms**: trained on {', '.join(cfg['restricted_terms'])} by "
            "explicit opt-in; their licenses (non-commercial / unstated) bind this artifact. "
            "Not for redistribution as the default model.",
        ]
    else:
        lines += [
            "",
            "Only the project's own data and permissively licensed sets trained it. "
            "BANKING77 is used under CC BY 4.0 with attribution (Casanueva et al. 2020).",
        ]
    if report:
        lines += [
            "",
            "## Evaluation (held-out splits, never trained on)",
            "",
            report_markdown(report).split("\n", 2)[2],
        ]
    return "\n".join(lines) + "\n"


def write_card(model_dir: Path, report: dict[str, Any] | None = None) -> Path:
    path = model_dir / CARD
    path.write_text(model_card(model_dir, report), encoding="utf-8")
    return path
