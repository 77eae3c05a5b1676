"""Request and response bodies of the theme routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from themecoder_api.public import Public
from themecoder_api.schemas import MAX_ID, BodyInt, BucketName, Name, Strict, Text

ThemeStatus = Literal["active", "proposed", "archived", "merged"]
#: A theme id in a body.
ThemeId = Annotated[BodyInt, Field(ge=1, le=MAX_ID)]


class DiscoverRequest(Strict):
    bucket: BucketName | None = Field(None, description="Only units coded with this bucket.")
    residual: bool = Field(False, description="Propose themes from the unassigned units only.")
    sources: list[Name] = Field(
        default_factory=list, max_length=200, description="Study: only units of these sources."
    )
    since: datetime | None = Field(
        None, strict=False, description="Study: only items dated on or after (ISO 8601)."
    )
    until: datetime | None = Field(
        None, strict=False, description="Study: only items dated before (ISO 8601)."
    )
    min_theme_size: BodyInt | None = Field(
        None, ge=2, le=1000, description="Smallest theme in units (default: adapts)."
    )


class ThemeIdsRequest(Strict):
    theme_ids: list[ThemeId] = Field(min_length=1, max_length=100)


class MergeRequest(ThemeIdsRequest):
    label: Text | None = Field(None, min_length=1, max_length=200)


class RenameRequest(Strict):
    label: Text = Field(min_length=1, max_length=200)


class ThemePublic(Public):
    id: int
    code: str = Field(description="The theme as a code: theme:ID (segments filter by it).")
    label: str
    keywords: list[str]
    quotes: list[str]
    bucket: str | None
    status: str
    version: int
    size: int = Field(description="Units carrying the theme, merged parents' included.")


class ThemesPublic(Public):
    themes: list[ThemePublic]


class DiscoveryPublic(Public):
    themes: list[ThemePublic]
    bucket: str | None
    residual: bool
    study: str | None
    n_units: int
    n_fitted: int = Field(description="Units with content enough to be clustered.")
    n_skipped: int = Field(description="Small talk and fillers, never themed.")
    n_unassigned: int
    min_theme_size: int
    message: str | None = Field(description="Why no theme was found and what to try.")
