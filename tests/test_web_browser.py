"""The pages in a real browser: Playwright drives Debian's Chromium against the app served
on loopback. Sign-in, ten reviews by keyboard alone with the database and audit checked, a
409 from a second reviewer shown and kept, a missed code added, blind double coding, a
transcript with highlighted spans, /docs offline, and an axe-core scan of every page.
Screenshots go to out/browser/ (ignored by git; CI keeps them as artifacts)."""

from __future__ import annotations

import statistics
import time

import pytest
from sqlalchemy import func, select

from conftest import ARTIFACTS
from themecoder.storage import AuditEventRecord, SuggestionRecord, make_engine, session_factory

pytestmark = [
    pytest.mark.model,
    pytest.mark.browser,
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
]

TICKETS = [
    "The new per-seat pricing doubles our bill and nobody warned us.",
    "Support fixed the sync error within an hour, great job.",
    "We plan to renew next quarter, the budget is approved.",
    "I couldn't figure out where the SSO setup lives.",
    "Third ticket about the same export bug and still no answer.",
    "It saves my team about ten hours a week on reporting.",
    "Your invoice charged us twice this month, please refund.",
    "We're evaluating other vendors before our contract ends.",
    "Can we add the analytics module for two more teams?",
    "Dashboards keep timing out since the last release.",
    "The onboarding checklist made setup painless for our admins.",
    "Pricing is fair for what we get, no complaints there.",
    "Support took four days to answer a simple question.",
    "We'd like to expand to the EU team next year if budget allows.",
    "Nobody on my team uses the reports, we don't see the value.",
    "The renewal quote came in far higher than last year.",
]
TURNS = [
    ("Interviewer", "How did the rollout go for your team?"),
    ("Dana", "Onboarding was confusing, nobody told us where the SSO settings live."),
    ("Interviewer", "And how do you feel about the price?"),
    ("Dana", "The price went up again and we are looking at other vendors before renewal."),
    ("Dana", "Support was quick though, they fixed our export within a day."),
]


def setup_data(api, share: float = 0.0) -> None:
    r = api.client.patch("/v1/project", headers=api.h(), json={"double_coding_share": share})
    assert r.status_code == 200, r.text
    api.ingest(
        [
            {"external_id": f"T-{i}", "text": t, "metadata": {"account_id": f"ACC-{i % 3}"}}
            for i, t in enumerate(TICKETS)
        ]
    )
    api.ingest(
        [
            {"external_id": f"I-{i}", "text": t, "speaker": s, "metadata": {"document": "int-1"}}
            for i, (s, t) in enumerate(TURNS)
        ]
    )


