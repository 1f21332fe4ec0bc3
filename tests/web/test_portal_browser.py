"""The partner portal and the head's dashboard in a real Chromium (Debian's package, driven by
Playwright through its executable path; see browser.py): a partner opens its personal link, registers
a lead and sees it with its stage in the CRM, looks at its tier, rewards and leaderboard; the head signs
in and approves a downgrade. Every page is photographed at desktop and phone width into the test's
folder (and /work/notes/screens when it can be written)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import LiveServer, Screens, chromium_path
from portal_world import ADMIN_TOKEN, PortalWorld

from crm_bridge.store.tier_moves import TierPendingRepository


@pytest.fixture(scope="module")
def server(world: PortalWorld) -> Iterator[LiveServer]:
    live = LiveServer(world.web).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU")
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture
def screens(tmp_path: Path) -> Screens:
    return Screens(tmp_path / "screens")


def test_a_partner_signs_in_by_its_link_registers_a_lead_and_sees_it_with_its_stage(
    world: PortalWorld, server: LiveServer, page: Any, screens: Screens
) -> None:
    partner = max(
        world.partners(),
        key=lambda p: len(list(world.app.store.leads(world.app.portal, partner_id=p.crm_id))),
    )
    page.goto(f"{server.url}/portal/signin")
    screens.shoot(page, "portal-signin")

    page.goto(f"{server.url}/portal/signin#{world.invite(partner.crm_id)}")
    page.wait_for_url(f"{server.url}/portal/")
    assert partner.name in page.inner_text("h1")
    screens.shoot(page, "portal-overview")

    page.click("nav.tabs >> text=Зарегистрировать лид")
    page.fill("#customer_name", "ООО «Браузер» <script>alert(1)</script>")
    page.fill("#email", "buyer@browser.example")
    page.fill("#amount", "2 400 000")
    screens.shoot(page, "portal-register")
    page.click("#register-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/portal/leads/\d+\?new=created$"))
    assert "зарегистрирован и создан в CRM" in page.inner_text("#result")
    assert page.inner_text("h1.lead-title") == "ООО «Браузер» <script>alert(1)</script>"  # shown as text
    lead_id = page.url.split("/")[-1].split("?")[0]
    screens.shoot(page, "portal-lead")

    second = world.ctx.partners.open_stages[1]
    world.move_lead(lead_id, second)  # a manager qualifies it in the CRM
    world.sync()
    page.click("nav.tabs >> text=Мои лиды")
    row = page.locator("#leads tr", has_text="ООО «Браузер»")
    assert world.ctx.partners.stage_names[second] in row.inner_text()
    screens.shoot(page, "portal-leads")

    page.click("nav.tabs >> text=Уровень")
    tier_name = world.ctx.partners.tier_names.get(partner.tier or "", "")
    assert page.inner_text("#tier-name") == tier_name
    assert page.locator("#next-tier .bar-row").count() > 0 or "высший уровень" in page.inner_text(
        "#next-tier"
    )
    screens.shoot(page, "portal-tier")

    page.click("nav.tabs >> text=Вознаграждение")
    screens.shoot(page, "portal-rewards")
    page.click("nav.tabs >> text=Рейтинг")
    assert partner.name in page.inner_text("#leaderboard tr.me")
    screens.shoot(page, "portal-leaderboard")

    page.click(".lang >> text=EN")
    assert page.inner_text("h1") == "Leaderboard"


def test_the_head_signs_in_and_approves_a_downgrade(
    world: PortalWorld, server: LiveServer, page: Any, screens: Screens
) -> None:
    partner = next(p for p in world.partners() if p.tier not in (None, "bronze"))
    pending = world.await_downgrade(partner, "bronze")
    page.goto(f"{server.url}/admin/")
    page.wait_for_url(f"{server.url}/admin/signin")
    screens.shoot(page, "admin-signin")
    page.fill("#token", ADMIN_TOKEN)
    page.click("#signin-form button[type=submit]")
    page.wait_for_url(f"{server.url}/admin/")
    assert partner.name in page.inner_text("#approvals")
    screens.shoot(page, "admin-dashboard")

    page.click(f"form[action='/admin/tiers/{pending.id}/approve'] button")
    page.wait_for_url(re.compile(rf".*/admin/\?done=approved-{pending.id}$"))

    assert partner.name in page.inner_text("#flash") and "Бронзовый" in page.inner_text("#flash")
    screens.shoot(page, "admin-approved")
    row = TierPendingRepository(world.app.store.engine).get(world.app.portal, pending.id)
    assert row is not None and row.status == "applied" and row.decided_by == "head (dashboard)"
    change = world.app.store.tier_history(world.app.portal, partner.crm_id)[-1]
    assert (change.from_tier, change.to_tier) == (partner.tier, "bronze")
    world.sync()
    assert world.ctx.partners.partner(partner.crm_id).tier == "bronze"  # pushed to the CRM, synced back
