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
