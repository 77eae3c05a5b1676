"""The web pages without a browser: sign-in, the session cookie, CSRF, roles, project
isolation, every page rendering, and /docs served from local assets."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.model

EVERYONE = frozenset({"admin", "reviewer", "analyst", "ingest"})
REVIEW = frozenset({"admin", "reviewer"})
READ = frozenset({"admin", "reviewer", "analyst"})
#: Every page route and the roles that may use it (None: no sign-in needed).
PAGE_ROUTES: dict[tuple[str, str], frozenset[str] | None] = {
    ("GET", "/signin"): None,
    ("POST", "/signin"): None,
    ("POST", "/signout"): None,
    ("GET", "/"): EVERYONE,
    ("GET", "/review"): REVIEW,
    ("POST", "/review/units/{unit_id}/decide"): REVIEW,
    ("GET", "/blind"): REVIEW,
    ("POST", "/blind/{unit_id}"): REVIEW,
    ("GET", "/documents"): READ,
    ("GET", "/documents/{item_id}"): READ,
    ("GET", "/themes"): READ,
    ("GET", "/codebook"): EVERYONE,
    ("GET", "/analytics"): READ,
    ("POST", "/review/units/{unit_id}/custom"): REVIEW,
    ("POST", "/review/units/{unit_id}/custom/{suggestion_id}/remove"): REVIEW,
    ("POST", "/codebook/add"): frozenset({"admin"}),
    ("POST", "/codebook/rename"): frozenset({"admin"}),
    ("POST", "/codebook/merge"): frozenset({"admin"}),
    ("POST", "/themes/{theme_id}/{action}"): frozenset({"admin", "analyst"}),
    ("POST", "/themes/merge"): frozenset({"admin", "analyst"}),
}
TICKETS = [
    "The new per-seat pricing doubles our bill and nobody warned us.",
    "Support fixed the sync error within an hour, great job.",
    "We plan to renew next quarter, the budget is approved.",
    "I couldn't figure out where the SSO setup lives.",
]
TURNS = [
    ("Interviewer", "How is the rollout going?"),
    ("Dana", "Onboarding was confusing, nobody told us where the settings live."),
    ("Interviewer", "And pricing?"),
    ("Dana", "Honestly the price went up and we are looking at other vendors."),
]


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client, key: str, next_: str | None = None):
    page = client.get("/signin")
    data = {"api_key": key, "csrf_token": csrf_of(page.text)}
    if next_:
        data["next"] = next_
    return client.post("/signin", data=data, follow_redirects=False)


@pytest.fixture
def web(api):
    r = api.client.patch("/v1/project", headers=api.h(), json={"double_coding_share": 0.0})
    assert r.status_code == 200
    api.ingest(
        [
            {"external_id": f"T-{i}", "text": t, "metadata": {"account_id": "ACC-1"}}
            for i, t in enumerate(TICKETS)
        ]
    )
    api.ingest(
        [
            {"external_id": f"I-{i}", "text": t, "speaker": s, "metadata": {"document": "int-1"}}
            for i, (s, t) in enumerate(TURNS)
        ]
    )
    api.client.cookies.clear()
    return api


def test_sign_in_sets_an_httponly_samesite_cookie_and_sign_out_clears_it(web) -> None:
    c = web.client
    assert c.get("/", follow_redirects=False).headers["location"] == "/signin?next=/"
    bad = sign_in(c, "tc_nope")
    assert bad.status_code == 401 and "unknown or revoked" in bad.text
    r = sign_in(c, web.keys["reviewer"])
    assert r.status_code == 303 and r.headers["location"] == "/review"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert web.keys["reviewer"] not in cookie
    page = c.get("/review")
    assert page.status_code == 200 and "reviewer key" in page.text
    out = c.post("/signout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert out.status_code == 303
    c.cookies.clear()
    assert c.get("/review", follow_redirects=False).status_code == 303


def test_forms_without_the_csrf_token_are_refused(web) -> None:
    c = web.client
    c.get("/signin")
    r = c.post("/signin", data={"api_key": web.keys["reviewer"]}, follow_redirects=False)
    assert r.status_code == 403
    sign_in(c, web.keys["reviewer"])
    page = c.get("/review")
    unit = re.search(r'data-unit="(\d+)"', page.text).group(1)
    r = c.post(f"/review/units/{unit}/decide", json={"decisions": [], "add": []})
    assert r.status_code == 403
    r = c.post("/signout", data={}, follow_redirects=False)
    assert r.status_code == 403
    for form in re.findall(r"<form[^>]*method=\"post\"[^>]*>.*?</form>", page.text, re.S):
        assert 'name="csrf_token"' in form


def test_only_same_site_paths_are_followed_after_sign_in(web) -> None:
    r = sign_in(web.client, web.keys["reviewer"], next_="//evil.example/x")
    assert r.headers["location"] == "/review"


def test_roles_as_in_the_api(web) -> None:
    c = web.client
    sign_in(c, web.keys["analyst"])
    assert c.get("/review").status_code == 403
    assert c.get("/blind").status_code == 403
    assert c.get("/documents").status_code == 200
    c.cookies.clear()
    sign_in(c, web.keys["ingest"])
    assert c.get("/documents").status_code == 403
    assert c.get("/codebook").status_code == 200


def test_each_role_against_each_page(web) -> None:
    """Signed out: GETs go to sign-in and POSTs are refused; signed in: allowed roles pass,
    the others get 403 (a POST with a valid CSRF token, so the role is what refuses it)."""
    c = web.client
    for (method, template), allowed in PAGE_ROUTES.items():
        if allowed is None:
            continue
        path = template.replace("{action}", "accept")
        for name in ("unit_id", "item_id", "suggestion_id", "theme_id"):
            path = path.replace("{" + name + "}", "1")
        c.cookies.clear()
        r = c.request(method, path, follow_redirects=False)
        assert r.status_code in ((303,) if method == "GET" else (303, 401)), (method, path)
        for role in EVERYONE:
            c.cookies.clear()
            sign_in(c, web.keys[role])
            token = csrf_of(c.get("/codebook").text)
            kw = {}
            if method == "POST":
                kw = {"headers": {"X-CSRF-Token": token}, "data": {"csrf_token": token}}
                if "decide" in path:
                    kw = {"headers": {"X-CSRF-Token": token}, "json": {"decisions": []}}
            r = c.request(method, path, follow_redirects=False, **kw)
            where = f"{method} {path} as {role}: {r.status_code} {r.text[:200]}"
            assert r.status_code < 500, where
            if role in allowed:
                assert r.status_code not in (401, 403), where
            else:
                assert r.status_code == 403, where


def test_a_key_of_another_project_sees_nothing(web) -> None:
    c = web.client
    sign_in(c, web.keys["reviewer"])
    page = c.get("/review")
    unit = re.search(r'data-unit="(\d+)"', page.text).group(1)
    docs = c.get("/documents").text
    item = re.search(r'href="/documents/(\d+)"', docs).group(1)
    c.cookies.clear()
    sign_in(c, web.other_key)
    assert c.get(f"/review?unit={unit}").status_code == 404
    assert c.get(f"/documents/{item}").status_code == 404
    assert "T-0" not in c.get("/documents").text
    assert "Nothing left to review" in c.get("/review").text


def test_every_page_renders(web) -> None:
    c = web.client
    sign_in(c, web.keys["admin"])
    docs = c.get("/documents").text
    assert "int-1" in docs
    item = re.search(r'href="/documents/(\d+)">int-1', docs).group(1)
    for path in [
        "/",
        "/review",
        "/blind",
        "/documents",
        f"/documents/{item}",
        "/codebook",
        "/themes",
        "/analytics",
    ]:
        r = c.get(path)
        assert r.status_code == 200, (path, r.text[:500])
        assert "http://" not in r.text and "https://" not in r.text, path


def test_docs_are_served_from_local_assets(web) -> None:
    html = web.client.get("/docs").text
    assert "cdn" not in html.lower() and "fonts.googleapis" not in html
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls
    for url in urls:
        assert url.startswith("/static/"), url
        assert web.client.get(url).status_code == 200
    assert web.client.get("/redoc").status_code == 404  # its bundle loads a logo from a CDN


def test_a_stale_decision_is_reported_and_the_others_of_the_unit_stand(web) -> None:
    """Decisions of one unit apply one by one: a 409 on one comes back as "conflict" with the
    winning state, and the unit's other decisions and added codes are still stored."""
    c = web.client
    sign_in(c, web.keys["reviewer"])
    page = c.get("/review").text
    unit = int(re.search(r'data-unit="(\d+)"', page).group(1))
    token = csrf_of(page)
    first = re.search(r'data-sid="(\d+)" data-version="(\d+)"', page)
    sid = int(first.group(1))
    r = web.client.post(
        f"/v1/suggestions/{sid}/approve", headers=web.h("reviewer2"), json={"version": 1}
    )
    assert r.status_code == 200
    taken = set(re.findall(r'data-bucket="(\w+)"[^>]*\s+data-sid="\d+"', page))
    free = next(b for b in re.findall(r'data-bucket="(\w+)"', page) if b not in taken)
    body = {
        "decisions": [{"suggestion_id": sid, "version": 1, "action": "reject"}],
        "add": [{"bucket": free, "polarity": "risk"}],
    }
    r = c.post(f"/review/units/{unit}/decide", json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["conflicts"] == 1
    (res,) = out["results"]
    assert res["status"] == "conflict" and res["suggestion"]["state"] == "approved"
    assert [a["bucket"] for a in out["added"]] == [free]
    events = c.get("/v1/audit", headers=web.h("analyst")).json()["events"]
    assert [e["action"] for e in events if e["subject"] == f"suggestion:{sid}"] == ["approve"]
    assert any(e["action"] == "add" for e in events)


def _row(page: str, bucket: str) -> str:
    """The review table's row of ``bucket``."""
    return re.search(rf'<tr class="row b-{bucket}[ "].*?</tr>', page, re.S).group(0)


def test_a_code_moved_to_another_bucket_is_on_in_that_row_only(web) -> None:
    """Before: after an override to another bucket, the new bucket's row and the model's both
    showed the code "on / risk / overridden"; the model's row now says where it went."""
    queue = web.client.get("/v1/queue", headers=web.h("reviewer"), params={"limit": 200})
    pending = queue.json()["suggestions"]
    s = next((s for s in pending if s["bucket"] == "support_friction"), pending[0])
    unit, source = s["unit"]["id"], s["bucket"]
    c = web.client
    sign_in(c, web.keys["reviewer"])
    page = c.get(f"/review?unit={unit}").text
    free = [b for b in re.findall(r'data-bucket="(\w+)"', page) if "nosug" in _row(page, b)]
    target = "renewal_likelihood" if "renewal_likelihood" in free else free[0]
    body = {"version": s["version"], "bucket": target, "polarity": "risk"}
    r = c.post(f"/v1/suggestions/{s['id']}/override", headers=web.h("reviewer"), json=body)
    assert r.status_code == 200, r.text
    page = c.get(f"/review?unit={unit}").text
    moved_to, moved_from = _row(page, target), _row(page, source)
    assert 'data-on="0"' in moved_from and f'id="on-{source}" checked' not in moved_from
    assert "overridden" not in moved_from
    assert 'data-on="1"' in moved_to and f'id="on-{target}" checked' in moved_to
    assert f'id="pol-{target}-risk" name="pol-{target}" value="risk" checked' in moved_to
    assert "overridden" in moved_to and f"from {source.replace('_', ' ').capitalize()}" in moved_to
    assert f"moved to {target.replace('_', ' ').capitalize()}" in moved_from
    assert page.count("overridden") == 1