def sign_in(page, live, key: str, path: str = "/signin") -> None:
    page.goto(f"{live.url}{path}")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def axe_check(page, axe_source: str, name: str) -> None:
    """No serious or critical axe-core violations on the page; a screenshot is saved."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.add_script_tag(content=axe_source)
    result = page.evaluate("async () => await axe.run(document)")
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{name}: {bad}"


def db_counts(api) -> tuple[int, int, int]:
    engine = make_engine(api.settings.db_url)
    with session_factory(engine)() as s:
        decided = s.scalar(
            select(func.count()).where(
                SuggestionRecord.state.in_(("approved", "overridden", "rejected"))
            )
        )
        added = s.scalar(select(func.count()).where(SuggestionRecord.origin == "reviewer"))
        events = s.scalar(
            select(func.count()).where(
                AuditEventRecord.action.in_(("approve", "override", "reject", "add"))
            )
        )
    engine.dispose()
    return int(decided or 0), int(added or 0), int(events or 0)


def current_unit(page) -> str | None:
    el = page.query_selector("#review")
    return el.get_attribute("data-unit") if el else None


def test_sign_in_sets_a_session_cookie_and_sign_out_ends_it(api, live, page, axe_source) -> None:
    setup_data(api)
    page.goto(f"{live.url}/review")
    assert "/signin" in page.url
    axe_check(page, axe_source, "signin")
    sign_in(page, live, api.keys["reviewer"])
    assert page.url.endswith("/review")
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "tc_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # not readable by scripts
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/signin")
    page.goto(f"{live.url}/review")
    assert "/signin" in page.url


def test_ten_units_reviewed_by_keyboard_alone(api, live, page, axe_source) -> None:
    """Sign in, then a j k u 1-6 p n r only: ten units decided, the database and the audit
    trail changed accordingly; the time per unit is printed."""
    setup_data(api)
    sign_in(page, live, api.keys["reviewer"], "/review")
    axe_check(page, axe_source, "review")
    page.screenshot(path=str(ARTIFACTS / "review-screen.png"))
    before = db_counts(api)
    seen, times = [], []
    kb = page.keyboard
    for i in range(10):
        unit = current_unit(page)
        assert unit is not None, f"queue ran dry after {i} units"
        seen.append(unit)
        if i == 4:  # j skips ahead without deciding, k comes back
            with page.expect_navigation():
                kb.press("j")
            assert current_unit(page) not in (unit, None)
            with page.expect_navigation():
                kb.press("k")
            assert current_unit(page) == unit
        start = time.perf_counter()
        if i == 1:  # polarity change on the focused (first suggested) bucket
            focused = page.query_selector("tr.row[data-sid]:not([data-sid=''])")
            kb.press("p" if focused.get_attribute("data-polarity") == "risk" else "r")
        if i == 2:  # remove a code, change mind (undo), remove it again
            row = page.query_selector("tr.row[data-sid]:not([data-sid=''])")
            key = row.get_attribute("data-index")
            kb.press(key)
            kb.press("u")
            assert page.is_checked(f"#on-{row.get_attribute('data-bucket')}")
            kb.press(key)
        if i == 3:  # add a code the model missed, as risk
            row = page.query_selector("tr.row[data-sid=''][data-editable='1'][data-on='0']")
            kb.press(row.get_attribute("data-index"))
            kb.press("r")
        with page.expect_navigation():
            kb.press("a")
        page.wait_for_selector("#progress")
        times.append(time.perf_counter() - start)
    assert len(set(seen)) == 10
    decided, added, events = db_counts(api)
    assert decided - before[0] >= 10
    assert added - before[1] == 1
    assert events - before[2] >= 11
    engine = make_engine(api.settings.db_url)
    with session_factory(engine)() as s:
        states = set(s.scalars(select(SuggestionRecord.state).distinct()))
    engine.dispose()
    assert {"approved", "overridden", "rejected"} <= states
    print(
        f"\nten keyboard reviews: total {sum(times):.2f} s, median {statistics.median(times):.3f} s"
        f" per unit, max {max(times):.3f} s (key press to the next unit loaded)"
    )


def test_a_stale_decision_shows_the_409_and_is_kept(api, live, page, axe_source) -> None:
    setup_data(api)
    sign_in(page, live, api.keys["reviewer"], "/review")
    unit = current_unit(page)
    sid = page.query_selector("tr.row[data-sid]:not([data-sid=''])").get_attribute("data-sid")
    # A second reviewer decides the same suggestion first, through the API.
    r = api.client.post(
        f"/v1/suggestions/{sid}/reject", headers=api.h("reviewer2"), json={"version": 1}
    )
    assert r.status_code == 200, r.text
    page.keyboard.press("a")
    stale = page.locator("#stale")
    stale.wait_for(state="visible")
    assert "rejected at version 2" in stale.inner_text()
    assert current_unit(page) == unit  # did not move on: nothing silently lost
    axe_check(page, axe_source, "review-stale")
    page.reload()
    page.locator("#stale").wait_for(state="visible")  # still there after a reload
    engine = make_engine(api.settings.db_url)
    with session_factory(engine)() as s:
        assert s.get(SuggestionRecord, int(sid)).state == "rejected"  # the first decision stands
    engine.dispose()


def test_blind_double_coding_shows_the_text_only(api, live, page, axe_source) -> None:
    setup_data(api, share=1.0)
    sign_in(page, live, api.keys["reviewer"], "/blind")
    text = page.locator("blockquote.unit-text").inner_text()
    assert text
    body = page.locator("main").inner_text()
    assert "confidence" not in body.lower() and "nearest" not in body.lower()
    axe_check(page, axe_source, "blind")
    page.get_by_role("group", name="3. Onboarding clarity").get_by_label("risk").check()
    page.get_by_role("button", name="Save labels").click()
    page.wait_for_url("**/blind?done=*")
    assert "Saved your labels" in page.locator("main").inner_text()
    events = api.client.get("/v1/audit", headers=api.h("analyst")).json()["events"]
    assert any(e["action"] == "blind_code" for e in events)


def test_a_transcript_shows_its_coded_spans_and_a_span_opens_its_review(
    api, live, page, axe_source
) -> None:
    setup_data(api)
    sign_in(page, live, api.keys["reviewer"], "/documents")
    page.get_by_role("link", name="int-1").click()
    spans = page.locator("a.span")
    assert spans.count() >= 1
    first = spans.first
    assert "[" in first.inner_text()  # bucket and polarity in words, not only colour
    axe_check(page, axe_source, "document")
    bucket = first.get_attribute("class").split("b-")[1]
    page.locator(f"nav.chips a.b-{bucket}").click()
    page.wait_for_url(f"**bucket={bucket}")
    assert all(
        f"b-{bucket}" in c
        for c in page.locator("a.span").evaluate_all("els => els.map(e => e.className)")
    )
    unit = page.locator("a.span").first.get_attribute("data-unit")
    page.locator("a.span").first.click()
    page.wait_for_url(f"**/review?unit={unit}")
    assert current_unit(page) == unit
    assert page.locator("mark.evidence").inner_text().strip()


def test_docs_work_offline(api, live, browser_page) -> None:
    page = browser_page.page
    page.goto(f"{live.url}/docs")
    page.locator(".swagger-ui .info .title").wait_for()
    assert "themecoder" in page.locator(".swagger-ui .info .title").inner_text()
    page.locator(".opblock-tag", has_text="review").first.wait_for()
    page.screenshot(path=str(ARTIFACTS / "docs.png"))


def test_every_page_passes_the_axe_scan(api, live, page, axe_source) -> None:
    setup_data(api)
    sign_in(page, live, api.keys["admin"], "/")
    for path, name in [
        ("/", "home"),
        ("/documents", "documents"),
        ("/codebook", "codebook"),
        ("/themes", "themes"),
        ("/analytics", "analytics"),
        ("/blind", "blind-empty"),
    ]:
        page.goto(f"{live.url}{path}")
        axe_check(page, axe_source, name)
