"""The seized-item admin actions start transitions by making requests, never by editing state."""

from __future__ import annotations

import pytest
from django.urls import reverse

from intake.models import ItemState
from intake.transitions import CANCEL, FORFEIT
from reserve.models import ApprovalRequest

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:intake_seizeditem_changelist"


def propose_url(item, slug):
    return reverse("admin:intake_seizeditem_propose_row", args=[item.pk, slug])


def test_the_forfeiture_action_leads_to_a_form_that_makes_the_request(client, team, in_custody, final_order):
    item = in_custody()
    verdict = final_order()
    client.force_login(team.maker)
    response = client.post(reverse(CHANGELIST), {"action": "propose_forfeit", "_selected_action": [item.pk]})
    assert response.status_code == 302 and response.url == propose_url(item, "forfeit")

    page = client.get(response.url)
    assert page.status_code == 200 and verdict.number in page.content.decode()

    made = client.post(
        propose_url(item, "forfeit"), {"order": verdict.pk, "amount": "0.1", "comment": "Verdict"}
    )
    assert made.status_code == 302, made.content.decode()[:2000]
    request = ApprovalRequest.objects.get(kind=FORFEIT)
    assert request.maker == team.maker and request.payload["amount"] == "0.10000000"
    item.refresh_from_db()
    assert item.state == ItemState.IN_CUSTODY  # nothing changes before the approvals


def test_the_engine_refusal_is_shown_on_the_form(client, team, in_custody, final_order):
    item = in_custody()
    under_appeal = final_order(appeal_lodged=True)
    client.force_login(team.maker)
    page = client.post(propose_url(item, "forfeit"), {"order": under_appeal.pk})
    assert page.status_code == 200
    assert "appellate ruling" in page.content.decode()
    assert not ApprovalRequest.objects.filter(kind=FORFEIT).exists()


def test_cancellation_needs_a_reason_and_applies_only_before_custody(client, team, register, in_custody):
    client.force_login(team.maker)
    item = register()
    page = client.post(propose_url(item, "cancel"), {"reason": ""})
    assert page.status_code == 200 and not ApprovalRequest.objects.filter(kind=CANCEL).exists()
    made = client.post(propose_url(item, "cancel"), {"reason": "Order withdrawn"})
    assert made.status_code == 302
    assert ApprovalRequest.objects.get(kind=CANCEL).payload["reason"] == "Order withdrawn"

    held = in_custody(txid="cd" * 32)
    response = client.get(propose_url(held, "cancel"))
    assert response.status_code == 302  # does not apply to an item in custody


def test_a_split_item_page_links_its_parts(client, team, root, in_custody, final_order, approve):
    from intake.transitions import request_forfeiture

    item = in_custody()
    request = request_forfeiture(item=item, order=final_order(), amount="0.1", maker=team.maker)
    approve(request, team.board1)
    approve(request, team.board2)
    part = item.parts.order_by("id").first()
    client.force_login(root)
    page = client.get(reverse("admin:intake_seizeditem_change", args=[item.pk])).content.decode()
    assert reverse("admin:intake_seizeditem_change", args=[part.pk]) in page and "0.10000000" in page
    part_page = client.get(reverse("admin:intake_seizeditem_change", args=[part.pk])).content.decode()
    assert reverse("admin:intake_seizeditem_change", args=[item.pk]) in part_page


def test_the_custody_intake_action_makes_the_request_and_refuses_an_unexplained_discrepancy(
    client, team, register, approve
):
    from intake.transitions import TAKE_INTO_CUSTODY

    item = register()
    client.force_login(team.maker)
    form = client.get(propose_url(item, "custody-intake"))
    assert form.status_code == 200 and "0.50000000" in form.content.decode()

    refused = client.post(
        propose_url(item, "custody-intake"), {"received_amount": "0.49", "evidence": "Statement"}
    )
    assert refused.status_code == 200 and "Unexplained discrepancy" in refused.content.decode()
    assert not ApprovalRequest.objects.filter(kind=TAKE_INTO_CUSTODY).exists()

    body = {"received_amount": "0.5", "evidence": "Exchange statement 14/2026", "submission": "once"}
    assert client.post(propose_url(item, "custody-intake"), body).status_code == 302
    assert client.post(propose_url(item, "custody-intake"), body).status_code == 302  # double click
    request = ApprovalRequest.objects.get(kind=TAKE_INTO_CUSTODY)
    item.refresh_from_db()
    assert item.state == ItemState.REGISTERED  # nothing changes before the approval
    approve(request, team.custody1)
    item.refresh_from_db()
    assert item.state == ItemState.IN_CUSTODY and item.received_amount == 50_000_000


def test_the_transfer_started_action_moves_registered_items_only(client, team, register, in_custody, clerk):
    clerk.is_staff = True
    clerk.save()
    waiting = register()
    held = in_custody(txid="cd" * 32)
    client.force_login(clerk)
    response = client.post(
        reverse(CHANGELIST),
        {"action": "start_transfer", "_selected_action": [waiting.pk, held.pk]},
        follow=True,
    )
    assert response.status_code == 200
    waiting.refresh_from_db()
    held.refresh_from_db()
    assert waiting.state == ItemState.TRANSFER_PENDING and held.state == ItemState.IN_CUSTODY
    assert "only a registered item" in response.content.decode()


def test_the_release_transfer_action_applies_to_released_items_and_makes_the_request(
    client, team, in_custody, released
):
    from intake.transitions import RELEASE_TRANSFER

    client.force_login(team.maker)
    held = in_custody(txid="ef" * 32)
    assert client.get(propose_url(held, "release-transfer")).status_code in (302, 403, 404)

    item = released()
    form = client.get(propose_url(item, "release-transfer")).content.decode()
    assert (
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4" in form and "0.50000000 BTC" in form
    )  # what was pinned
    page = client.post(propose_url(item, "release-transfer"), {"txid": "cd" * 32, "sent_amount": "0.5"})
    assert page.status_code == 200  # offline: the evidence is required, shown on the form
    assert not ApprovalRequest.objects.filter(kind=RELEASE_TRANSFER).exists()

    made = client.post(
        propose_url(item, "release-transfer"),
        {"txid": "cd" * 32, "sent_amount": "0.4999", "evidence": "Signed transaction record"},
    )
    assert made.status_code == 302, made.content.decode()[:2000]
    request = ApprovalRequest.objects.get(kind=RELEASE_TRANSFER)
    assert request.maker == team.maker and request.payload["sent_amount"] == "0.49990000"
    item.refresh_from_db()
    assert item.state == ItemState.RELEASED
