"""Correction curve: how the coder's F1 on one bucket moves as a reviewer corrects suggestions.

The sample corpus (``data/sample``: ticket texts, NPS comments, the six interviews with the
interviewers' turns left uncoded) is coded with the shipped model and cut into its coding
units (one record per distinct unit text). Each unit falls in the project's hold-out split by
``sha1(text.strip()) % 5 == 0`` (:func:`themecoder.labelled.split_of`).

**The bucket.** ``value_realization``: among the six buckets it is the one where the shipped
model agrees least with a reading of SIGNALS.md on this corpus (``bucket_choice`` in the
results: agreement F1 of the shipped codes with the reviewer rule below for
``value_realization``, and with simple topic-word screens taken from the SIGNALS.md table for
the other five; the screens are crude and only pick the bucket). The shipped model codes
value_realization on about a fifth of all units, most of them with no outcome in them.

**The scripted reviewer is an oracle for one stated rule**, and F1 is measured against the same
rule on held-out units, so the curve shows how fast the coder learns a consistent reviewer, not
its agreement with a human annotator. The rule (``reviewer_label``, regular expressions below)
follows the SIGNALS.md row "outcomes, ROI, time saved, results, business impact; or the lack
of them: not used, no benefit seen" and its value-versus-pricing rule. It labels a unit:

1. ``risk`` when it says the product is little or not used (barely / never / nobody uses it,
   only N people or N% of it used, went back to their own tools, adoption low or never
   happened, not as much as planned), or that it brings no value, impact or ROI, is not
   worth it, costs too much for what is used, or cannot be justified;
2. else ``neutral`` when the speaker has to show or prove the value;
3. else ``positive`` when it names an outcome: worth it, good value, paid for itself, value
   gotten out of it, a business result led to / helped / improved, faster or better than
   before, losses avoided, changed how people work or decide, a job made easier; or time or
   money saved, a task cut from X to Y or now taking minutes, metrics up or down by a
   percentage, habitual use (daily, every Monday, relied on), but these last ones only when
   the unit is not a problem report (errors, slowness, wrong data), where they describe the
   setting or a regression;
4. else ``neutral`` when it raises ROI, usage or adoption without a direction (a question
   about ROI or who uses what, a usage report, cost per user, making the business case);
5. else absent.

**The review.** The queue holds the shipped model's call on value_realization for every
train-split unit: its suggested code (confidence = presence probability, polarity = the
suggested one) or, below the bucket's threshold, a candidate "no value_realization" call
(confidence = 1 - presence probability). The reviewer works it in
:func:`themecoder.review.order_queue` order (uncertainty x risk) and gives the rule's answer:
approve (same polarity), override (other polarity), reject (the rule says absent), add (the
model made no code, the rule says present) or confirm (both say absent). Each decision is a
:class:`~themecoder.services.retrain.Correction` of that unit's value_realization (other
buckets unknown). Every held-out unit is labelled by the same rule and passed as held-out
reviewed data.

**Retraining.** At 0 / 50 / 100 / 200 decisions (the first ones in queue order),
:func:`themecoder.services.retrain.retrain` trains a candidate (shipped recipe + the
train-split decisions) and compares it with the shipped model on the held-out units: F1 on
value_realization and the promotion decision. To show nothing else broke: the per-bucket F1
of shipped and candidate on the project's own labelled hold-out split (``training/data``,
all six buckets), the macro over the five other buckets there, and on the held-out sample
units the candidate's agreement with the shipped model's codes in the other buckets (F1 with
the shipped codes as reference; 1.0 = unchanged). ``gate_with_own`` is what
``should_promote`` says when the own hold-out's other five buckets are added to the gate.

Example (about 6 minutes on 2 CPU cores with a warm embedding cache)::

    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 .venv/bin/python eval/correction_curve.py
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from themecoder.artifact import load_artifact
from themecoder.coder import Coder
from themecoder.config import Settings
from themecoder.domain import BUCKETS, Unit
from themecoder.ingest import read_items
from themecoder.labelled import Example, split_of
from themecoder.pipeline.embed import make_embedder
from themecoder.review import order_queue, should_promote
from themecoder.services.embedding_cache import CachedEmbedder
from themecoder.services.evaluation import bucket_scores, held_out
from themecoder.services.retrain import Correction, retrain

BUCKET = "value_realization"
STEPS = (0, 50, 100, 200)
# (file, text column); the interviews are read as transcripts.
SAMPLE = (("tickets.csv", "text"), ("nps.csv", "comment"))
# Interviewer labels of the six interviews (data/sample/README.md): kept, not coded.
INTERVIEWERS = (
    "Interviewer",
    "Dana (Northwind)",
    "Marcus (Northwind)",
    "Priya Raman",
    "Dana Whitfield",
    "Jordan Ellis",
)

# ---------------------------------------------------------------- the reviewer's rule
_USE = (
    r"(use|uses|using|used|open|opens|opened|opening|log in|logs in|logged in"
    r"|look at|looks at|looked at)"
)
_RISK = [
    rf"\b(barely|rarely|hardly|never|seldom)( really| even| actually)? {_USE}\b",
    rf"\b(don't|dont|do not|doesn't|does not|didn't|did not|not|aren't|isn't|weren't)"
    rf"( really| even| actually)? {_USE}( it| them| northwind"
    r"| the (product|tool|platform|dashboards?|features?)| half| most| much| enough| many"
    r"| its| any)\b",
    rf"\b(nobody|no one|none of (us|them|the team))( really| actually| even| ever)? {_USE}\b",
    r"\b(unused|idle) (seats|licen[cs]es|modules?|add-ons?)\b|\bshelfware\b",
    r"\bnot (being |really |actually )?used\b",
    r"\b(only|mostly|just) used by (one|two|a few|a couple|a handful)\b",
    r"\b(no|little|zero|not much|not any|n't (see|show|prove|seen|seeing|got|get|gotten)"
    r"( much| any| real)?|nothing)( real| measurable| clear| tangible)?"
    r" (value|impact|benefit|roi|return|results?|difference)\b",
    r"\b(zero|no|nothing|none)\b[^.]{0,40}\b(we|i) (actually |really )?(use|need)\b",
    r"\bnot (convinced|sure) (we|it|that|this)\b",
    r"\b(adoption|usage|engagement)( is| has been| was| remains| stayed)"
    r"( still| pretty| really| very)? (low|poor|flat|weak|dropping|down)\b",
    r"\blow (adoption|usage)\b",
    r"\b(haven't|hasn't|have not|has not) (really )?(gotten|got|seen|managed|realized|realised)\b",
    r"\b(it|the tool|the product|northwind|the platform|this)( really)?"
    r" (hasn't|has not|didn't|did not|doesn't|does not)( really)?"
    r" (change|changed|improve|improved|help|helped|made a difference|make a difference)\b",
    r"\bnot as much as (we|i) (planned|hoped|expected|thought)\b",
    r"\b(not|isn't|wasn't|aren't|is not|was not) (really )?worth\b",
    r"\b(too (expensive|pricey|much)|overpriced|expensive|high|steep|pricey)\b[^.]{0,20}"
    r"\bfor (what|how little|the little)\b",
    r"\bpaying for\b[^.]{0,40}\b(we|that|nobody|no one)\b[^.]{0,20}"
    r"\b(don't|never|not|barely|rarely)\b",
    r"\b(hard|difficult|can't|cannot|couldn't)( to)? (justify|prove)"
    r" (the |our )?(cost|price|spend|renewal|it|value|roi|impact|investment)\b",
    r"\bwent back to (their|our|my) (own )?(tools?|spreadsheets?|excel|models?)\b",
    r"\b(nobody|no one)\b[^.]{0,25}\b(uses?|using|opens?|logs? in)\b",
    r"\b(use|uses|using) (maybe |only |about |barely )?(\d+ ?%|\d+ percent|a fraction"
    r"|a small part|a third|a quarter) of (it|the (product|features|tool|platform))\b",
    r"\bmaybe (\d+|a few|\w+) (people|users|of them|of us)( actually| really)?"
    r" (use|uses|log in|logs in)\b",
    r"\b(uses?|using) it for (one|a single|just one|only one) \w+",
    r"\b(only|just) (our|the|my) [\w ]{0,20}(team|people|person|analysts?)"
    r" (uses?|is using|are using)\b",
    r"\badoption\b[^.]{0,40}\bnever\b|\bnever again\b",
    r"\b(no|don't see a|do not see a|don't see any|do not see any) reason to (keep )?"
    r"(pay|paying|renew)\b",
    r"\btoo much money for (that|this|what)\b",
    r"\bstill (have|use|do|maintain|keep) their own (excel|spreadsheets?|reports|tools?)\b",
]
# The speaker has to show the value: the topic, no direction yet.
_NEUTRAL_FIRST = [
    r"\b(have to|need to|has to|must|want to) (show|prove|demonstrate)\b",
    r"\b(have to|need to|has to|must|want to) justify (the |our )?"
    r"(cost|price|spend|renewal|it|value|roi|investment)\b",
]
# Outcomes named outright: they hold even inside a problem report.
_STRONG = [
    r"\bworth (it|every penny|every cent|the money|the price|the cost)\b",
    r"\b(good|great|real|huge|excellent|solid|decent|amazing|incredible|fair|best) value\b",
    r"\b(paid|pays) for itself\b",
    r"\b(get|got|getting|gotten) (real |a lot of |so much )?value (out of|from)\b",
    r"\b(led|leads) to (a |an |the )?\w*\s?"
    r"(project|increase|decrease|reduction|savings?|win|deal|growth|improvement)\b",
    r"\bhelp(ed|s)? (us|me|them|the team|our [\w ]{0,15}team|our \w+)( to)?"
    r" (cut|reduce|increase|grow|win|catch|find|spot|save|improve|keep|hit|close|prevent"
    r"|avoid|run|make|track|understand|decide|plan|punch)\b",
    r"\b(improv\w+|increas\w+|reduc\w+|boost\w+|lower\w*|grew|went down|went up)\b[^.]{0,40}"
    r"\b(churn|retention|revenue|sales|conversion|downtime|answer rate|service levels?"
    r"|abandonment|bookings|attendance|margins?|efficiency|productivity|win rate)\b",
    r"\b(changed|transformed) (how|the way)\b",
    r"\b(can't|couldn't|cannot) (live|work|operate) without\b",
    r"\bmakes? (my|our|their|his|her) (job|life|lives|work|day)( \w+)? easier\b",
    r"\bnumbers instead of\b|\binstead of (opinions|guessing|gut feel|building reports)\b",
    r"\b(faster|quicker|easier|better) than (before|it used to be|it was)\b",
    r"\b(\d+|one|two|three|four|five|six|seven|a few) (days?|hours?|weeks?) faster\b",
    r"\bsav(ed|es|ing) (us|me)\b",
    r"\b(avoided|prevented)\b[^.]{0,30}\b(penalt\w+|costs?|loss\w*|fines?|downtime|churn)\b"
    r"|\bin avoided\b",
    r"\b(clear|real|huge|big|measurable) (value|impact|win|results?|outcomes?|roi)\b",
    r"\bjustified (the|our|its) (whole |entire )?"
    r"(year|cost|price|spend|investment|subscription)\b",
    r"\b(got|get|gets|getting) (so much|a lot|real value|plenty) out of\b",
    r"\badoption\b[^.]{0,30}\b(way up|is up|grew|growing|is high|is great|is strong)\b",
    r"\bpart of (our|my|the team's|their) (daily|weekly) (routine|work|workflow)\b",
    r"\b(finally )?focus on (analysis|the analysis|strategy|actual work|real work)\b",
    r"\bmade (reporting|our reporting|my job|our jobs|planning|forecasting|decisions?"
    r"|[\w ]{0,20}report\w*)\b[^.]{0,25}\beasier\b",
]
# Time saved, habitual use, %-changes: ignored in a problem report, where they describe the
# setting ("the dashboard our CEO opens every Monday is slow") or a regression.
_NOT_HYPOTHETICAL = r"(?<!would )(?<!could )(?<!might )(?<!will )(?<!to )"
_WEAK = [
    _NOT_HYPOTHETICAL + r"\bsav(e|es|ed|ing)( us| me| my| our| the| them| him| her| \w+'s)?"
    r"( \w+)?( about| around| roughly| over| at least| so much| a lot of| lots of| tons of"
    r"| hours of)? ?(\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|hours|days"
    r"|weeks|time|money|\$)",
    r"\b(hours?|days?|weeks?|time|money) (saved|savings)\b",
    r"\bfrom (about |around |roughly |over )?(\w+|\d+)"
    r" (days?|hours?|weeks?|minutes|spreadsheets|tools|reports|systems) (down )?to\b",
    r"\b(now|only|just) takes? (only |just |about |a few |\d+ )*"
    r"(minutes|seconds|an hour|a day)\b|\b(took|takes?) (a |an )?(few )?(minutes|seconds)"
    r" (now|instead)\b",
    r"\bused to\b[^.]{0,60}\b(by hand|manually|in excel|spreadsheets?|took|take)\b",
    r"\b(by hand|manually)\b[^.]{0,60}\b(took|takes) (me|us|them)\b",
    r"(?<!who )(?<!that )\b(actually|now|really)"
    r" (use|uses|look at|looks at|open|opens|read|reads|rely on|relies on)\b",
    r"\buses? (it|northwind|them) (every|daily|all the time|constantly)\b",
    rf"\b(every|each) (day|week|morning|monday)\b[^.]{{0,40}}\b{_USE}\b"
    rf"|\b{_USE} (it |them |the \w+ )?(every|each) (day|week|morning|monday)\b"
    rf"|\b{_USE} (it )?daily\b|\bdaily (use|users)\b",
    r"\brel(y|ies|ied) on (it|northwind|them|the dashboards?)\b",
    r"\b(stopped|no longer|don't have to|do not have to|never have to)"
    r" (maintain|build|do|doing|spend|chase|copy|compile)\w*\b",
    r"^(?!.*\b(price|pricing|cost|costs|bill|billed|invoice|quote|fee|spend|budget|renewal)\b)"
    r".*\b(went up|went down|grew|rose|increased|improved|cut|reduced)\b[^.]{0,40}"
    r"(\bpercent\b|%)",
]
_PROBLEM = (
    r"\b(error|errors|bug|bugs|broken|fail\w*|crash\w*|spins?|spinner\w*|slow\w*|to load"
    r"|loading|timeout|times out|outage|not working|doesn't work|stopped working|resiz\w+"
    r"|NW-[A-Z]+-\d+|\d+ ?ms|step backwards|wrong|now taking"
    r"|taking (close to|over|about|almost|nearly)|slower|longer|pain|problems?|issues?)\b"
)
# The topic without a direction: questions about ROI or use, usage reports, the business case.
_NEUTRAL = [
    r"\b(roi|return on investment|usage|adoption|business impact|business case)\b[^.]*\?",
    r"\b(get|getting|see|seeing|show|measure|prove|track) (more |the |any )?"
    r"(value|impact|results|roi)\b[^.]*\?",
    rf"\b(who|how many (people|users|of)|which (dashboards?|reports?|users?))\b[^.?]*"
    rf"\b{_USE}\b[^.]*\?",
    r"\busage (numbers|stats|statistics|reports?|data|metrics|analytics|dashboard)\b",
    r"\broi\b|\breturn on investment\b",
    r"\bcost per (active )?(user|seat|dashboard)\b",
    r"\b(business case|make (the|that|a) case)\b",
]


def _compile(patterns: list[str]) -> list[re.Pattern[str]]:
    return [re.compile(p, re.IGNORECASE) for p in patterns]


RISK, NEUTRAL_FIRST, STRONG = _compile(_RISK), _compile(_NEUTRAL_FIRST), _compile(_STRONG)
WEAK, NEUTRAL = _compile(_WEAK), _compile(_NEUTRAL)
PROBLEM = re.compile(_PROBLEM, re.IGNORECASE)


def reviewer_label(text: str) -> str | None:
    """The scripted reviewer's value_realization polarity for a unit, or None (absent)."""
    if any(p.search(text) for p in RISK):
        return "risk"
    if any(p.search(text) for p in NEUTRAL_FIRST):
        return "neutral"
    if any(p.search(text) for p in STRONG):
        return "positive"
    if not PROBLEM.search(text) and any(p.search(text) for p in WEAK):
        return "positive"
    if any(p.search(text) for p in NEUTRAL):
        return "neutral"
    return None


