"""Sweeps of mined coins from a site's custody wallet to cold storage: ``reserve.transfer``
requests of ``reserve:mined`` that carry the lots along."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from mining.transitions import request_sweep
from reserve.audit import AuditEvent
from reserve.models import Account, Category, Lot, Network
from tests.support.factories import WalletFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cold(db):
    return WalletFactory(code="reserve-cold", name="Reserve cold storage")


def mined(wallet, asset) -> int:
    account = Account.objects.filter(wallet=wallet, category=Category.RESERVE_MINED, asset=asset).first()
    return account.balance if account else 0


def code_of(excinfo, field) -> str:
    return excinfo.value.error_dict[field][0].code


def test_a_sweep_is_a_transfer_that_carries_the_site_and_day_lots(
    team, site, posted, cold, mining_clerk, approve, asset
):
    held = mined(site.custody_wallet, asset)
    sweep = request_sweep(site=site, to_wallet=cold, amount=asset.format(held), actor=mining_clerk)
    assert sweep.kind == "reserve.transfer" and sweep.payload["category"] == Category.RESERVE_MINED
    assert "Ekibastuz DC-1" in sweep.comment and sweep.maker == mining_clerk
    event = AuditEvent.objects.get(action="mining.site.sweep_requested")
    assert event.actor == mining_clerk and event.data["request"] == sweep.pk
    approve(sweep, team.custody1)
    approve(sweep, team.custody2)
    sweep.refresh_from_db()
    assert sweep.status == "executed", sweep.result
    assert mined(site.custody_wallet, asset) == 0 and mined(cold, asset) == held

    roots = {lot.pk: lot for lot in Lot.objects.filter(account__wallet=site.custody_wallet, parent=None)}
    carried = list(Lot.objects.filter(account__wallet=cold, remaining__gt=0).order_by("origin_label"))
    assert len(carried) == 7
    assert all(lot.root_id in roots for lot in carried)
    assert [lot.origin_label for lot in carried] == sorted(roots[lot.root_id].origin_label for lot in carried)
    assert carried[0].origin_label == "Ekibastuz DC-1 / 2019-01-14"


def test_a_partial_sweep_takes_the_oldest_days_first(team, site, posted, cold, mining_clerk, approve, asset):
    first_day = Lot.objects.get(origin_label="Ekibastuz DC-1 / 2019-01-14", parent=None)
    sweep = request_sweep(
        site=site, to_wallet=cold, amount=asset.format(first_day.amount), actor=mining_clerk
    )
    approve(sweep, team.custody1)
    approve(sweep, team.custody2)
    moved = Lot.objects.get(account__wallet=cold)
    assert moved.root_id == first_day.pk and moved.amount == first_day.amount


def test_sweeping_more_than_the_site_holds_is_refused(site, posted, cold, mining_clerk, asset):
    held = mined(site.custody_wallet, asset)
    with pytest.raises(ValidationError) as excinfo:
        request_sweep(site=site, to_wallet=cold, amount=asset.format(held + 1), actor=mining_clerk)
    assert code_of(excinfo, "amount") == "exceeds_mined"
    assert asset.format(held) in str(excinfo.value)


def test_sweeping_before_anything_is_posted_is_refused(team, site, cold, mining_clerk, asset):
    with pytest.raises(ValidationError) as excinfo:
        request_sweep(site=site, to_wallet=cold, amount="0.1", actor=mining_clerk)
    assert code_of(excinfo, "amount") == "exceeds_mined"


def test_a_wallet_on_another_network_is_refused(site, posted, mining_clerk):
    ether = WalletFactory(code="eth-cold", network=Network.ETHEREUM)
    with pytest.raises(ValidationError) as excinfo:
        request_sweep(site=site, to_wallet=ether, amount="0.1", actor=mining_clerk)
    assert code_of(excinfo, "to_wallet") == "other_network"


def test_sweeping_to_the_site_wallet_itself_is_refused(site, posted, mining_clerk):
    with pytest.raises(ValidationError) as excinfo:
        request_sweep(site=site, to_wallet=site.custody_wallet, amount="0.1", actor=mining_clerk)
    assert code_of(excinfo, "to_wallet") == "same_wallet"


def test_a_treasury_officer_does_not_request_sweeps_through_the_mining_service(team, site, posted, cold):
    with pytest.raises(ValidationError) as excinfo:
        request_sweep(site=site, to_wallet=cold, amount="0.1", actor=team.treasury1)
    assert code_of(excinfo, "site") == "wrong_role"
