"""The case page: every item's court order, chain of custody and ledger trail, linked."""

from __future__ import annotations

import pytest
from django.urls import reverse

from intake.selectors import case_dossier
from intake.transitions import request_custody_intake
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_custody(team, register, approve):
    item = register()
    request = request_custody_intake(item=item, received_amount="0.5", evidence="Statement", maker=team.maker)
    approve(request, team.custody1)
    request.refresh_from_db()
    assert request.status == "executed", request.result
    item.refresh_from_db()
    return item, request


def test_the_dossier_follows_each_item_from_order_to_lots_and_entries(case, in_custody, register):
    item, request = in_custody
    waiting = register(txid="cd" * 32)

    dossier = case_dossier(case=case)

    assert [order.number for order in dossier.orders] == ["A-1"]
    trails = {trail.item.pk: trail for trail in dossier.items}
    assert set(trails) == {item.pk, waiting.pk}
    custody = trails[item.pk]
    assert [event.action for event in custody.events] == ["intake.item.registered", "intake.item.in_custody"]
    assert [lot.amount for lot in custody.lots] == [50_000_000]
    assert [entry.number for entry in custody.entries] == [request.result["entry"]]
    assert custody.entries[0].request_pk == request.pk
    assert trails[waiting.pk].lots == [] and trails[waiting.pk].entries == []


def test_the_page_links_order_events_lots_entries_and_request(
    client, case, in_custody, django_assert_max_num_queries
):
    item, request = in_custody
    client.force_login(UserFactory(username="reader", roles=["Custody officer"]))

    with django_assert_max_num_queries(30):
        page = client.get(reverse("intake:case", args=[case.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    order = item.order
    lot = item_lot = case_dossier(case=case).items[0].lots[0]
    assert lot is item_lot
    for url in (
        reverse("admin:intake_courtorder_change", args=[order.pk]),
        reverse("admin:intake_seizeditem_change", args=[item.pk]),
        reverse("admin:reserve_lot_change", args=[lot.pk]),
        reverse("admin:reserve_journalentry_change", args=[lot.opened_by.entry.pk]),
        reverse("workflow:request", args=[request.pk]),
    ):
        assert f'href="{url}"' in html, url
    assert request.result["entry"] in html and "0.50000000" in html


def test_readers_without_intake_access_are_refused(client, case):
    client.force_login(UserFactory(username="miner", roles=["Mining clerk"]))
    assert client.get(reverse("intake:case", args=[case.pk])).status_code == 403
    client.logout()
    assert client.get(reverse("intake:case", args=[case.pk])).status_code == 302


def test_the_case_admin_links_to_the_case_page(client, case, clerk):
    clerk.is_staff = True
    clerk.save()
    client.force_login(clerk)
    page = client.get(reverse("admin:intake_case_change", args=[case.pk]))
    assert reverse("intake:case", args=[case.pk]) in page.content.decode()
