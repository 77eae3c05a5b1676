"""Sampling coverage: who gave feedback against the customer base, and post-stratification
weights that make the feedback speak for the base.

Per attribute (plan, segment, region, ...) and group: the group's share of the base's
accounts, of the accounts heard from (at least one coded item) and of the coded items.
``representation = item share / base share``; a group is **under-heard** when it is below
``under`` (0.67) or when none of its accounts was heard. Post-stratification weight of an
item in cell ``g`` (a combination of the chosen attributes): ``base share(g) / item
share(g)``, so weighted item counts match the base's mix; items of accounts outside the base
weigh 1. The linkage counts accounts (or users), not items, so its weight of a subject in
cell ``g`` is ``base share(g) / share(g) among the subjects in the table``
(:func:`subject_weights`); a subject whose cell is unknown weighs 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

UNDER = 0.67


def coverage_table(
    accounts: pd.DataFrame, items: pd.DataFrame, by: Sequence[str], under: float = UNDER
) -> pd.DataFrame:
    """One row per attribute and group: base, heard and item counts and shares, flags."""
    heard = set(items["account_id"].dropna())
    per_account = items.groupby("account_id").size()
    rows = []
    for column in by:
        if column not in accounts.columns:
            continue
        groups = accounts.assign(
            heard=accounts["account_id"].isin(heard),
            items=accounts["account_id"].map(per_account).fillna(0),
        ).groupby(accounts[column].astype(str))
        base_n, heard_n, item_n = len(accounts), len(heard & set(accounts["account_id"])), 0
        item_n = int(accounts["account_id"].map(per_account).fillna(0).sum())
        for group, g in groups:
            base = len(g) / base_n
            share = g["items"].sum() / item_n if item_n else 0.0
            rep = share / base if base else float("nan")
            rows.append(
                {
                    "attribute": column,
                    "group": group,
                    "accounts": len(g),
                    "base_share": base,
                    "accounts_heard": int(g["heard"].sum()),
                    "heard_share": g["heard"].sum() / heard_n if heard_n else 0.0,
                    "items": int(g["items"].sum()),
                    "item_share": share,
                    "representation": rep,
                    "under_heard": bool(g["heard"].sum() == 0 or rep < under),
                }
            )
    return pd.DataFrame(rows)


def post_strat_weights(accounts: pd.DataFrame, items: pd.DataFrame, by: Sequence[str]) -> pd.Series:
    """Weight per ``item_id`` (see the module docstring)."""
    cells = accounts.set_index("account_id")[list(by)].astype(str).agg("/".join, axis=1)
    base = cells.value_counts(normalize=True)
    item_cells = items["account_id"].map(cells)
    shares = item_cells.value_counts(normalize=True)
    weight = item_cells.map(base / shares).fillna(1.0)
    return pd.Series(weight.to_numpy(), index=items["item_id"].to_numpy())


def subject_weights(accounts: pd.DataFrame, cells_of: pd.Series, by: Sequence[str]) -> pd.Series:
    """Post-stratification weight per subject of a linkage table.

    Args:
        accounts: The imported customer base (``account_id`` and the ``by`` columns).
        cells_of: Account id of each subject (indexed by subject id: an account's is itself,
            a user's the account its items name).
        by: Attributes whose combinations are the cells.
    """
    cells = accounts.set_index("account_id")[list(by)].astype(str).agg("/".join, axis=1)
    base = cells.value_counts(normalize=True)
    subject_cells = cells_of.map(cells)
    shares = subject_cells.value_counts(normalize=True)
    return subject_cells.map(base / shares).fillna(1.0)
