"""The analytics, codebook and themes pages in a real browser (Playwright on Debian's
Chromium, served on loopback): the chart drawn from real counts, a code added and renamed with
the lineage shown, a theme proposal accepted and a theme renamed, custom codes on the review
screen, and an axe-core scan of each page after the change. Screenshots go to out/browser/."""

from __future__ import annotations

import pytest

from test_web_browser import axe_check, current_unit, setup_data, sign_in
from test_web_curation import _add_themes

pytestmark = [
    pytest.mark.model,
    pytest.mark.browser,
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
]


def test_the_analytics_chart_draws_the_real_counts(api, live, page, axe_source) -> None:
    setup_data(api)
    sign_in(page, live, api.keys["analyst"], "/analytics")
    for polarity in ("risk", "positive"):
        chart = page.locator(f"svg#chart-{polarity}")
        chart.wait_for()
        paths = chart.locator("g.series path")
        assert paths.count() == 6  # a line per bucket
        assert all(paths.nth(i).get_attribute("d").startswith("M") for i in range(6))
        assert chart.locator("circle").count() >= 6
        box = chart.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 60  # drawn, not collapsed
    totals = page.locator(".chart h2 .meta").all_inner_texts()
    assert sum(int(t.split()[0]) for t in totals) > 0  # the tickets' codes, not zeros
    assert page.locator("#health-h").is_visible()
    axe_check(page, axe_source, "analytics-chart")
    page.select_option("#a-bucket", "pricing_perception")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**bucket=pricing_perception**")
    assert page.locator("svg#chart-risk g.series path").count() == 1


def test_a_code_is_added_and_renamed_and_the_lineage_shows_it(api, live, page, axe_source) -> None:
    setup_data(api)
    sign_in(page, live, api.keys["admin"], "/codebook")
    page.fill("#add-id", "sso_setup")
    page.select_option("#add-parent", "onboarding_clarity")
    page.fill("#add-def", "Setting up single sign-on for the team.")
    page.get_by_role("button", name="Add code").click()
    page.wait_for_url("**/codebook?done=*")
    assert "Added sso_setup" in page.get_by_role("status").inner_text()
    assert page.locator("#code-sso_setup").is_visible()
    page.select_option("#ren-old", "sso_setup")
    page.fill("#ren-new", "sso_config")
    page.fill("#ren-name", "SSO configuration")
    page.get_by_role("button", name="Rename").click()
    page.wait_for_url("**/codebook?done=Renamed*")
    assert page.locator("#code-sso_config h2").inner_text().startswith("SSO configuration")
    rows = page.locator("#lineage tbody tr").all_inner_texts()
    assert any("rename" in r and "sso_setup" in r and "sso_config" in r for r in rows)
    assert any("create" in r and "sso_setup" in r for r in rows)
    axe_check(page, axe_source, "codebook-edited")
    # The new code is a custom code on the review screen, beside the six buckets.
    page.context.clear_cookies()
    sign_in(page, live, api.keys["reviewer"], "/review")
    unit = current_unit(page)
    page.select_option("#cc-code", "sso_config")
    page.select_option("#cc-pol", "risk")
    page.get_by_role("button", name="Add custom code").click()
    page.wait_for_url(f"**/review?unit={unit}*")
    assert "SSO configuration" in page.locator("ul.custom-on").inner_text()
    axe_check(page, axe_source, "review-custom-code")
    page.get_by_role("button", name="Remove SSO configuration").click()
    page.wait_for_url(f"**/review?unit={unit}*")
    assert page.locator("ul.custom-on").count() == 0


def test_a_theme_proposal_is_accepted_and_a_theme_renamed(api, live, page, axe_source) -> None:
    setup_data(api)
    ids = _add_themes(api)
    sign_in(page, live, api.keys["analyst"], "/themes")
    axe_check(page, axe_source, "themes-actions")
    page.get_by_role("button", name="Accept proposal sso").click()
    page.wait_for_url("**/themes?done=*")
    assert "sso (active)" in page.get_by_role("status").inner_text()
    page.fill(f"#rn-{ids['billing']}", "invoices")
    page.locator(f"#rn-{ids['billing']}").press("Enter")
    page.wait_for_url("**/themes?done=*renamed*")
    assert page.locator(f"#t-{ids['billing']}").inner_text().startswith("invoices")
    axe_check(page, axe_source, "themes-edited")
