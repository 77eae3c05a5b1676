"""The pages on a phone-sized screen in a real browser (Playwright on Debian's Chromium,
served on loopback): no page is wider than the screen, so nothing is cut off to the right."""

from __future__ import annotations

import pytest

from test_web_browser import setup_data, sign_in

pytestmark = [
    pytest.mark.model,
    pytest.mark.browser,
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
]
PHONE = {"width": 375, "height": 740}


def test_no_page_is_wider_than_a_phone_screen(api, live, page) -> None:
    setup_data(api)
    page.set_viewport_size(PHONE)
    sign_in(page, live, api.keys["admin"])
    page.goto(f"{live.url}/documents")
    item = page.locator("main table a").first.get_attribute("href")
    paths = ("/", "/review", "/blind", "/documents", item, "/themes", "/codebook", "/analytics")
    for path in paths:
        page.goto(f"{live.url}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width}px wide on a {PHONE['width']}px screen"


def test_a_stale_decision_moves_focus_to_the_stale_list(api, live, page) -> None:
    """The status says "See below": a keyboard or screen-reader user lands on the list of
    stale decisions (a section needs tabindex="-1" to take focus), and keys go on working."""
    setup_data(api)
    sign_in(page, live, api.keys["reviewer"], "/review")
    sid = page.query_selector("tr.row[data-sid]:not([data-sid=''])").get_attribute("data-sid")
    r = api.client.post(
        f"/v1/suggestions/{sid}/reject", headers=api.h("reviewer2"), json={"version": 1}
    )
    assert r.status_code == 200, r.text
    page.keyboard.press("a")
    page.locator("#stale").wait_for(state="visible")
    page.wait_for_function("document.activeElement.id === 'stale'", timeout=3_000)
    assert "See below" in page.locator("#status").inner_text()
    page.keyboard.press("u")  # the review keys still answer with focus on the list
    assert page.locator("#status").inner_text() == "Nothing to undo on this unit."
