"""The analytics page, codebook and theme editing, and custom codes on the review screen,
without a browser: what each shows, what each stores and audits, and the CSRF and role
refusals of every new form."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sqlalchemy import select

from test_web_pages import TICKETS, TURNS, csrf_of, sign_in
from themecoder.codebook.lineage import LineageEvent
from themecoder.services.themes import current_lineage, record_events, stamped
from themecoder.storage import make_engine, session_factory
from themecoder.storage.review import ProjectRecord
from themecoder.storage.tables import UnitRecord
from themecoder.storage.themes import ThemeRecord, UnitThemeRecord, centroid_bytes

pytestmark = [pytest.mark.model, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


@pytest.fixture
def web(api):
    r = api.client.patch("/v1/project", headers=api.h(), json={"double_coding_share": 0.0})
    assert r.status_code == 200
    api.ingest(
        [
            {
                "external_id": f"T-{i}",
                "text": t,
                "metadata": {
                    "account_id": f"ACC-{i % 2}",
                    "segment": "smb" if i % 2 else "enterprise",
                    "created_at": f"2026-0{1 + i % 3}-10T10:00:00Z",
                },
            }
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


def as_role(web, role: str) -> str:
    """Sign in as ``role`` (a fresh session); the page's CSRF token."""
    web.client.cookies.clear()
    sign_in(web.client, web.keys[role])
    return csrf_of(web.client.get("/codebook").text)


def audit_actions(web) -> list[str]:
    return [
        e["action"] for e in web.client.get("/v1/audit", headers=web.h("analyst")).json()["events"]
    ]


def test_the_analytics_page_charts_risk_and_positive_signals_with_filters(web) -> None:
    as_role(web, "analyst")
    page = web.client.get("/analytics")
    assert page.status_code == 200, page.text[:500]
    html = page.text
    for polarity in ("risk", "positive"):
        chart = re.search(rf'<svg class="linechart" id="chart-{polarity}".*?</svg>', html, re.S)
        assert chart, polarity
        assert len(re.findall(r'<path d="M[\d.]+,[\d.]+', chart.group(0))) == 6  # one per bucket
        circles = len(re.findall(r"<circle ", chart.group(0)))
        assert circles >= 6 * 3 and circles % 6 == 0  # a point per bucket and month
        assert "2026-01: " in chart.group(0) and "2026-03: " in chart.group(0)
    total = sum(
        int(n) for n in re.findall(r"signals per month <span class=\"meta\">(\d+) in all", html)
    )
    assert total > 0  # the real codes of the tickets, not an empty frame
    for section in ("Account health", "Escalations", "Alerts", "Agreement per bucket"):
        assert section in html
    assert "ACC-0" in html and "ACC-1" in html
    one = web.client.get("/analytics?bucket=pricing_perception&freq=week&account_id=ACC-1")
    assert one.status_code == 200
    assert len(re.findall(r'data-series="pricing_perception"', one.text)) == 2
    assert 'data-series="renewal_likelihood"' not in one.text
    assert web.client.get("/analytics?segment=smb").status_code == 200
    assert web.client.get("/analytics?bucket=nope").status_code == 422
    as_role(web, "ingest")
    assert web.client.get("/analytics").status_code == 403


