"""Read items from CSV, JSON Lines, Parquet, transcripts and subtitles; one reader per format."""

from themecoder.ingest._common import without_nul
from themecoder.ingest.base import SUPPORTED_FORMATS, IngestProblem, IngestResult, read_items

__all__ = ["SUPPORTED_FORMATS", "IngestProblem", "IngestResult", "read_items", "without_nul"]
