"""The partner portal and the head's dashboard over HTTP (FastAPI's TestClient on the daemon's app with
the portal mounted, a demo network on a Bitrix24 sandbox): sign-in, isolation between partners tried
with other ids and forged cookies, CSRF, cookie flags, throttling, escaping, deal registration through
the intake service with its channel-conflict answer, and the head's approvals."""

from __future__ import annotations

import html
import re
import secrets

import pytest
from fastapi.testclient import TestClient
from portal_world import ADMIN_TOKEN, PortalWorld

from crm_bridge.sandbox.faults import FaultPlan
from crm_bridge.store.tier_moves import TierPendingRepository


def signed_in(world: PortalWorld, partner_id: str, *, base_url: str = "http://testserver") -> TestClient:
    client = TestClient(world.web, base_url=base_url)
    client.get("/portal/signin")
    answer = client.post(
        "/portal/signin",
        data={"key": world.invite(partner_id), "csrf": client.cookies.get("cb_csrf")},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/portal/"
    return client


def head(world: PortalWorld) -> TestClient:
    client = TestClient(world.web)
    client.get("/admin/signin")
    answer = client.post(
        "/admin/signin",
        data={"token": ADMIN_TOKEN, "csrf": client.cookies.get("cb_csrf")},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    return client


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match is not None
    return match.group(1)


def register(client: TestClient, **fields: str) -> tuple[int, str, str]:
    """POST the registration form as the page gives it; (status, location, body)."""
    form = client.get("/portal/register").text
    form_id = re.search(r'name="form_id" value="([^"]+)"', form)
    assert form_id is not None
    data = {"csrf": csrf_of(form), "form_id": form_id.group(1), **fields}
    answer = client.post("/portal/register", data=data, follow_redirects=False)
    return answer.status_code, answer.headers.get("location", ""), answer.text


@pytest.fixture(scope="module")
def ours_theirs(world: PortalWorld) -> tuple[str, str]:
    with_leads = [
        p for p in world.partners() if any(world.app.store.leads(world.app.portal, partner_id=p.crm_id))
    ]
    return with_leads[0].crm_id, with_leads[1].crm_id


def leads_of(world: PortalWorld, partner_id: str) -> list[str]:
    return [lead.crm_id for lead in world.app.store.leads(world.app.portal, partner_id=partner_id)]


def test_a_partner_signs_in_with_its_invitation_and_sees_its_own_leads_only(
    world: PortalWorld, ours_theirs: tuple[str, str]
) -> None:
    ours, theirs = ours_theirs
    page = signed_in(world, ours).get("/portal/leads").text

    assert all(f"/portal/leads/{lead}" in page for lead in leads_of(world, ours))
    assert not any(f'/portal/leads/{lead}"' in page for lead in leads_of(world, theirs))


def test_another_partners_lead_by_url_is_not_found_and_tells_nothing(
    world: PortalWorld, ours_theirs: tuple[str, str]
) -> None:
    ours, theirs = ours_theirs
    client = signed_in(world, ours)
    their_lead = next(world.app.store.leads(world.app.portal, partner_id=theirs))

    answer = client.get(f"/portal/leads/{their_lead.crm_id}")

    assert answer.status_code == 404
    assert their_lead.title and their_lead.title not in answer.text


def test_a_partner_id_in_the_query_changes_nothing(world: PortalWorld, ours_theirs: tuple[str, str]) -> None:
    ours, theirs = ours_theirs
    client = signed_in(world, ours)
    names = {p.crm_id: p.name for p in world.partners()}

    for path in ("/portal/", "/portal/leads", "/portal/tier", "/portal/rewards"):
        page = client.get(path, params={"partner_id": theirs, "partner": theirs}).text
        assert names[ours] in page
        assert not any(f'/portal/leads/{lead}"' in page for lead in leads_of(world, theirs))


def test_forged_or_foreign_cookies_open_nothing(world: PortalWorld, ours_theirs: tuple[str, str]) -> None:
    ours, _ = ours_theirs
    partner = signed_in(world, ours)
    admin = head(world)
    cases = {
        "random token": {"cb_portal": secrets.token_urlsafe(32)},
        "oversized": {"cb_portal": "x" * 5000},
        "the head's session as a partner's": {"cb_portal": admin.cookies.get("cb_admin") or ""},
    }
    for label, cookies in cases.items():
        client = TestClient(world.web, cookies=cookies)
        answer = client.get("/portal/leads", follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/portal/signin", label
    as_head = TestClient(world.web, cookies={"cb_admin": partner.cookies.get("cb_portal") or ""})
    assert as_head.get("/admin/", follow_redirects=False).headers["location"] == "/admin/signin"


def test_a_revoked_invitation_ends_its_sessions_and_signs_nobody_in(
    world: PortalWorld, ours_theirs: tuple[str, str]
) -> None:
    ours, _ = ours_theirs
    key = world.invite(ours)
    client = TestClient(world.web)
    client.get("/portal/signin")
    client.post("/portal/signin", data={"key": key, "csrf": client.cookies.get("cb_csrf")})
    assert client.get("/portal/leads", follow_redirects=False).status_code == 200

    world.ctx.access.revoke(key)

    assert client.get("/portal/leads", follow_redirects=False).headers["location"] == "/portal/signin"
    again = TestClient(world.web)
    again.get("/portal/signin")
    refused = again.post(
        "/portal/signin",
        data={"key": key, "csrf": again.cookies.get("cb_csrf")},
        headers={"accept-language": "en"},
    )
    assert refused.status_code == 401 and "not valid" in refused.text


def test_cookies_are_httponly_samesite_lax_and_secure_only_over_tls(
    world: PortalWorld, ours_theirs: tuple[str, str]
) -> None:
    for base, secure in (("http://testserver", False), ("https://testserver", True)):
        client = TestClient(world.web, base_url=base)
        client.get("/portal/signin")
        answer = client.post(
            "/portal/signin",
            data={"key": world.invite(ours_theirs[0]), "csrf": client.cookies.get("cb_csrf")},
            follow_redirects=False,
        )
        cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("cb_portal="))
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/portal" in cookie
        assert ("Secure" in cookie) is secure


def test_forms_without_their_csrf_token_change_nothing(
    world: PortalWorld, ours_theirs: tuple[str, str]
) -> None:
    ours, _ = ours_theirs
    client = signed_in(world, ours)
    before = len(world.app.store.intake.of_partner(world.app.portal, ours))
    form = {"customer_name": "No Token LLC", "email": "notoken@example.com", "form_id": "a" * 24}

    assert client.post("/portal/register", data=form).status_code == 403
    assert client.post("/portal/register", data={**form, "csrf": "forged"}).status_code == 403
    assert len(world.app.store.intake.of_partner(world.app.portal, ours)) == before
    signin = TestClient(world.web).post("/portal/signin", data={"key": world.invite(ours), "csrf": "x" * 30})
    assert signin.status_code == 403


def test_what_a_partner_typed_is_escaped_on_every_page(
    world: PortalWorld, ours_theirs: tuple[str, str]
) -> None:
    ours, _ = ours_theirs
    client = signed_in(world, ours)
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'

    status, location, _ = register(client, customer_name=evil, email="xss@example.com")

    assert status == 303
    for path in (location, "/portal/leads", "/portal/"):
        page = client.get(path).text
        assert "&lt;script&gt;alert(" in page
        assert "<script>alert" not in page and "<img src=x" not in page
    invalid = register(client, customer_name=evil)[2]  # no e-mail, phone or tax id: the form comes back
    assert "<script>alert" not in invalid and "&lt;script&gt;" in invalid


def test_a_lead_registered_on_the_page_is_created_once_in_the_crm_with_its_stage_after_sync(
    world: PortalWorld, ours_theirs: tuple[str, str]
) -> None:
    ours, _ = ours_theirs
    client = signed_in(world, ours)
    form = client.get("/portal/register").text
    form_id = re.search(r'name="form_id" value="([^"]+)"', form)
    assert form_id is not None
    data = {
        "csrf": csrf_of(form),
        "form_id": form_id.group(1),
        "customer_name": "ООО Ромашка",
        "email": "buyer@romashka.example",
        "amount": "1 250 000",
    }

    first = client.post("/portal/register", data=data, follow_redirects=False)
    again = client.post("/portal/register", data=data, follow_redirects=False)  # a double click

    assert first.status_code == again.status_code == 303
    lead_id = first.headers["location"].split("/")[-1].split("?")[0]
    assert again.headers["location"] == f"/portal/leads/{lead_id}?new=existing"
    # a partner lead is a deal in the lead funnel on Bitrix24 (mappings/bitrix24.yaml)
    crm_leads = [r for r in world.sandbox.emulator.dump()["records"]["deal"] if r["ID"] == lead_id]
    assert len(crm_leads) == 1
    assert "ООО Ромашка" in client.get(first.headers["location"]).text
    world.sync()
    page = client.get(f"/portal/leads/{lead_id}").text
    assert world.ctx.partners.stage_names[world.ctx.partners.open_stages[0]] in page
    assert "Sent to the CRM" not in page and "Передан в CRM" not in page


def test_registering_a_customer_another_partner_holds_shows_the_conflict_without_naming_it(
    world: PortalWorld, ours_theirs: tuple[str, str]
) -> None:
    ours, theirs = ours_theirs
    names = {p.crm_id: p.name for p in world.partners()}
    register(signed_in(world, theirs), customer_name="Contested Co", phone="+7 912 000-11-22")
    client = signed_in(world, ours)

    status, location, _ = register(client, customer_name="Contested Co again", phone="8 (912) 000 11 22")
    page = client.get(location, headers={"accept-language": "en"}).text

    assert status == 303
    assert "already belongs to another partner" in page and "Channel conflict" in page
    assert names[theirs] not in page and f"partner {theirs}" not in page


def test_field_problems_come_back_next_to_the_field_and_nothing_is_registered(
    world: PortalWorld, ours_theirs: tuple[str, str]
) -> None:
    ours, _ = ours_theirs
    client = signed_in(world, ours)
    before = len(world.app.store.intake.of_partner(world.app.portal, ours))

    status, _, page = register(client, customer_name="Typo LLC", email="not-an-email", amount="12,5,0")

    assert status == 422
    assert 'id="email-error"' in page and "is not an e-mail address" in page
    assert 'id="amount-error"' in page and 'value="Typo LLC"' in page
    assert len(world.app.store.intake.of_partner(world.app.portal, ours)) == before


def test_sign_in_is_throttled_after_repeated_wrong_keys_even_for_a_right_one(world: PortalWorld) -> None:
    client = TestClient(world.web, client=("203.0.113.7", 50000))
    client.get("/portal/signin")
    csrf = client.cookies.get("cb_csrf")
    for _ in range(10):
        assert client.post("/portal/signin", data={"key": "cbp_wrong", "csrf": csrf}).status_code == 401
    right = world.invite(world.partners()[0].crm_id)

    held = client.post("/portal/signin", data={"key": right, "csrf": csrf})

    assert held.status_code == 429 and "cb_portal" not in held.cookies
    other = TestClient(world.web, client=("203.0.113.8", 50000))  # another address is not held
    other.get("/portal/signin")
    assert (
        other.post("/portal/signin", data={"key": right, "csrf": other.cookies.get("cb_csrf")}).status_code
        == 200
    )


def test_pages_carry_a_strict_content_security_policy_and_are_not_cached(
    world: PortalWorld, ours_theirs: tuple[str, str]
) -> None:
    answer = signed_in(world, ours_theirs[0]).get("/portal/")

    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert "unsafe-inline" not in answer.headers["content-security-policy"]
    assert answer.headers["cache-control"] == "no-store"
    assert " style=" not in answer.text


def test_the_language_follows_the_switch_then_accept_language_then_the_config(
    world: PortalWorld,
) -> None:
    client = TestClient(world.web)
    assert "Вход в портал партнёра" in client.get("/portal/signin").text  # the demo config: ru
    assert (
        "Sign in to the partner portal"
        in client.get("/portal/signin", headers={"accept-language": "en-GB,en;q=0.9"}).text
    )
    client.get("/portal/lang/en?next=/portal/signin")
    assert (
        "Sign in to the partner portal"
        in client.get("/portal/signin", headers={"accept-language": "ru"}).text
    )
    assert (
        client.get("/portal/lang/ru?next=https://evil.example/", follow_redirects=False).headers["location"]
        == "/portal/"
    )


def test_the_dashboard_needs_the_heads_secret(world: PortalWorld, ours_theirs: tuple[str, str]) -> None:
    assert TestClient(world.web).get("/admin/", follow_redirects=False).headers["location"] == "/admin/signin"
    client = TestClient(world.web)
    client.get("/admin/signin")
    wrong = client.post(
        "/admin/signin", data={"token": ADMIN_TOKEN + "x", "csrf": client.cookies.get("cb_csrf")}
    )
    assert wrong.status_code == 401
    partner = signed_in(world, ours_theirs[0])
    assert partner.get("/admin/", follow_redirects=False).headers["location"] == "/admin/signin"
    page = head(world).get("/admin/", headers={"accept-language": "en"}).text
    assert "Department KPIs" in page and 'id="funnels"' in page and 'id="leaderboard"' in page


def test_the_head_rejects_a_downgrade_on_the_dashboard_through_the_tier_service(
    world: PortalWorld, ours_theirs: tuple[str, str]
) -> None:
    partner = next(p for p in world.partners() if p.crm_id == ours_theirs[1])
    row = world.await_downgrade(partner, "bronze")
    client = head(world)
    page = client.get("/admin/").text
    assert f"/admin/tiers/{row.id}/reject" in page
    assert html.escape(row.reason, quote=False) in page and "ниже уровня" in row.reason  # a Russian reason

    assert client.post(f"/admin/tiers/{row.id}/reject", data={"csrf": "forged"}).status_code == 403
    answer = client.post(
        f"/admin/tiers/{row.id}/reject", data={"csrf": csrf_of(page)}, follow_redirects=False
    )

    assert answer.headers["location"] == f"/admin/?done=rejected-{row.id}"
    stored = TierPendingRepository(world.app.store.engine).get(world.app.portal, row.id)
    assert stored is not None and stored.status == "rejected" and stored.decided_by == "head (dashboard)"
    assert client.post(f"/admin/tiers/{row.id}/reject", data={"csrf": csrf_of(page)}).status_code == 404


def test_unknown_portal_paths_get_the_portal_not_found_page(world: PortalWorld) -> None:
    answer = TestClient(world.web).get("/portal/no/such/page")
    assert answer.status_code == 404 and "text/html" in answer.headers["content-type"]


def test_tier_names_follow_the_pages_language(world: PortalWorld, ours_theirs: tuple[str, str]) -> None:
    partner = next(p for p in world.partners() if p.crm_id == ours_theirs[0])
    levels = {lv.key: lv.name for lv in world.app.settings.tiers.levels}
    client = signed_in(world, partner.crm_id)

    english = client.get("/portal/tier", headers={"accept-language": "en"}).text
    russian = client.get("/portal/tier", headers={"accept-language": "ru"}).text

    key = partner.tier or "bronze"
    assert f'id="tier-name">{levels[key].get("en")}<' in english
    assert f'id="tier-name">{levels[key].get("ru")}<' in russian


def test_a_phone_the_domain_refuses_comes_back_next_to_the_phone_field_with_the_domains_reason(
    world: PortalWorld, ours_theirs: tuple[str, str]
) -> None:
    ours, _ = ours_theirs
    client = signed_in(world, ours)
    before = len(world.app.store.intake.of_partner(world.app.portal, ours))

    status, _, page = register(client, customer_name="Short Number LLC", phone="+1234567")

    assert status == 422
    assert 'id="phone-error"' in page and "8 to 15 digits with the country code" in page
    assert 'id="customer_name-error"' not in page
    assert len(world.app.store.intake.of_partner(world.app.portal, ours)) == before


def test_the_rewards_page_words_each_statement_line_in_the_partners_language(
    world: PortalWorld, ours_theirs: tuple[str, str]
) -> None:
    ours, _ = ours_theirs
    client = signed_in(world, ours)
    found = [(p, world.ctx.partners.statement(ours, p)[0]) for p in world.ctx.partners.periods()]
    period, statement = next((p, s) for p, s in found if s is not None and s.lines)
    tier = {lv.key: lv.name for lv in world.app.settings.tiers.levels}[statement.tier or ""]

    client.get("/portal/lang/ru")
    russian = html.unescape(client.get("/portal/rewards", params={"period": period.key}).text)
    client.get("/portal/lang/en")
    english = html.unescape(client.get("/portal/rewards", params={"period": period.key}).text)

    said_ru = re.findall(r"комиссия [\d.]+% \(уровень «([^»]+)»\) по сделке ", russian)
    said_en = re.findall(r"commission [\d.]+% \(tier ([^)]+)\) on ", english)
    commissions = [line for line in statement.lines if line.kind == "commission"]
    assert commissions, "the demo partner earned commission in that period"
    assert said_ru == [tier.get("ru")] * len(commissions) and "commission" not in russian
    assert said_en == [tier.get("en")] * len(commissions) and "комиссия" not in english


def test_a_lead_the_crm_refuses_is_shown_with_the_crms_reason_once_in_the_pages_language(
    world: PortalWorld, ours_theirs: tuple[str, str]
) -> None:
    ours, _ = ours_theirs
    client = signed_in(world, ours)
    client.get("/portal/", headers={"accept-language": "ru"})
    refusal = {"every": 1, "error": "ERROR_CORE", "description": "Компания удалена"}
    world.sandbox.faults.set(FaultPlan(batch_fail=refusal))
    try:
        form = client.get("/portal/register", headers={"accept-language": "ru"}).text
        form_id = re.search(r'name="form_id" value="([^"]+)"', form)
        assert form_id is not None
        answer = client.post(
            "/portal/register",
            data={
                "csrf": csrf_of(form),
                "form_id": form_id.group(1),
                "customer_name": "Refused LLC",
                "email": "refused@example.com",
            },
            headers={"accept-language": "ru"},
        )
    finally:
        world.sandbox.faults.clear()

    assert answer.status_code == 422
    [alert] = re.findall(r'<p class="alert alert-bad"[^>]*>(.*?)</p>', answer.text)
    # the Russian sentence around the CRM's words, once: not "CRM отклонила лид: CRM refused the lead: …"
    assert html.unescape(alert) == "CRM отклонила лид: Bitrix24: Компания удалена [ERROR_CORE]"
