"""The topic-quality evaluation's customer sampling: train rows only, a fixed sample."""

from __future__ import annotations

import hashlib

from eval_scripts import load


def test_customer_rows_are_train_rows_in_a_fixed_order(tmp_path):
    tq = load("topic_quality")
    texts = [f"Flight {i} was delayed" for i in range(40)]
    path = tmp_path / "t.csv"
    path.write_text("text\n" + "\n".join([*texts, " ", texts[0] + " "]) + "\n", encoding="utf-8")
    rows = tq.train_rows(path, "text", 1000)
    train = [t for t in texts if int(hashlib.sha1(t.encode()).hexdigest(), 16) % 5 != 0]
    assert sorted(rows) == sorted(train) and len(rows) < len(texts)  # held-out rows left out
    assert tq.train_rows(path, "text", 5) == rows[:5]
    assert tq.diversity([["a", "b"], ["b", "c"]]) == 3 / 20
