"""Intake's sample data, contributed to reserve's ``load_sample_data`` through its
registration point: a realistic pipeline, idempotent, consistent with the ledger."""

from io import StringIO

import pytest
from django.core.management import call_command

from intake.models import Case, Court, CourtOrder, CustodyEvent, ItemState, OrderKind, Party, SeizedItem
from intake.transitions import FORFEIT
from reserve.amounts import ExactSum
from reserve.approvals.services import requests_awaiting
from reserve.ledger.services import get_account
from reserve.ledger.verification import verify_ledger
from reserve.models import (
    ApprovalRequest,
    Asset,
    AuditEvent,
    Category,
    JournalEntry,
    Lot,
    RequestStatus,
    Wallet,
)
from reserve.sample_data import registered_sample_data

pytestmark = pytest.mark.django_db


def load_sample_data() -> str:
    out = StringIO()
    call_command("load_sample_data", stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    models = (Court, Case, Party, CourtOrder, SeizedItem, CustodyEvent, ApprovalRequest, JournalEntry, Lot)
    return {model.__name__: model.objects.count() for model in (*models, AuditEvent)}


def test_intake_registers_its_sample_data_with_reserve():
    assert "intake" in [label for label, _loader in registered_sample_data()]


def test_loading_the_sample_data_twice_changes_nothing():
    load_sample_data()
    first = counts()

    output = load_sample_data()

    assert counts() == first
    assert "nothing changed" in output


def test_the_sample_pipeline_has_an_item_in_every_state_a_service_reaches():
    load_sample_data()

    states = set(SeizedItem.objects.values_list("state", flat=True))
    assert set(ItemState.values) <= states


def test_the_sample_discrepancy_is_recorded_and_explained():
    load_sample_data()

    item = SeizedItem.objects.get(claimed_amount=150_000_000)
    assert item.state == ItemState.IN_CUSTODY
    assert item.received_amount == 149_990_000
    assert "network fee" in item.discrepancy_explanation


def test_the_sample_split_parts_sum_to_their_parent():
    load_sample_data()

    parent = SeizedItem.objects.get(state=ItemState.SPLIT)
    parts = {part.state: part.received_amount for part in parent.parts.all()}
    assert parts == {ItemState.FORFEITED: 120_000_000, ItemState.IN_CUSTODY: 80_000_000}
    assert sum(parts.values()) == parent.received_amount


def test_the_sample_restricted_eth_item_is_forfeited_into_restricted():
    load_sample_data()

    item = SeizedItem.objects.get(restriction="no_sale")
    assert (item.asset.symbol, item.state) == ("ETH", ItemState.FORFEITED)
    account = get_account(wallet=item.custody_wallet, category=Category.RESTRICTED, asset=item.asset)
    assert account.balance == item.received_amount


def test_the_sample_release_went_to_the_victims_address():
    load_sample_data()

    item = SeizedItem.objects.get(state=ItemState.RELEASED)
    request = ApprovalRequest.objects.get(kind="intake.release", payload__item=item.pk)
    assert request.status == RequestStatus.EXECUTED
    assert request.payload["destination"] == "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"


def test_a_sample_forfeiture_waits_in_both_board_members_inboxes():
    load_sample_data()
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    for username in ("board_member", "board_member_2"):
        waiting = [r.kind for r in requests_awaiting(users.get(username=username))]
        assert FORFEIT in waiting, username


def test_the_sample_orders_include_a_verdict_in_force_and_one_whose_appeal_term_runs():
    load_sample_data()
    from django.utils import timezone

    today = timezone.localdate()
    verdicts = CourtOrder.objects.filter(kind=OrderKind.CONFISCATION)
    assert any(v.in_force_on and v.appeal_deadline < today for v in verdicts)
    assert any(v.in_force_on is None and v.appeal_deadline >= today for v in verdicts)
    assert CourtOrder.objects.filter(kind=OrderKind.RELEASE).exists()
    assert CourtOrder.objects.filter(document__content_type="application/pdf").exists()


def test_custody_pending_at_each_sample_intake_wallet_is_exactly_its_items_in_custody():
    load_sample_data()

    wallets = Wallet.objects.filter(pk__in=SeizedItem.objects.values("custody_wallet"))
    assert wallets.count() == 2
    for wallet in wallets:
        for asset in Asset.objects.filter(network=wallet.network):
            in_custody = SeizedItem.objects.filter(
                custody_wallet=wallet, asset=asset, state=ItemState.IN_CUSTODY
            ).aggregate(total=ExactSum("received_amount"))["total"]
            account = get_account(wallet=wallet, category=Category.CUSTODY_PENDING, asset=asset)
            assert account.balance == (in_custody or 0), wallet.code


def test_the_ledger_and_every_custody_chain_verify_after_the_sample_data():
    load_sample_data()

    assert verify_ledger().ok
    out = StringIO()
    call_command("verify_custody_chains", stdout=out)
    assert "none is broken" in out.getvalue()
