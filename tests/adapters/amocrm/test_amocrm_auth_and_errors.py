"""amoCRM auth and failure answers through the adapter on the sandbox: the OAuth code exchanged once on
the first run, a refresh single-flight across two processes (the single-use refresh token spent once),
a wrong long-lived token, the 403 block page (no retry), 429 waited out without duplicating a write."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import amo_workers
import pytest
from amo_support import (
    MemoryKV,
    Sleeps,
    counts,
    make_adapter,
    oauth_config,
    provision,
    seed_partner,
    token_config,
)
from pydantic import SecretStr

from crm_bridge.errors import AuthError, PermissionDenied
from crm_bridge.ports import LeadDraft
from crm_bridge.sandbox.faults import FaultPlan
from crm_bridge.sandbox.server import Sandbox
from crm_bridge.store import open_store
from crm_bridge_amocrm.transport import TOKENS_KV_KEY, AmoBlocked


def test_the_authorization_code_is_exchanged_once_and_the_pair_is_stored(sandbox: Sandbox) -> None:
    kv = MemoryKV()
    first = make_adapter(oauth_config(sandbox), kv)
    users = first.list_users()
    first.close()
    again = make_adapter(oauth_config(sandbox), kv)  # a restart: the code is spent, the pair is stored
    again.list_users()
    again.close()

    assert users and kv.get(TOKENS_KV_KEY)["refresh_token"].startswith("def50200")
    assert counts(sandbox, "POST /oauth2") == {"POST /oauth2/access_token": 1}


def test_two_processes_refreshing_at_once_spend_the_refresh_token_once(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = open_store(url)
    config = oauth_config(sandbox).model_dump(mode="json")
    for key in ("client_id", "client_secret", "authorization_code"):
        config["oauth"][key] = oauth_config(sandbox).oauth.__getattribute__(key).get_secret_value()  # type: ignore[union-attr]
    from crm_bridge.ports import AdapterContext
    from crm_bridge_amocrm import build_adapter
    from crm_bridge_amocrm.config import AmoCrmConfig

    first = build_adapter(
        AmoCrmConfig.model_validate(config), AdapterContext(kv=store.kv(amo_workers.NAMESPACE))
    )
    first.list_users()  # the code exchanged, the pair stored
    first.close()
    store.close()
    sandbox.advance(86_400 + 60)  # the access token expires on amoCRM's side
    sandbox.log.clear()

    ctx = multiprocessing.get_context("spawn")
    both_ready = ctx.Barrier(2)  # each process waits for the other before it calls: no clock involved
    with ctx.Pool(2, initializer=amo_workers.start_together, initargs=(both_ready,)) as pool:
        results = pool.starmap(amo_workers.list_users_with_oauth, [(url, config)] * 2)

    assert all(seen > 0 for seen, _ in results)
    assert sorted(r for _, r in results) == [0, 1]  # one process refreshed, the other read its pair
    auth = sandbox.emulator.dump()["auth"]
    assert auth["spent_refresh_tokens"] == 1 and auth["live_refresh_tokens"] == 1
    assert counts(sandbox, "POST /oauth2") == {"POST /oauth2/access_token": 1}


def test_a_wrong_long_lived_token_fails_once_naming_the_config_key(sandbox: Sandbox) -> None:
    config = token_config(sandbox).model_copy(update={"access_token": SecretStr("not-the-token")})
    adapter = make_adapter(config, MemoryKV())

    with pytest.raises(AuthError) as caught:
        adapter.list_users()

    assert "crm.amocrm.access_token" in str(caught.value) and "not-the-token" not in str(caught.value)
    assert sandbox.request_count() == 1
    checks = adapter.check()
    assert checks[0].name == "connection" and not checks[0].ok


def test_the_403_block_page_stops_at_once_and_says_what_to_do(sandbox: Sandbox, sleeps: Sleeps) -> None:
    adapter = make_adapter(token_config(sandbox), MemoryKV(), sleeps)
    sandbox.emulator.limits.blocked_until = time.time() + 3600  # amoCRM blocked the integration

    with pytest.raises(AmoBlocked) as caught:
        adapter.list_users()
    checks = adapter.check()

    assert isinstance(caught.value, PermissionDenied)
    assert (
        "blocked" in str(caught.value) and "support" in str(caught.value) and "127.0.0.1" in str(caught.value)
    )
    assert sandbox.request_count() == 2 and sleeps.waits == []  # one request each, never retried
    assert not checks[0].ok and "blocked" in checks[0].detail


def test_429_is_waited_out_and_the_refused_array_is_sent_again_once(sandbox: Sandbox, sleeps: Sleeps) -> None:
    adapter = make_adapter(token_config(sandbox), MemoryKV(), sleeps)
    provision(adapter)
    partner = seed_partner(sandbox, adapter)
    sandbox.log.clear()
    sandbox.faults.set(FaultPlan(sequence=[0, 429, 429]))  # the lookup passes, the add is refused twice

    outcomes = adapter.create_leads([LeadDraft(f"ext-{i}", partner, f"Lead {i}") for i in range(3)])

    assert all(o.ok and o.created for o in outcomes)
    assert len(sleeps.waits) == 2
    assert counts(sandbox, "POST") == {"POST /api/v4/leads": 3}
    assert len(sandbox.emulator.dump()["leads"]) == 3
