"""``intake.release_transfer``: the released coins leave on chain to the destination the release
pinned (``released`` → ``external``, the network fee → ``fees``)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from intake.custody_chain import verify_chain
from intake.models import ChainCheck, CustodyEvent, ItemState, ReleaseTransfer
from intake.transitions import RELEASE_TRANSFER, request_release_transfer
from reserve.approvals.errors import ApprovalError
from reserve.approvals.registry import get_kind
from reserve.ledger.verification import verify_ledger
from reserve.models import Account, ApprovalRequest, Category, Lot
from tests.intake.esplora import esplora

pytestmark = pytest.mark.django_db

OWNER = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
SENT_TXID = "cd" * 32


def balance(wallet, asset, category) -> int:
    account = Account.objects.filter(wallet=wallet, category=category, asset=asset).first()
    return account.balance if account else 0


def external(asset) -> int:
    return Account.objects.get(wallet=None, category=Category.EXTERNAL, asset=asset).balance


def test_offline_the_transfer_is_recorded_with_evidence_and_the_fee_comes_from_the_released_coins(
    team, released, approve, wallet, asset
):
    item = released()
    before = external(asset)
    request = request_release_transfer(
        item=item,
        txid=SENT_TXID.upper(),
        sent_amount="0.4999",
        evidence="Signed transfer, broadcast by the custody officers; explorer printout attached.",
        maker=team.maker,
    )
    assert request.kind == RELEASE_TRANSFER and request.policy.name == "Transfer of released coins"
    assert request.payload["destination"] == OWNER and request.payload["txid"] == SENT_TXID
    kind = get_kind(RELEASE_TRANSFER)
    notices = kind.notices(kind.parse(request.payload))
    assert any("0.0001" in notice for notice in notices)  # the fee is shown to the approver
    evidence = kind.evidence(kind.parse(request.payload))
    release = CustodyEvent.objects.get(item=item, action="intake.item.released").data
    assert evidence[0]["url"] == f"/workflow/requests/{release['request']}/"
    assert any(release["order_number"] in shown["label"] for shown in evidence)

    approve(request, team.custody1)
    request.refresh_from_db()
    assert request.status == "executed", request.result
    assert balance(wallet, asset, Category.RELEASED) == 0
    assert balance(wallet, asset, Category.FEES) == 10_000
    assert external(asset) - before == 49_990_000
    record = ReleaseTransfer.objects.get(item=item)
    assert (record.sent_units, record.fee_units, record.released_units) == (49_990_000, 10_000, 50_000_000)
    assert record.entry.number == request.result["entry"]
    last = CustodyEvent.objects.filter(item=item).order_by("-sequence").first()
    assert last.action == "intake.item.release_sent" and last.data["txid"] == SENT_TXID
    assert verify_chain(item) == []
    assert verify_ledger().ok


def test_offline_without_evidence_it_is_refused(team, released):
    with pytest.raises(ValidationError) as refused:
        request_release_transfer(item=released(), txid=SENT_TXID, sent_amount="0.5", maker=team.maker)
    assert refused.value.error_dict["evidence"][0].code == "required"


def test_more_than_was_released_never_leaves(team, released):
    with pytest.raises(ValidationError) as refused:
        request_release_transfer(
            item=released(), txid=SENT_TXID, sent_amount="0.50000001", evidence="Printout", maker=team.maker
        )
    assert refused.value.error_dict["sent_amount"][0].code == "exceeds_release"


@pytest.mark.parametrize("txid", ["not-a-txid", "ab" * 31, ""])
def test_a_bad_transaction_id_is_refused(team, released, txid):
    with pytest.raises(ValidationError) as refused:
        request_release_transfer(
            item=released(), txid=txid, sent_amount="0.5", evidence="Printout", maker=team.maker
        )
    assert "txid" in refused.value.message_dict


def test_an_item_still_in_custody_has_nothing_to_send(team, in_custody):
    with pytest.raises(ValidationError) as refused:
        request_release_transfer(
            item=in_custody(), txid=SENT_TXID, sent_amount="0.5", evidence="Printout", maker=team.maker
        )
    assert "item" in refused.value.message_dict
    assert not ApprovalRequest.objects.filter(kind=RELEASE_TRANSFER).exists()


def test_the_transfer_is_recorded_once(team, released, approve):
    item = released()
    first = request_release_transfer(
        item=item, txid=SENT_TXID, sent_amount="0.5", evidence="Printout", maker=team.maker
    )
    second = request_release_transfer(
        item=item, txid="ef" * 32, sent_amount="0.5", evidence="Printout", maker=team.maker
    )
    approve(first, team.custody1)
    with pytest.raises(ValidationError) as refused:
        approve(second, team.custody2)
    assert refused.value.error_dict["item"][0].code == "already_sent"
    assert ReleaseTransfer.objects.filter(item=item).count() == 1


def test_one_payment_is_never_claimed_by_two_items(team, released, approve):
    first = released()
    second = released(txid="12" * 32)
    request = request_release_transfer(
        item=first, txid=SENT_TXID, sent_amount="0.5", evidence="Printout", maker=team.maker
    )
    approve(request, team.custody1)
    with pytest.raises(ValidationError) as refused:
        request_release_transfer(
            item=second, txid=SENT_TXID, sent_amount="0.5", evidence="Printout", maker=team.maker
        )
    assert refused.value.error_dict["txid"][0].code == "duplicate"


def test_a_partial_release_sends_only_its_part_and_takes_its_own_lots(team, released, approve, wallet, asset):
    part = released(amount="0.2")
    rest = part.parent.parts.exclude(pk=part.pk).get()
    assert rest.state == ItemState.IN_CUSTODY
    request = request_release_transfer(
        item=part, txid=SENT_TXID, sent_amount="0.2", evidence="Printout", maker=team.maker
    )
    approve(request, team.custody1)
    request.refresh_from_db()
    assert request.status == "executed", request.result
    assert balance(wallet, asset, Category.RELEASED) == 0
    assert balance(wallet, asset, Category.CUSTODY_PENDING) == 30_000_000
    released_account = Account.objects.get(wallet=wallet, category=Category.RELEASED, asset=asset)
    assert not Lot.objects.filter(account=released_account, remaining__gt=0).exists()


def test_only_intake_clerks_and_custody_officers_make_it(team, released):
    with pytest.raises(ApprovalError):
        request_release_transfer(
            item=released(), txid=SENT_TXID, sent_amount="0.5", evidence="Printout", maker=team.board1
        )


def test_the_maker_cannot_approve_it(team, released, approve):
    request = request_release_transfer(
        item=released(), txid=SENT_TXID, sent_amount="0.5", evidence="Printout", maker=team.custody1
    )
    with pytest.raises(ApprovalError):
        approve(request, team.custody1)


def test_with_a_chain_source_what_the_destination_received_is_checked_first(
    settings, team, released, approve, wallet, asset
):
    item = released()
    transports, calls = esplora(settings, pays_to=OWNER, value=49_995_000, txid=SENT_TXID)
    request = request_release_transfer(item=item, txid=SENT_TXID, maker=team.maker, transports=transports)

    check = ChainCheck.objects.get(item=item, txid=SENT_TXID)
    assert (check.paid_units, check.addresses, check.confirmations) == (49_995_000, [OWNER], 6)
    assert request.payload["chain_check"] == check.pk
    assert request.payload["sent_amount"] == "0.49995000"
    asked = len(calls)
    approve(request, team.custody1)
    assert len(calls) == asked  # the decision asks the chain nothing
    request.refresh_from_db()
    assert request.status == "executed", request.result
    assert balance(wallet, asset, Category.FEES) == 5_000


def test_with_a_chain_source_a_transaction_that_does_not_pay_the_destination_is_refused(
    settings, team, released
):
    item = released()
    transports, _calls = esplora(
        settings, pays_to="bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", value=50_000_000, txid=SENT_TXID
    )
    with pytest.raises(ValidationError) as refused:
        request_release_transfer(item=item, txid=SENT_TXID, maker=team.maker, transports=transports)
    assert "sent_amount" in refused.value.message_dict
    assert ChainCheck.objects.get(item=item, txid=SENT_TXID).paid_units == 0  # the observation is kept


def test_with_a_chain_source_a_stated_amount_other_than_the_chains_is_refused(settings, team, released):
    item = released()
    transports, _calls = esplora(settings, pays_to=OWNER, value=49_995_000, txid=SENT_TXID)
    with pytest.raises(ValidationError) as refused:
        request_release_transfer(
            item=item, txid=SENT_TXID, sent_amount="0.5", maker=team.maker, transports=transports
        )
    assert refused.value.error_dict["sent_amount"][0].code == "not_paid"


def test_with_a_chain_source_too_few_confirmations_are_refused(settings, team, released):
    item = released()
    transports, _calls = esplora(
        settings, pays_to=OWNER, value=50_000_000, txid=SENT_TXID, height=840_004, tip=840_005
    )
    with pytest.raises(ValidationError) as refused:
        request_release_transfer(item=item, txid=SENT_TXID, maker=team.maker, transports=transports)
    assert refused.value.error_dict["chain_check"][0].code == "unconfirmed"


def test_the_case_page_shows_the_transfer_beside_its_entry(client, team, released, approve):
    from django.urls import reverse

    from intake.selectors import case_dossier

    item = released()
    request = request_release_transfer(
        item=item, txid=SENT_TXID, sent_amount="0.4999", evidence="Printout", maker=team.maker
    )
    approve(request, team.custody1)
    request.refresh_from_db()
    trail = next(t for t in case_dossier(case=item.order.case).items if t.item.pk == item.pk)
    assert trail.transfer.txid == SENT_TXID
    assert request.result["entry"] in [entry.number for entry in trail.entries]

    client.force_login(team.custody2)
    html = client.get(reverse("intake:case", args=[item.order.case_id])).content.decode()
    assert SENT_TXID in html and OWNER in html and "0.00010000" in html


def test_a_maker_without_the_role_is_refused_before_the_chain_is_asked(settings, team, released):
    item = released()
    esplora(settings, pays_to=OWNER, value=50_000_000, txid=SENT_TXID)  # configured, never reached
    with pytest.raises(ApprovalError):
        request_release_transfer(item=item, txid=SENT_TXID, maker=team.board1)
    assert not ChainCheck.objects.filter(txid=SENT_TXID).exists()