# Topic words from the SIGNALS.md table, used only to pick the bucket (see bucket_choice).
SCREENS = {
    "renewal_likelihood": r"\b(renew\w*|cancel\w*|churn\w*|switch\w*|contract|alternatives?"
    r"|competitor\w*|leav\w+|migrat\w+|close our account|vendors?)\b",
    "upsell_readiness": r"\b(seats?|upgrad\w*|downgrad\w*|add-on|module|tier|plan"
    r"|analytics pro|trial|more teams|roll ?out|expand\w*)\b",
    "onboarding_clarity": r"\b(onboard\w*|set ?up|setting up|setup|docs|documentation|guide"
    r"|tutorials?|how do i|how can i|where (do|can|is)|learning curve|getting started"
    r"|training|configure|connect(ing)?)\b",
    "support_friction": r"\b(error|errors|bugs?|broken|fail\w*|crash\w*|outage\w*|downtime"
    r"|not working|doesn't work|stopped working|timeout|tickets?|support|escalat\w*|fixed"
    r"|fix|resolved|workaround|NW-[A-Z]+-\d+|429|sync\w*|slow)\b",
    "pricing_perception": r"(\$|€|\bprice\w*|\bpricing|\bcost\w*|\bexpensive|\bcheap\w*"
    r"|\binvoice\w*|\bbill\w*|\bdiscount\w*|\bbudget|\bafford\w*|\bper-seat|\bcharge\w*"
    r"|\bfee\w*|\brefund\w*|\bpay\b|\bpaying|\bfactura\w*)",
}