def test_codebook_add_rename_and_merge_keep_the_lineage(web) -> None:
    token = as_role(web, "admin")
    c = web.client
    r = c.post(
        "/codebook/add",
        data={
            "csrf_token": token,
            "code_id": "sso_setup",
            "definition": "Setting up single sign-on.",
            "parent": "onboarding_clarity",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]
    page = c.get(r.headers["location"]).text
    assert "Added sso_setup (version 2)" in page and 'id="code-sso_setup"' in page
    r = c.post(
        "/codebook/rename",
        data={"csrf_token": token, "old": "sso_setup", "new": "sso_config", "name": "SSO config"},
    )
    assert r.status_code == 200 and 'id="code-sso_config"' in r.text
    assert 'id="code-sso_setup"' not in r.text
    data = {
        "csrf_token": token,
        "code_id": "login_help",
        "definition": "Help logging in.",
        "parent": "onboarding_clarity",
    }
    assert c.post("/codebook/add", data=data).status_code == 200
    r = c.post(
        "/codebook/merge",
        data={"csrf_token": token, "sources": ["sso_config", "login_help"], "into": "access"},
    )
    assert r.status_code == 200, r.text[:500]
    lineage = re.search(r'<section class="card" id="lineage".*?</section>', r.text, re.S).group(0)
    assert re.search(r"<td>rename</td><td>sso_setup</td><td>sso_config</td>", lineage)
    assert re.search(r"<td>merge</td><td>sso_config, login_help</td><td>access</td>", lineage)
    assert "access" in web.settings.codebook_path.read_text(encoding="utf-8")
    actions = audit_actions(web)
    assert {"codebook_add", "codebook_rename", "codebook_merge"} <= set(actions)
    bad = c.post("/codebook/rename", data={"csrf_token": token, "old": "nope", "new": "x"})
    assert bad.status_code in (404, 422) and "<html" in bad.text


def test_codebook_forms_refuse_a_missing_token_and_roles_other_than_admin(web) -> None:
    data = {"code_id": "sso_setup", "definition": "Setting up single sign-on."}
    token = as_role(web, "admin")
    assert 'action="/codebook/add"' in web.client.get("/codebook").text
    r = web.client.post("/codebook/add", data=data, follow_redirects=False)
    assert r.status_code == 403 and "security token" in r.text
    r = web.client.post("/codebook/add", data={**data, "csrf_token": "stale"})
    assert r.status_code == 403
    for role in ("reviewer", "analyst", "ingest"):
        token = as_role(web, role)
        assert 'action="/codebook/add"' not in web.client.get("/codebook").text
        r = web.client.post("/codebook/add", data={**data, "csrf_token": token})
        assert r.status_code == 403, role
        merge = {"csrf_token": token, "sources": ["a", "b"], "into": "c"}
        assert web.client.post("/codebook/merge", data=merge).status_code == 403
    assert "sso_setup" not in web.settings.codebook_path.read_text(encoding="utf-8")


def _add_themes(web) -> dict[str, int]:
    """Two active themes and one proposal on acme's units, and one theme of project other."""
    engine = make_engine(web.settings.db_url)
    rng = np.random.default_rng(0)
    ids = {}
    with session_factory(engine).begin() as s:
        projects = dict(s.execute(select(ProjectRecord.slug, ProjectRecord.id)).all())
        units = list(s.scalars(select(UnitRecord.id).order_by(UnitRecord.id)))
        for i, (name, status, slug) in enumerate(
            [
                ("billing", "active", "acme"),
                ("pricing", "active", "acme"),
                ("sso", "proposed", "acme"),
                ("theirs", "active", "other"),
            ]
        ):
            vector = rng.normal(size=768).astype(np.float32)
            theme = ThemeRecord(
                label=name,
                keywords=[name],
                quotes=[],
                centroid=centroid_bytes(vector / np.linalg.norm(vector)),
                status=status,
                version=1,
                project_id=projects[slug],
            )
            s.add(theme)
            s.flush()
            if slug == "acme":
                s.add_all(
                    UnitThemeRecord(unit_id=u, theme_id=theme.id, score=0.9, rank=1)
                    for u in units[2 * i : 2 * i + 2]
                )
            ids[name] = theme.id
        lineage = current_lineage(s)  # discovery records its themes' creation; so do we
        codes = tuple(f"theme:{t}" for t in ids.values())
        record_events(s, lineage, [stamped(LineageEvent("create", (), codes, lineage.version + 1))])
    engine.dispose()
    return ids


def test_themes_accept_rename_and_merge_from_the_page(web) -> None:
    ids = _add_themes(web)
    token = as_role(web, "analyst")
    c = web.client
    page = c.get("/themes").text
    assert f'action="/themes/{ids["sso"]}/accept"' in page
    assert f'action="/themes/{ids["billing"]}/accept"' not in page  # active: nothing to accept
    assert page.count('<svg class="spark"') >= 2  # a monthly trend per dated theme
    r = c.post(f"/themes/{ids['sso']}/accept", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert "sso (active)" in c.get(r.headers["location"]).text
    r = c.post(f"/themes/{ids['billing']}/rename", data={"csrf_token": token, "label": "invoices"})
    assert r.status_code == 200 and "invoices" in r.text
    r = c.post(
        "/themes/merge",
        data={"csrf_token": token, "theme_ids": [ids["billing"], ids["pricing"]], "label": "money"},
    )
    assert r.status_code == 200, re.search(r'role="alert">(.*?)<', r.text).group(1)
    assert f"Merged into theme {ids['billing']}: money" in r.text
    again = c.post(f"/themes/{ids['sso']}/accept", data={"csrf_token": token})
    assert again.status_code == 409  # already active
    assert (
        c.post(
            f"/themes/{ids['theirs']}/rename", data={"csrf_token": token, "label": "x"}
        ).status_code
        == 404
    )
    actions = audit_actions(web)
    assert {"theme_accept", "theme_rename", "theme_merge"} <= set(actions)
    r = c.post(f"/themes/{ids['pricing']}/reject", data={}, follow_redirects=False)
    assert r.status_code == 403
    token = as_role(web, "reviewer")
    assert f'action="/themes/{ids["billing"]}/rename"' not in c.get("/themes").text
    r = c.post(f"/themes/{ids['billing']}/rename", data={"csrf_token": token, "label": "y"})
    assert r.status_code == 403


def test_custom_codes_are_added_and_removed_on_the_review_screen(web) -> None:
    token = as_role(web, "admin")
    data = {
        "csrf_token": token,
        "code_id": "sso_setup",
        "definition": "Setting up SSO.",
        "owner": "identity team",
    }
    assert web.client.post("/codebook/add", data=data).status_code == 200
    token = as_role(web, "reviewer")
    c = web.client
    page = c.get("/review").text
    unit = int(re.search(r'data-unit="(\d+)"', page).group(1))
    assert "This unit carries no custom code" in page and '<option value="sso_setup">' in page
    add = {"csrf_token": token, "code": "sso_setup", "polarity": "risk"}
    r = c.post(f"/review/units/{unit}/custom", data=add, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(f"/review?unit={unit}")
    page = c.get(f"/review?unit={unit}").text
    found = re.search(
        rf'action="/review/units/{unit}/custom/(\d+)/remove".*?name="version" value="(\d+)"',
        page,
        re.S,
    )
    assert found and "Sso setup" in page
    sid, version = found.groups()
    remove = f"/review/units/{unit}/custom/{sid}/remove"
    assert c.post(remove, data={"version": version}).status_code == 403  # no token
    r = c.post(remove, data={"csrf_token": token, "version": version}, follow_redirects=False)
    assert r.status_code == 303
    assert "This unit carries no custom code" in c.get(f"/review?unit={unit}").text
    assert c.post(remove, data={"csrf_token": token, "version": version}).status_code == 409
    assert c.post(f"/review/units/{unit}/custom", data=add).status_code == 200  # on again
    assert "This unit carries no custom code" not in c.get(f"/review?unit={unit}").text
    twice = c.post(f"/review/units/{unit}/custom", data=add)  # the same again: one tag
    assert twice.status_code == 200 and twice.text.count('class="tag">Sso setup') == 1
    other = c.post(f"/review/units/{unit}/custom", data={**add, "polarity": "positive"})
    assert other.status_code == 409 and "already carries &#39;sso_setup&#39; as risk" in _alert(
        other
    )
    bad = {**add, "code": "pricing_perception"}  # a bucket is not a custom code
    assert c.post(f"/review/units/{unit}/custom", data=bad).status_code == 422
    assert c.post(f"/review/units/{unit}/custom", data={**add, "csrf_token": ""}).status_code == 403
    actions = audit_actions(web)
    assert actions.count("remove") == 1 and actions.count("add") >= 2
    token = as_role(web, "analyst")
    assert (
        c.post(f"/review/units/{unit}/custom", data={**add, "csrf_token": token}).status_code == 403
    )


def _alert(r) -> str:
    """The error page's message; fails on anything but an HTML error page."""
    assert 400 <= r.status_code < 500, r.status_code
    assert r.headers["content-type"].startswith("text/html"), r.headers["content-type"]
    assert "<html" in r.text and '"error":' not in r.text
    found = re.search(r'<p class="error" role="alert">(.*?)</p>', r.text, re.S)
    assert found, r.text[:500]
    return found.group(1)


def test_bad_input_on_the_code_forms_renders_the_error_page_not_json(web) -> None:
    token = as_role(web, "admin")
    c = web.client
    add = {"csrf_token": token, "code_id": "sso_setup", "definition": "SSO.", "owner": "it"}
    bad_add = [
        ({"code_id": "SSO-Setup"}, "code_id: must start with a lower-case letter"),
        ({"code_id": ""}, "code_id: is required"),
        ({"definition": ""}, "definition: is required"),
        ({"parent": "nope", "owner": ""}, "nope"),  # a library error, as before
    ]
    for change, message in bad_add:
        r = c.post("/codebook/add", data={**add, **change})
        assert r.status_code == 422 and message in _alert(r), change
    r = c.post("/codebook/rename", data={"csrf_token": token, "old": "x", "new": "Bad Id"})
    assert r.status_code == 422 and "new: must start with a lower-case letter" in _alert(r)
    assert "sso_setup" not in web.settings.codebook_path.read_text(encoding="utf-8")
    token = as_role(web, "reviewer")
    unit = int(re.search(r'data-unit="(\d+)"', c.get("/review").text).group(1))
    custom = {"csrf_token": token, "code": "sso_setup", "polarity": "scary"}
    r = c.post(f"/review/units/{unit}/custom", data=custom)
    assert r.status_code == 422 and "polarity: Input should be" in _alert(r)
    r = c.post(f"/review/units/{unit}/custom", data={**custom, "code": "", "polarity": "risk"})
    assert r.status_code == 422 and "code: is required" in _alert(r)
    as_role(web, "analyst")
    assert "bucket: Input should be" in _alert(c.get("/analytics?bucket=nope"))
    # the API keeps its JSON error body
    r = c.get("/v1/analytics/timeseries?weighted=maybe", headers=web.h("analyst"))
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"


def test_agreement_on_one_unit_shows_no_interval(api) -> None:
    r = api.client.patch("/v1/project", headers=api.h(), json={"double_coding_share": 1.0})
    assert r.status_code == 200
    api.ingest([{"external_id": "T-1", "text": "The invoice doubled without warning."}])
    for role, label in (("reviewer", "risk"), ("reviewer2", "positive")):
        unit = api.client.get("/v1/blind/next", headers=api.h(role)).json()["unit_id"]
        labels = {"labels": {"pricing_perception": label}}
        r = api.client.post(f"/v1/blind/{unit}", headers=api.h(role), json=labels)
        assert r.status_code == 201, r.text
        assert api.client.get("/v1/blind/next", headers=api.h(role)).status_code == 204
    report = api.client.get("/v1/agreement", headers=api.h("analyst")).json()
    pricing = report["human_human"]["pricing_perception"]
    assert pricing["n"] == 1 and pricing["alpha"]["value"] == 0.0
    for k in ("alpha", "kappa", "ac1"):
        assert pricing[k]["low"] is None and pricing[k]["high"] is None, k
    api.client.cookies.clear()
    sign_in(api.client, api.keys["analyst"])
    page = api.client.get("/analytics").text
    row = re.search(r'<th scope="row">Pricing perception</th>(.*?)</tr>', page, re.S).group(1)
    assert "[0.00, 0.00]" not in row and "[interval n/a]" in row and "n=1" in row
