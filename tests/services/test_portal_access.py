"""Portal sign-in as a use case (``services.portal.access``): invitations stored hashed, expiring and
revocable; sessions server-side, never outliving their invitation; the head's secret compared in full."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from crm_bridge.domain.model import Partner
from crm_bridge.errors import DataError, UsageError
from crm_bridge.fake import FakeClock
from crm_bridge.services.portal.access import PortalAccess, find_partner, invitation_id_of
from crm_bridge.store import Store, open_store
from crm_bridge.store.portal import PortalRepository
from crm_bridge.store.portal_schema import portal_invitations, portal_sessions

PORTAL = "bitrix24:test"
DAY = 86400


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """SQLite, and PostgreSQL when CRM_BRIDGE_TEST_PG_URL is set (the ``store_url`` fixture)."""
    with open_store(store_url) as opened:
        yield opened


def access(store: Store, clock: FakeClock, **options: object) -> PortalAccess:
    return PortalAccess(PortalRepository(store.engine), PORTAL, clock=clock, **options)  # type: ignore[arg-type]


def test_only_a_salted_hash_of_an_invitation_and_of_a_session_is_stored(store: Store) -> None:
    portal = access(store, FakeClock())
    issued = portal.invite("42")
    session = portal.sign_in_partner(issued.key)
    assert session is not None

    with store.engine.connect() as conn:
        rows = [*conn.execute(select(portal_invitations)), *conn.execute(select(portal_sessions))]
    stored = [str(v) for row in rows for v in row]
    assert len(rows) == 2
    secret = issued.key.split("_", 2)[2]
    assert not any(secret in value or session.token in value for value in stored)
    assert session.record.partner_id == "42" and invitation_id_of(issued.key) == issued.invitation_id


def test_an_invitation_expires_and_its_session_never_outlives_it(store: Store) -> None:
    clock = FakeClock()
    portal = access(store, clock, invitation_days=2, session_hours=72)
    issued = portal.invite("42")
    clock.advance(DAY)
    session = portal.sign_in_partner(issued.key)
    assert session is not None and portal.session(session.token, "partner") is not None

    clock.advance(DAY + 1)

    assert portal.session(session.token, "partner") is None  # capped at the invitation's end, not 72 h
    assert portal.sign_in_partner(issued.key) is None


def test_revoking_ends_the_sessions_signed_in_with_that_invitation_only(store: Store) -> None:
    portal = access(store, FakeClock())
    first, second = portal.invite("42"), portal.invite("42")
    one, two = portal.sign_in_partner(first.key), portal.sign_in_partner(second.key)
    assert one is not None and two is not None

    portal.revoke(first.invitation_id)

    assert portal.session(one.token, "partner") is None
    assert portal.session(two.token, "partner") is not None
    with pytest.raises(DataError) as again:
        portal.revoke(first.key)  # the whole key works as well as the id
    assert str(again.value) == (
        f"invitation {first.invitation_id}: invitation {first.invitation_id} was already revoked"
    )
    with pytest.raises(UsageError) as unknown:
        portal.revoke("nosuchid0000")
    assert str(unknown.value) == (
        "no portal invitation with id 'nosuchid0000' (see `crm-bridge partners invitations`)"
    )


def test_a_key_with_a_wrong_secret_or_unknown_id_signs_nobody_in(store: Store) -> None:
    portal = access(store, FakeClock())
    key = portal.invite("42").key
    wrong_secret = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    unknown_id = "cbp_" + "z" * 12 + key[16:]

    assert [portal.sign_in_partner(k) for k in (wrong_secret, unknown_id, "", "cbp_x", key + "x")] == [
        None
    ] * 5


def test_the_heads_secret_must_match_in_full_and_be_long_enough(store: Store) -> None:
    portal = access(store, FakeClock(), admin_token="s3cret-s3cret-s3cret")
    assert portal.sign_in_admin("s3cret-s3cret-s3cre") is None
    head = portal.sign_in_admin("s3cret-s3cret-s3cret")
    assert head is not None and portal.session(head.token, "admin") is not None
    assert portal.session(head.token, "partner") is None  # a head's session is no partner's
    assert access(store, FakeClock()).sign_in_admin("") is None  # no secret configured: the door is shut
    with pytest.raises(UsageError, match="at least 16 characters"):
        access(store, FakeClock(), admin_token="short")


def test_a_partner_is_found_by_id_or_exact_name_and_a_miss_suggests_names() -> None:
    partners = [Partner("1", "ООО Вектор"), Partner("2", "ООО Вектор Плюс"), Partner("3", "АО Орион")]

    assert find_partner(partners, "3").name == "АО Орион"
    assert find_partner(partners, "ооо вектор").crm_id == "1"
    with pytest.raises(UsageError, match=r"did you mean ООО Вектор \(id 1\), ООО Вектор Плюс \(id 2\)"):
        find_partner(partners, "Вектор")


def test_signing_out_ends_that_session_only_and_a_missing_or_overlong_token_is_ignored(store: Store) -> None:
    portal = access(store, FakeClock())
    issued = portal.invite("42")
    mine, other = portal.sign_in_partner(issued.key), portal.sign_in_partner(issued.key)
    assert mine is not None and other is not None

    portal.sign_out(None)
    portal.sign_out("")
    portal.sign_out(mine.token + "x" * 100)
    assert portal.session(mine.token, "partner") is not None
    portal.sign_out(mine.token)

    assert portal.session(mine.token, "partner") is None
    assert portal.session(other.token, "partner") is not None


def test_two_partners_of_one_name_must_be_told_apart_by_id_and_a_miss_lists_at_most_five() -> None:
    twins = [Partner("1", "ООО Вектор"), Partner("4", "ооо вектор"), Partner("3", "АО Орион")]
    with pytest.raises(UsageError) as caught:
        find_partner(twins, " ООО Вектор ")
    assert str(caught.value) == "2 partners are called 'ООО Вектор' (ids 1, 4): give the CRM id"

    with pytest.raises(UsageError) as missed:
        find_partner(twins, "Гамма")
    assert str(missed.value) == (
        "no partner 'Гамма' in the state store (a CRM id or the exact name; "
        "run `crm-bridge sync --once` first)"
    )
    many = [Partner(str(i), f"Альфа {i}") for i in range(7)]
    with pytest.raises(UsageError) as hinted:
        find_partner(many, "альфа")
    assert str(hinted.value).endswith(
        "; did you mean Альфа 0 (id 0), Альфа 1 (id 1), Альфа 2 (id 2), Альфа 3 (id 3), Альфа 4 (id 4)"
    )
    assert invitation_id_of("not a key") == ""


def test_a_session_ends_at_its_expiry_to_the_second_and_expired_ones_are_purged(store: Store) -> None:
    clock = FakeClock()
    portal = access(store, clock, session_hours=1)
    issued = portal.invite("42")
    first = portal.sign_in_partner(issued.key)
    assert first is not None
    assert portal.session(None, "partner") is None and portal.session("", "partner") is None

    clock.advance(3599)
    assert portal.session(first.token, "partner") is not None
    clock.advance(1)
    assert portal.session(first.token, "partner") is None

    clock.advance(1)
    second = portal.sign_in_partner(issued.key)  # a new session clears the expired ones
    assert second is not None
    with store.engine.connect() as conn:
        assert len(list(conn.execute(select(portal_sessions)))) == 1


def test_an_invitation_opens_until_its_expiry_to_the_second_and_records_when_it_was_last_used(
    store: Store,
) -> None:
    clock = FakeClock()
    portal = access(store, clock, invitation_days=1)
    used, unused = portal.invite("42"), portal.invite("43")
    assert (used.partner_id, unused.partner_id) == ("42", "43")
    clock.advance(DAY - 1)
    assert portal.sign_in_partner(used.key) is not None
    last_used = {i.invitation_id: (i.label, i.last_used_at) for i in portal.invitations()}
    assert last_used == {
        used.invitation_id: ("", clock()),
        unused.invitation_id: ("", None),
    }  # no label given
    clock.advance(1)
    assert portal.verify(used.key) is None  # at its expiry to the second it opens nothing