# ---------------------------------------------------------------- corpus and review
@dataclass(frozen=True)
class Suggestion:
    """One entry of the value_realization review queue (the queue's Reviewable)."""

    id: str
    confidence: float
    polarity: str  # the suggested polarity, or "none" for a below-threshold candidate
    text: str
    suggested: str | None
    presence: float


def sample_units(s: Settings, coder: Coder) -> list[dict[str, Any]]:
    """The sample corpus coded by ``coder``: one record per distinct unit text."""
    items = []
    for name, column in SAMPLE:
        items += read_items(s.sample_dir / name, text_column=column).items
    for path in sorted(s.sample_dir.glob("interview_*")):
        items += read_items(path, skip_speakers=INTERVIEWERS).items
    units: dict[str, dict[str, Any]] = {}
    b = BUCKETS.index(BUCKET)
    for result in coder.code(items):
        for u in result.units:
            text = u.unit.text.strip()
            if text and text not in units:
                units[text] = {
                    "text": text,
                    "split": split_of(text),
                    "codes": {c.bucket: c.polarity for c in u.buckets},
                    "presence": float(u.bucket_proba[b]),
                    "file": result.item.source,
                }
    return list(units.values())


def review_queue(units: list[dict[str, Any]]) -> list[Suggestion]:
    """The train-split units' value_realization calls, in review order."""
    entries = []
    for u in units:
        if u["split"] != "train":
            continue
        suggested = u["codes"].get(BUCKET)
        p = u["presence"]
        entries.append(
            Suggestion(
                id=hashlib.sha1(u["text"].encode()).hexdigest()[:12],
                confidence=min(1.0, max(0.0, p if suggested else 1.0 - p)),
                polarity=suggested or "none",
                text=u["text"],
                suggested=suggested,
                presence=p,
            )
        )
    return order_queue(entries)


