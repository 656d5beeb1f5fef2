"""The "new request" screen of any kind with a form, and the maker's cancel button."""

import pytest
from django.urls import reverse

from reserve.models import ApprovalRequest, AuditEvent, RequestStatus
from tests.support.factories import UserFactory
from tests.support.screens import request_url, signed_in, text


def new_request_url(slug: str) -> str:
    return reverse("workflow:new-request", args=[slug])


@pytest.fixture
def form_data(wallet, other_wallet):
    return {
        "asset": "BTC",
        "amount": "1.5",
        "from_wallet": wallet.code,
        "to_wallet": other_wallet.code,
        "category": "reserve:forfeited",
        "fee": "",
        "comment": "To the CSD account.",
        "evidence": "Memo 7/2026",
        "submission": "b" * 32,
    }


class TestNewRequest:
    def test_the_generic_screen_shows_the_kinds_form(self, team):
        response = signed_in(team.maker).get(new_request_url("transfers"))
        assert response.status_code == 200
        page = text(response)
        assert "New transfer between custody wallets" in page
        assert 'id="transfer-form"' in response.content.decode()

    def test_the_generic_screen_makes_the_request_and_lands_on_its_page(self, team, funded, form_data):
        response = signed_in(team.maker).post(new_request_url("transfers"), form_data)
        approval = ApprovalRequest.objects.get()
        assert response.status_code == 302
        assert response["Location"] == request_url(approval)
        assert approval.kind == "reserve.transfer"
        assert approval.maker == team.maker
        assert approval.payload["from_wallet"] == form_data["from_wallet"]
        assert approval.evidence == [{"label": "Memo 7/2026"}]

    def test_the_old_transfer_address_is_the_same_screen(self, team):
        assert reverse("workflow:new-transfer") == "/workflow/transfers/new/"
        assert signed_in(team.maker).get(reverse("workflow:new-transfer")).status_code == 200

    def test_an_unknown_slug_is_not_found(self, team):
        assert signed_in(team.maker).get(new_request_url("no-such-kind")).status_code == 404

    def test_a_kind_without_a_form_is_not_found(self, team):
        # Disposals are made in the admin and through the API; they have no screen here.
        assert signed_in(team.maker).get(new_request_url("disposals")).status_code == 404

    def test_people_who_may_not_propose_are_refused(self, auditor):
        assert signed_in(auditor).get(new_request_url("transfers")).status_code == 403
        assert signed_in(UserFactory()).post(new_request_url("transfers"), {}).status_code == 403

    def test_the_inbox_links_the_kinds_a_maker_may_propose(self, team, auditor):
        link = f'href="{new_request_url("transfers")}"'
        assert link in signed_in(team.maker).get(reverse("workflow:inbox")).content.decode()
        assert link not in signed_in(auditor).get(reverse("workflow:inbox")).content.decode()
        assert (
            new_request_url("disposals")
            not in signed_in(team.maker).get(reverse("workflow:inbox")).content.decode()
        )


@pytest.fixture
def pending(team, funded, form_data):
    signed_in(team.maker).post(new_request_url("transfers"), form_data)
    return ApprovalRequest.objects.get()


class TestCancel:
    def test_the_maker_sees_the_button_and_cancels(self, team, pending):
        client = signed_in(team.maker)
        page = client.get(request_url(pending)).content.decode()
        assert 'id="cancel-form"' in page
        assert f'action="{reverse("workflow:cancel", args=[pending.pk])}"' in page
        response = client.post(reverse("workflow:cancel", args=[pending.pk]))
        assert response.status_code == 302
        assert response["Location"] == request_url(pending)
        pending.refresh_from_db()
        assert pending.status == RequestStatus.CANCELLED
        assert AuditEvent.objects.filter(action="reserve.request.cancelled", actor=team.maker).exists()
        assert 'id="cancel-form"' not in client.get(request_url(pending)).content.decode()

    def test_others_do_not_see_the_button_and_their_post_is_refused(self, team, auditor, pending):
        for user in (team.custody1, auditor):
            client = signed_in(user)
            page = client.get(request_url(pending))
            assert page.status_code == 200
            assert 'id="cancel-form"' not in page.content.decode()
            assert client.post(reverse("workflow:cancel", args=[pending.pk])).status_code == 403
        assert signed_in(UserFactory()).post(reverse("workflow:cancel", args=[pending.pk])).status_code == 404
        pending.refresh_from_db()
        assert pending.status == RequestStatus.PENDING

    def test_cancel_takes_a_post_only(self, team, pending):
        assert signed_in(team.maker).get(reverse("workflow:cancel", args=[pending.pk])).status_code == 405
