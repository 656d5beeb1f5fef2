"""Observations of the chain and reconciliation with the ledger: every difference recorded for a
person to explain, one base unit included; nothing adjusted."""

import datetime as dt

import httpx
import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from reserve.chain.services import explain_difference, observe_wallets, reconcile, record_observation
from reserve.models import Account, AuditEvent, ChainObservation, ReconciliationDifference
from tests.support.factories import UserFactory, WalletAddressFactory, eth


@pytest.fixture
def clerk(db):
    return UserFactory(username="chain-clerk")


def observe(wallet, asset, balance, clerk, minutes_ago=1):
    return record_observation(
        wallet=wallet,
        asset=asset,
        balance=balance,
        observed_at=timezone.now() - dt.timedelta(minutes=minutes_ago),
        actor=clerk,
        evidence="Explorer page of the wallet's address, screenshot in case file",
    )


def test_a_difference_of_one_base_unit_is_found_and_kept_for_review(asset, wallet, funded, clerk):
    observe(wallet, asset, 5 * 10**8 - 1, clerk)

    found = reconcile()

    assert len(found) == 1
    difference = found[0]
    assert (difference.ledger_balance, difference.chain_balance, difference.difference) == (
        5 * 10**8,
        5 * 10**8 - 1,
        -1,
    )
    assert difference.status == "open"
    assert (
        Account.objects.get(wallet=wallet, category="reserve:forfeited").balance == 5 * 10**8
    )  # nothing fixed
    assert AuditEvent.objects.filter(action="reserve.chain.difference_found").count() == 1


def test_reconciling_twice_records_a_difference_once(asset, wallet, funded, clerk):
    observe(wallet, asset, 7, clerk)

    reconcile()
    reconcile()

    assert ReconciliationDifference.objects.count() == 1


def test_matching_balances_record_nothing(asset, wallet, funded, clerk):
    observe(wallet, asset, 5 * 10**8, clerk)

    assert reconcile() == []


def test_the_ledger_is_read_at_the_time_of_the_observation(asset, wallet, fund_in, clerk):
    fund_in(wallet, asset, 100, effective_at=timezone.now() - dt.timedelta(hours=2))
    observe(wallet, asset, 100, clerk, minutes_ago=60)
    fund_in(wallet, asset, 50, effective_at=timezone.now() - dt.timedelta(minutes=1))

    assert reconcile() == []


def test_an_explanation_closes_a_difference_and_keeps_the_figures(asset, wallet, funded, clerk):
    observe(wallet, asset, 1, clerk)
    difference = reconcile()[0]

    with pytest.raises(ValidationError):
        explain_difference(difference=difference, explanation=" ", actor=clerk)
    explained = explain_difference(
        difference=difference, explanation="Fee paid from the wallet, entry pending.", actor=clerk
    )

    assert (explained.status, explained.explained_by, explained.chain_balance) == ("explained", clerk, 1)
    with pytest.raises(ValidationError):
        explain_difference(difference=explained, explanation="again", actor=clerk)


@pytest.mark.parametrize(
    ("balance", "evidence", "field"),
    [(-1, "page", "balance"), (1.5, "page", "balance"), (1, "", "evidence")],
)
def test_a_bad_observation_is_refused_and_writes_nothing(asset, wallet, clerk, balance, evidence, field):
    with pytest.raises(ValidationError) as refused:
        record_observation(
            wallet=wallet,
            asset=asset,
            balance=balance,
            observed_at=timezone.now(),
            actor=clerk,
            evidence=evidence,
        )
    assert field in refused.value.message_dict
    assert not ChainObservation.objects.exists()


def test_an_observation_of_an_asset_of_another_network_is_refused(wallet, clerk):
    with pytest.raises(ValidationError) as refused:
        observe(wallet, eth(), 1, clerk)
    assert "asset" in refused.value.message_dict


def test_the_configured_adapter_observes_each_wallet(settings, asset, wallet):
    WalletAddressFactory(wallet=wallet, address="bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")
    settings.CHAIN_SOURCES = {"bitcoin": {"adapter": "esplora", "base_url": "http://127.0.0.1:9/api"}}

    def answer(request):
        if request.url.path.endswith("/blocks/tip/height"):
            return httpx.Response(200, text="840000")
        return httpx.Response(
            200,
            json={
                "address": "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
                "chain_stats": {
                    "funded_txo_sum": 150,
                    "spent_txo_sum": 30,
                    "funded_txo_count": 2,
                    "spent_txo_count": 1,
                    "tx_count": 3,
                },
                "mempool_stats": {
                    "funded_txo_sum": 0,
                    "spent_txo_sum": 0,
                    "funded_txo_count": 0,
                    "spent_txo_count": 0,
                    "tx_count": 0,
                },
            },
        )

    made = observe_wallets(transports={"bitcoin": httpx.MockTransport(answer)})

    assert [(o.wallet, o.balance, o.block_height, o.source) for o in made] == [
        (wallet, 120, 840000, "esplora")
    ]


def test_offline_nothing_is_asked(asset, wallet):
    WalletAddressFactory(wallet=wallet, address="bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")

    assert observe_wallets() == []


def test_the_command_reconciles_on_demand_and_fails_while_a_difference_is_open(asset, wallet, funded, clerk):
    from io import StringIO

    from django.core.management import CommandError, call_command

    observe(wallet, asset, 5 * 10**8 + 1, clerk)
    out = StringIO()
    with pytest.raises(CommandError, match="1 difference"):
        call_command("reconcile_chain", "--no-observe", stdout=out)
    assert "ledger 5.00000000" in out.getvalue() and "chain 5.00000001" in out.getvalue()

    explain_difference(
        difference=ReconciliationDifference.objects.get(), explanation="Dust sent by a stranger.", actor=clerk
    )
    call_command("reconcile_chain", "--no-observe", stdout=StringIO())
