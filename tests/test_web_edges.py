"""The pages at their edges, as a user meets them: a filter form left at "any", the back
button after signing out, a document read by an analyst, an address that does not exist, and
a server error, each answered with a page (never the API's JSON or a traceback)."""

from __future__ import annotations

import re

import pytest

from test_web_pages import sign_in

pytestmark = pytest.mark.model

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}  # what a browser sends
TICKETS = [
    "The new per-seat pricing doubles our bill and nobody warned us.",
    "Support fixed the sync error within an hour, great job.",
    "We plan to renew next quarter, the budget is approved.",
]
TURNS = [
    ("Interviewer", "How is the rollout going?"),
    ("Dana", "Onboarding was confusing, nobody told us where the settings live."),
    ("Dana", "Honestly the price went up and we are looking at other vendors."),
]


@pytest.fixture
def web(api):
    r = api.client.patch("/v1/project", headers=api.h(), json={"double_coding_share": 0.0})
    assert r.status_code == 200
    api.ingest(
        [
            {"external_id": f"I-{i}", "text": t, "speaker": s, "metadata": {"document": "int-1"}}
            for i, (s, t) in enumerate(TURNS)
        ]
    )
    api.client.cookies.clear()
    return api


def _alert(html: str) -> str:
    found = re.search(r'role="alert">(.*?)</p>', html, re.S)
    return found.group(1) if found else ""


def test_filter_forms_left_at_any_show_the_page_not_a_422(web) -> None:
    """A select at "any" submits an empty value: it means no filter, not a bad choice."""
    c = web.client
    sign_in(c, web.keys["admin"])
    r = c.get("/review?bucket=&band=&account=&theme=&source=")
    assert r.status_code == 200, _alert(r.text)
    assert "Unit " in r.text and 'data-query=""' in r.text  # no empty filter carried on
    r = c.get("/analytics?bucket=&freq=&source=&account_id=&segment=")
    assert r.status_code == 200, _alert(r.text)
    assert '<option value="month" selected>' in r.text  # the default period applies
    r = c.get("/review?bucket=pricing_perception&band=")
    assert r.status_code == 200 and "bucket=pricing_perception" in r.text
    assert c.get("/analytics?freq=day").status_code == 422  # a real bad value still is


def test_pages_are_never_cached_so_back_after_sign_out_shows_nothing(web) -> None:
    c = web.client
    sign_in(c, web.keys["admin"])
    for path in ("/", "/review", "/documents", "/themes", "/codebook", "/analytics", "/blind"):
        r = c.get(path)
        assert r.status_code == 200 and r.headers.get("cache-control") == "no-store", path
    assert c.get("/documents/999999").headers.get("cache-control") == "no-store"


def test_an_analyst_reads_a_document_without_links_to_a_review_they_may_not_open(web) -> None:
    c = web.client
    sign_in(c, web.keys["reviewer"])
    item = re.search(r'href="/documents/(\d+)">int-1', c.get("/documents").text).group(1)
    as_reviewer = c.get(f"/documents/{item}").text
    assert 'href="/review?unit=' in as_reviewer and "Select a span" in as_reviewer
    c.cookies.clear()
    sign_in(c, web.keys["analyst"])
    page = c.get(f"/documents/{item}").text
    assert 'class="span b-' in page  # the spans are still marked in place
    assert 'href="/review' not in page and "Select a span" not in page
    unit = re.search(r'data-unit="(\d+)"', page).group(1)
    assert c.get(f"/review?unit={unit}").status_code == 403  # what the link used to open


def test_an_unknown_address_answers_a_browser_with_the_error_page(web) -> None:
    c = web.client
    sign_in(c, web.keys["reviewer"])
    for path in ("/nope", "/documents/1/extra", "/static/nope.css"):
        r = c.get(path, headers=HTML)
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html"), path
        assert "There is no page at this address." in _alert(r.text), path
    # API clients keep the JSON error, whatever they accept under /v1.
    for path, headers in (("/v1/nope", HTML), ("/nope", {"Accept": "application/json"})):
        r = c.get(path, headers=headers)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_an_unexpected_error_on_a_page_shows_the_error_page(web, monkeypatch) -> None:
    from themecoder.services import pages

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom: secret detail")

    c = web.client
    sign_in(c, web.keys["reviewer"])
    monkeypatch.setattr(pages, "progress", broken)
    r = c.get("/", headers=HTML)
    assert r.status_code == 500 and r.headers["content-type"].startswith("text/html")
    assert "went wrong on the server" in _alert(r.text)
    assert "Traceback" not in r.text and "secret detail" not in r.text


