"""The filter forms of the pages (review queue, analytics): the values each offers, holding
the value in force, and a clear refusal of a value the project does not hold."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from themecoder.analytics import frames as fr
from themecoder.errors import InvalidInput
from themecoder.services.projects import Principal
from themecoder.storage import analytics as q
from themecoder.storage import views
from themecoder.storage.views import UnitFilter

__all__ = ["analytics_choices", "filter_choices"]

#: Choices an unknown filter value's message lists before "and N more".
MESSAGE_CHOICES = 12


def filter_choices(
    session: Session, principal: Principal, flt: UnitFilter | None = None
) -> dict[str, list[Any]]:
    """Accounts, sources and themes to filter the queue by, holding the values ``flt`` sets
    so that the form shows the filter in force: an account or source past the listed ones
    (the lists are capped), a theme the project's units carry that is no longer active.

    Raises:
        InvalidInput: A value the project does not hold, naming the field and its choices
            (as for an unknown bucket), instead of an empty queue under a form saying "any".
    """
    pid = principal.project_id
    choices = views.filter_choices(session, pid)
    flt = flt or UnitFilter()
    for field, key, column, value in (
        ("account", "accounts", "account_id", flt.account_id),
        ("source", "sources", "source", flt.source),
    ):
        holds = partial(views.item_holds, session, pid, column)
        choices[key] = _hold(field, value, choices[key], holds)
    themes = dict(choices["themes"])
    if flt.theme_id is not None and flt.theme_id not in themes:
        carried = {t.id: t.label for t, _ in views.project_themes(session, pid)}
        if flt.theme_id not in carried:
            offered = [f"{t} ({label})" for t, label in themes.items()]
            raise _unknown("theme", flt.theme_id, offered)
        choices["themes"].append((flt.theme_id, carried[flt.theme_id]))
    return choices


def analytics_choices(
    session: Session, principal: Principal, offered: dict[str, list[str]], chosen: dict[str, Any]
) -> dict[str, list[str]]:
    """The analytics filters' ``offered`` values (column -> values) holding the ``chosen``
    ones, as :func:`filter_choices` does for the queue; a source is its file name, as charted.

    Raises:
        InvalidInput: A value no item of the project holds, naming the field and its choices.
    """
    pid = principal.project_id
    return {
        column: _hold(
            column,
            chosen.get(column),
            values,
            lambda value, column=column: value in _item_values(session, pid, column),
        )
        for column, values in offered.items()
    }


def _hold(field: str, value: Any, offered: list[Any], holds: Callable[[Any], bool]) -> list[Any]:
    """``offered`` with ``value`` added if ``holds(value)``; asked only for a value not
    offered, so a listed value costs no lookup."""
    if value is None or value in offered:
        return offered
    if not holds(value):
        raise _unknown(field, value, offered)
    return sorted([*offered, value])


def _unknown(field: str, value: Any, offered: Sequence[Any]) -> InvalidInput:
    """A filter value the project does not hold, with the first choices named."""
    if not offered:
        return InvalidInput(
            f"{field}: {value!r} is unknown; this project has no {field} to filter by",
            field=field,
        )
    shown = ", ".join(str(v) for v in offered[:MESSAGE_CHOICES])
    more = f" and {len(offered) - MESSAGE_CHOICES} more" if len(offered) > MESSAGE_CHOICES else ""
    return InvalidInput(f"{field}: {value!r} is unknown; choose one of {shown}{more}", field=field)


def _item_values(session: Session, project_id: int, column: str) -> set[str]:
    """Every value ``column`` takes in the project's items, uncapped, as the analytics frames
    read them (a metadata key, a source as its file name)."""
    items = fr.prepare_items(q.items_frame(session, project_id))
    if column not in items.columns:
        return set()
    return {v for v in items[column].dropna().astype(str) if v}