def work_queue(
    queue: list[Suggestion], units: dict[str, dict[str, Any]], n: int
) -> tuple[list[Correction], list[str]]:
    """The reviewer's first ``n`` decisions and their kinds (approve / override / ...)."""
    corrections, actions = [], []
    for entry in queue[:n]:
        label = reviewer_label(entry.text)
        if entry.suggested is not None:
            action = (
                "approve"
                if label == entry.suggested
                else ("override" if label is not None else "reject")
            )
        else:
            action = "add" if label is not None else "confirm"
        corrections.append(
            Correction(entry.text, {BUCKET: label}, suggested=units[entry.text]["codes"])
        )
        actions.append(action)
    return corrections, actions


# ---------------------------------------------------------------- scoring helpers
def _agreement_f1(truth: list[bool], pred: list[bool]) -> float | None:
    tp = sum(t and p for t, p in zip(truth, pred, strict=True))
    fp = sum(p and not t for t, p in zip(truth, pred, strict=True))
    fn = sum(t and not p for t, p in zip(truth, pred, strict=True))
    return round(2 * tp / (2 * tp + fp + fn), 4) if tp + fn else None


def bucket_choice(units: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Agreement F1 of the shipped codes with the reviewer rule / the topic screens."""
    out = {}
    for bucket in BUCKETS:
        if bucket == BUCKET:
            truth = [reviewer_label(u["text"]) is not None for u in units]
            how = "reviewer rule"
        else:
            rx = re.compile(SCREENS[bucket], re.IGNORECASE)
            truth = [bool(rx.search(u["text"])) for u in units]
            how = "topic words"
        pred = [bucket in u["codes"] for u in units]
        out[bucket] = {
            "agreement_f1": _agreement_f1(truth, pred),
            "reference": how,
            "reference_units": sum(truth),
            "model_units": sum(pred),
        }
    return out


def code_units(coder: Coder, texts: list[str]) -> list[Any]:
    return coder.code_units([Unit(f"u{i}", 0, 0, len(t), t) for i, t in enumerate(texts)])


def own_scores(coder: Coder, examples: list[Any]) -> dict[str, float]:
    scores = bucket_scores(examples, coder.code([e.text for e in examples]))
    return {b: float(scores[b]["f1"]) for b in BUCKETS if b in scores}


def value_prf(results: list[Any], truth: list[str | None]) -> dict[str, float]:
    """Precision, recall, F1 and polarity accuracy of value_realization against the rule."""
    examples = [Example(str(i), "rule", "test", {BUCKET: t}) for i, t in enumerate(truth)]
    scores = bucket_scores(examples, results)[BUCKET]
    return {k: scores[k] for k in ("precision", "recall", "f1", "support", "polarity_accuracy")}


def sample_agreement(shipped: list[Any], candidate: list[Any]) -> dict[str, float | None]:
    """Other buckets on held-out sample units: candidate vs shipped codes (1.0 = unchanged)."""
    out = {}
    for bucket in BUCKETS:
        if bucket == BUCKET:
            continue
        ref = [any(c.bucket == bucket for c in r.buckets) for r in shipped]
        new = [any(c.bucket == bucket for c in r.buckets) for r in candidate]
        out[bucket] = _agreement_f1(ref, new)
    return out


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return round(float(np.mean(kept)), 4) if kept else None


# ---------------------------------------------------------------- the run
def run(s: Settings, out_dir: Path, steps: tuple[int, ...] = STEPS, log: Any = print) -> dict:
    start = time.perf_counter()
    embedder = CachedEmbedder(make_embedder(s, load_artifact(s.model_dir)), s.cache_dir)
    shipped = Coder.load(s, embedder=embedder)
    units = sample_units(s, shipped)
    by_text = {u["text"]: u for u in units}
    held = [u for u in units if u["split"] == "test"]
    held_truth = [reviewer_label(u["text"]) for u in held]
    held_corrections = [
        Correction(u["text"], {BUCKET: t}, suggested=u["codes"])
        for u, t in zip(held, held_truth, strict=True)
    ]
    queue = review_queue(units)
    decisions, actions = work_queue(queue, by_text, max(steps))
    log(f"{len(units)} units, {len(held)} held out, queue {len(queue)}", file=sys.stderr)

    own = held_out(s, "own")
    own_before = own_scores(shipped, own)
    held_texts = [u["text"] for u in held]
    shipped_held = code_units(shipped, held_texts)
    others = [b for b in BUCKETS if b != BUCKET]
    points = []
    for k in steps:
        log(f"retrain with {k} decisions", file=sys.stderr)
        t0 = time.perf_counter()
        report = retrain(
            s,
            decisions[:k] + held_corrections,
            out_dir / f"candidate-{k}",
            current=shipped,
            embedder=embedder,
        )
        candidate = Coder.from_artifact(load_artifact(report.path), s, embedder=embedder)
        own_after = own_scores(candidate, own)
        cand_held = code_units(candidate, held_texts)
        gate_before = {BUCKET: report.before[BUCKET], **{b: own_before[b] for b in others}}
        gate_after = {BUCKET: report.after[BUCKET], **{b: own_after[b] for b in others}}
        agreement = sample_agreement(shipped_held, cand_held)
        points.append(
            {
                "decisions": k,
                "actions": dict(Counter(actions[:k])),
                "n_train": report.n_train,
                "n_heldout": report.n_heldout,
                "version": report.version,
                "f1_before": report.before[BUCKET],
                "f1_after": report.after[BUCKET],
                "delta": report.deltas[BUCKET],
                "promote": report.promote,
                "value_before": value_prf(shipped_held, held_truth),
                "value_after": value_prf(cand_held, held_truth),
                "own_heldout_before": own_before,
                "own_heldout_after": own_after,
                "own_others_macro_before": _mean([own_before[b] for b in others]),
                "own_others_macro_after": _mean([own_after[b] for b in others]),
                "sample_others_agreement": agreement,
                "sample_others_agreement_macro": _mean(list(agreement.values())),
                "gate_with_own": should_promote(gate_before, gate_after).promote,
                "seconds": round(time.perf_counter() - t0, 1),
            }
        )
    positives = Counter(t for t in held_truth if t is not None)
    return {
        "bucket": BUCKET,
        "rule": (__doc__ or "").split("It labels a unit:")[1].split("**The review.**")[0].strip(),
        "corpus": {
            "units": len(units),
            "train_units": len(units) - len(held),
            "heldout_units": len(held),
            "heldout_present_by_polarity": dict(positives),
            "heldout_present": sum(positives.values()),
            "skipped_speakers": list(INTERVIEWERS),
            "own_heldout_units": len(own),
        },
        "shipped_version": shipped.version,
        "bucket_choice": bucket_choice(units),
        "queue": {"length": len(queue), "actions": dict(Counter(actions))},
        "points": points,
        "seconds": round(time.perf_counter() - start, 1),
    }


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def table(result: dict) -> str:
    lines = [
        f"| decisions | review examples trained | {BUCKET} F1 shipped → candidate | Δ "
        "| promote | own hold-out: other 5 macro F1 | own hold-out: value F1 "
        "| sample: other 5 agreement | gate incl. own |",
        "|---:|---:|---:|---:|:-:|---:|---:|---:|:-:|",
    ]
    for p in result["points"]:
        lines.append(
            f"| {p['decisions']} | {p['n_train']} | {_fmt(p['f1_before'])} → "
            f"{_fmt(p['f1_after'])} | {p['delta']:+.3f} | {'yes' if p['promote'] else 'no'} | "
            f"{_fmt(p['own_others_macro_before'])} → {_fmt(p['own_others_macro_after'])} | "
            f"{_fmt(p['own_heldout_before'].get(BUCKET))} → "
            f"{_fmt(p['own_heldout_after'].get(BUCKET))} | "
            f"{_fmt(p['sample_others_agreement_macro'])} | "
            f"{'yes' if p['gate_with_own'] else 'no'} |"
        )
    return "\n".join(lines)


def markdown(result: dict) -> str:
    c = result["corpus"]
    choice = "\n".join(
        f"| {b} | {_fmt(v['agreement_f1'])} | {v['reference']} | {v['reference_units']} "
        f"| {v['model_units']} |"
        for b, v in sorted(
            result["bucket_choice"].items(), key=lambda kv: kv[1]["agreement_f1"] or 0
        )
    )
    actions = ", ".join(f"{k} {v}" for k, v in sorted(result["points"][-1]["actions"].items()))
    prf = "\n".join(
        f"| {p['decisions']} | "
        + " | ".join(
            f"{_fmt(p['value_before'][k])} → {_fmt(p['value_after'][k])}"
            for k in ("precision", "recall", "polarity_accuracy")
        )
        + " |"
        for p in result["points"]
    )
    last = result["points"][-1]
    blocked = [str(p["decisions"]) for p in result["points"] if not p["promote"]]
    same = all(
        p["sample_others_agreement_macro"] == 1.0
        and p["own_others_macro_after"] == p["own_others_macro_before"]
        for p in result["points"]
    )
    reading = (
        f"After {last['decisions']} decisions ({last['n_train']} review examples in training) "
        f"F1 on {BUCKET} on the held-out sample units goes from {_fmt(last['f1_before'])} to "
        f"{_fmt(last['f1_after'])} ({last['delta']:+.3f}); on the project's own labelled "
        f"hold-out (real labels, not the rule) from {_fmt(last['own_heldout_before'][BUCKET])} "
        f"to {_fmt(last['own_heldout_after'][BUCKET])}. "
        + (
            f"The gate kept the shipped model at {', '.join(blocked)} decisions, where the "
            "candidate scored lower. "
            if blocked
            else "Every candidate was promoted. "
        )
        + (
            "The other five buckets are unchanged: review decisions here decide only "
            f"{BUCKET}, and each bucket's head is fitted only on rows where that bucket is "
            "known, so their heads (and the sentiment and expression heads) see exactly the "
            "same data."
            if same
            else "The other five buckets moved; see the table."
        )
    )
    held = ", ".join(f"{n} {pol}" for pol, n in sorted(c["heldout_present_by_polarity"].items()))
    return f"""# Correction curve: {BUCKET}

Produced by `eval/correction_curve.py` (command in its docstring); numbers in
`correction_curve.json`. Shipped model `{result["shipped_version"]}`.

## What is measured

The sample corpus (`data/sample`, synthetic, unlabelled) is coded with the shipped model:
{c["units"]} distinct coding units ({c["train_units"]} train, {c["heldout_units"]} held out by
the project rule `sha1(text.strip()) % 5 == 0`; interviewer turns not coded). A **scripted
reviewer** works the {BUCKET} review queue of the train-split units in `order_queue` order and
the coder is retrained (`themecoder.services.retrain.retrain`) after 0, 50, 100 and 200 of its
decisions. The reviewer is an **oracle for a stated keyword rule**, and the F1 below is
measured against the same rule on the held-out units ({c["heldout_present"]} of them have
{BUCKET} present: {held}). So the curve shows how fast the coder
learns a consistent reviewer's reading of the bucket, not agreement with a human annotator;
with {c["heldout_present"]} positives, one unit moves F1 by a few points.

### The reviewer's rule ({BUCKET})
{result["rule"]}

The exact regular expressions are in the script (`reviewer_label`). The rule follows the
SIGNALS.md row (outcomes, ROI, time saved, results, business impact; or the lack of them: not
used, no benefit seen) and its value-versus-pricing rule ("too expensive for what we get" is
value risk, "worth every penny" value positive).

## Why {BUCKET}

Agreement F1 of the shipped model's codes on all sample units with a reference:
the reviewer rule for {BUCKET}, topic words from the SIGNALS.md table for the others (crude;
used only to pick the bucket). {BUCKET} is the lowest: the model codes it on far more units
than name an outcome.

| bucket | agreement F1 | reference | units by reference | units coded by model |
|---|---:|---|---:|---:|
{choice}

## The curve

Queue of {result["queue"]["length"]} entries (a suggested code, or a below-threshold
"no {BUCKET}" candidate, per train-split unit). The first 200 decisions: {actions}.
"promote" is the decision of `retrain` (held-out reviewed units, {BUCKET} only); "gate incl.
own" adds the other five buckets of the project's own labelled hold-out split to
`should_promote`. "own hold-out" is `training/data`'s test split
({c["own_heldout_units"]} units, real labels, all six buckets), "sample: other 5 agreement"
the candidate's F1 against the shipped model's own codes in the other five buckets on the
held-out sample units (1.000 = unchanged).

{table(result)}

{BUCKET} on the held-out sample units, shipped → candidate (polarity accuracy over the units
where rule and model both code it):

| decisions | precision | recall | polarity accuracy |
|---:|---:|---:|---:|
{prf}

{reading}

Run time {result["seconds"]:.0f} s (2 CPU cores, embedding cache warm).
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--json", type=Path, default=Path("eval/results/correction_curve.json"))
    parser.add_argument("--md", type=Path, default=Path("eval/results/correction_curve.md"))
    parser.add_argument("--keep", type=Path, help="Keep the candidate artifacts in this folder.")
    args = parser.parse_args(argv)
    s = Settings()
    with tempfile.TemporaryDirectory() as tmp:
        result = run(s, args.keep or Path(tmp))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    args.md.write_text(markdown(result), encoding="utf-8")
    print(table(result))
    print(f"\nsaved {args.json} and {args.md}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
