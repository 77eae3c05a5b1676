"""Codebook and glossary: the versioned contract that drives coding, review and counts.

Read a codebook with :func:`load_codebook` (the shipped six signal buckets by default),
edit it with :mod:`themecoder.codebook.edits`, compare versions with :func:`diff`, and
re-map history with :class:`Lineage`. Custom codes are coded by
:class:`themecoder.codebook.fewshot.FewShotHead`.
"""

from themecoder.codebook.glossary import Glossary, Metric, MetricMatch, load_glossary
from themecoder.codebook.lineage import Lineage, LineageEvent
from themecoder.codebook.model import Code, Codebook
from themecoder.codebook.problems import CodebookInvalid, Problem
from themecoder.codebook.validate import check, load_codebook
from themecoder.codebook.versioning import CodebookDiff, diff

__all__ = [
    "Code",
    "Codebook",
    "CodebookDiff",
    "CodebookInvalid",
    "Glossary",
    "Lineage",
    "LineageEvent",
    "Metric",
    "MetricMatch",
    "Problem",
    "check",
    "diff",
    "load_codebook",
    "load_glossary",
]