def test_every_document_is_reached_page_by_page(web, monkeypatch) -> None:
    from themecoder.services import pages

    web.ingest([{"external_id": f"T-{i}", "text": t} for i, t in enumerate(TICKETS)])
    monkeypatch.setattr(pages, "DOCUMENTS_PER_PAGE", 2)
    c = web.client
    sign_in(c, web.keys["analyst"])
    seen: list[str] = []
    url: str | None = "/documents"
    while url:
        r = c.get(url)
        assert r.status_code == 200, _alert(r.text)
        seen += re.findall(r'href="/documents/\d+">([^<]+)</a>', r.text)
        found = re.search(r'href="(/documents\?page=\d+)" rel="next"', r.text)
        url = found.group(1) if found else None
    assert sorted(seen) == sorted(["int-1", *(f"T-{i}" for i in range(len(TICKETS)))])
    assert 'rel="prev"' in c.get("/documents?page=2").text
    r = c.get("/documents?page=99")
    assert r.status_code == 200 and "Back to the newest" in r.text
    assert c.get("/documents?page=0").status_code == 422


def test_a_custom_code_keeps_the_reviewer_in_their_filtered_queue(web) -> None:
    c = web.client
    sign_in(c, web.keys["admin"])
    token = re.search(r'name="csrf-token" content="([^"]+)"', c.get("/codebook").text).group(1)
    book = {"csrf_token": token, "code_id": "sso_setup", "definition": "SSO.", "owner": "idm"}
    assert c.post("/codebook/add", data=book).status_code == 200
    page, bucket = "", ""
    for bucket in ("onboarding_clarity", "pricing_perception", "renewal_likelihood"):
        page = c.get(f"/review?bucket={bucket}").text
        if "data-unit=" in page:
            break
    unit = re.search(r'data-unit="(\d+)"', page).group(1)
    add_url = f"/review/units/{unit}/custom?bucket={bucket}"
    assert f'action="{add_url}"' in page
    add = {"csrf_token": token, "code": "sso_setup", "polarity": "risk"}
    r = c.post(add_url, data=add, follow_redirects=False)
    assert r.headers["location"] == f"/review?bucket={bucket}&unit={unit}#custom"
    page = c.get(f"/review?bucket={bucket}&unit={unit}").text
    found = re.search(r'action="(/review/units/\d+/custom/\d+/remove\?[^"]+)"', page)
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    r = c.post(
        found.group(1).replace("&amp;", "&"),
        data={"csrf_token": token, "version": version},
        follow_redirects=False,
    )
    assert r.headers["location"] == f"/review?bucket={bucket}&unit={unit}#custom"


def test_a_browser_opening_a_post_only_address_gets_the_error_page(web) -> None:
    """The key gate answers a wrong method before the app's handlers: a browser used to get
    its JSON body. The status and the Allow header stay; API clients keep the JSON."""
    c = web.client
    for signed_in in (False, True):
        if signed_in:
            sign_in(c, web.keys["reviewer"])
        r = c.get("/signout", headers=HTML)
        assert r.status_code == 405 and r.headers["content-type"].startswith("text/html")
        assert r.headers["allow"] == "POST"
        assert "does not take that kind of request" in _alert(r.text)
    for method, path, headers in (
        ("GET", "/signout", {"Accept": "application/json"}),
        ("DELETE", "/v1/health", HTML),
    ):
        r = c.request(method, path, headers=headers)
        assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
        assert r.headers["allow"], path


def test_an_unknown_filter_value_is_refused_like_an_unknown_bucket(web, monkeypatch) -> None:
    """A hand-typed value no item holds is a 422 naming the field and its choices (as
    ``bucket=nope`` always was), never an empty page whose form says "any"; a real value
    the capped dropdown leaves out is shown selected."""
    from themecoder.services import dashboard

    web.ingest(
        [
            {"external_id": f"T-{i}", "text": t, "metadata": {"account_id": f"ACC-{i}"}}
            for i, t in enumerate(TICKETS)
        ]
    )
    c = web.client
    sign_in(c, web.keys["admin"])
    assert "bucket" in _alert(c.get("/analytics?bucket=nope").text)
    for url, field in (
        ("/analytics?account_id=nope", "account_id"),
        ("/analytics?source=nope", "source"),
        ("/review?account=nope", "account"),
        ("/review?source=nope", "source"),
        ("/review?theme=999", "theme"),
    ):
        r = c.get(url)
        alert = _alert(r.text)
        assert r.status_code == 422 and alert.startswith(f"{field}:"), (url, alert)
        assert "nope" in alert or "999" in alert, (url, alert)
        if "account" in field:
            assert "ACC-0" in alert and "ACC-2" in alert, (url, alert)
    r = c.get("/review?account=ACC-1")
    assert r.status_code == 200 and '<option value="ACC-1" selected>' in r.text
    monkeypatch.setattr(dashboard, "MAX_CHOICES", 1)
    r = c.get("/analytics?account_id=ACC-2")
    assert r.status_code == 200, _alert(r.text)
    assert '<option value="ACC-2" selected>' in r.text
