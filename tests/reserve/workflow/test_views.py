"""The approvers' workflow screens: wiring of the pages to the approval engine, who sees what,
the second factor and login throttling. The engine's rules are tested in test_approvals."""

import datetime as dt
import html
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from reserve.approvals.services import create_request
from reserve.ledger.services import get_account
from reserve.models import ApprovalRequest, AuditEvent, Decision, RequestStatus
from tests.support.factories import UserFactory
from tests.support.screens import (
    current_code,
    decide_via_page,
    enrolled_device,
    request_url,
    signed_in,
    text,
    verified_client,
    wrong_code,
)

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def transfer(team, funded, wallet, other_wallet):
    return create_request(
        kind="reserve.transfer",
        payload={
            "asset": "BTC",
            "amount": "1.25",
            "from_wallet": wallet.code,
            "to_wallet": other_wallet.code,
            "category": "reserve:forfeited",
        },
        maker=team.maker,
        comment="Rebalancing cold storage.",
        evidence=[{"label": "Board memo 12/2026", "url": "https://intranet.example/memo/12"}],
    )


# Inbox


class TestInbox:
    def test_a_pending_transfer_awaits_a_custody_officer(self, team, transfer):
        page = text(signed_in(team.custody1).get(reverse("workflow:inbox")))
        awaiting = page.split("Awaiting my decision")[2].split("Made by me, open")[0]
        assert transfer.reference in awaiting

    def test_a_board_member_is_not_asked_to_decide_a_transfer(self, team, transfer):
        page = text(signed_in(team.board1).get(reverse("workflow:inbox")))
        assert transfer.reference not in page
        assert "Nothing awaits your decision." in page

    def test_the_maker_sees_their_open_request(self, team, transfer):
        page = text(signed_in(team.maker).get(reverse("workflow:inbox")))
        mine = page.split("Made by me, open")[2].split("Decided and closed")[0]
        assert transfer.reference in mine

    def test_a_request_i_approved_is_listed_with_my_decision(self, team, transfer, approve):
        approve(transfer, team.custody1)
        page = text(signed_in(team.custody1).get(reverse("workflow:inbox")))
        decided = page.split("Decided and closed")[2]
        assert transfer.reference in decided
        assert "Approve" in decided

    def test_the_inbox_needs_a_signed_in_user(self, client):
        response = client.get(reverse("workflow:inbox"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))

    def test_the_inbox_costs_the_same_number_of_queries_for_one_or_many_requests(
        self, team, funded, wallet, other_wallet, approve
    ):
        def make(maker):
            return create_request(
                kind="reserve.transfer",
                payload={
                    "asset": "BTC",
                    "amount": "0.1",
                    "from_wallet": wallet.code,
                    "to_wallet": other_wallet.code,
                    "category": "reserve:forfeited",
                },
                maker=maker,
            )

        def add_one_of_each():
            make(team.maker)  # awaiting custody1
            make(team.custody1)  # made by custody1, open
            approve(make(team.maker), team.custody1)  # decided by custody1

        client = signed_in(team.custody1)
        add_one_of_each()
        client.get(reverse("workflow:inbox"))  # warm caches (content types, sessions)
        with CaptureQueriesContext(connection) as one:
            response = client.get(reverse("workflow:inbox"))
        assert response.status_code == 200
        for _ in range(4):
            add_one_of_each()
        with CaptureQueriesContext(connection) as many:
            response = client.get(reverse("workflow:inbox"))
        assert text(response).count("REQ-") >= 15
        assert len(many) == len(one), [q["sql"] for q in many.captured_queries]


# Request page: who sees what


class TestRequestPageAccess:
    def test_an_approver_sees_the_action_its_digest_the_policy_and_the_ledger_effect(self, team, transfer):
        page = text(signed_in(team.custody1).get(request_url(transfer)))
        assert transfer.title in page
        assert "Transfer between custody wallets" in page
        assert transfer.payload_digest in page
        assert "Transfers" in page and "2 of Custody officer" in page
        assert "0/2 Custody officer" in page
        assert "cold-a / reserve:forfeited leaves 1.25000000 BTC" in page
        assert "cold-b / reserve:forfeited arrives 1.25000000 BTC" in page
        assert "Rebalancing cold storage." in page
        assert "Board memo 12/2026" in page
        assert "reserve.request.created" in page

    def test_the_maker_sees_no_buttons_and_why(self, team, transfer):
        response = signed_in(team.maker).get(request_url(transfer))
        assert response.status_code == 200
        assert 'value="approve"' not in response.content.decode()
        assert "You made this request; the maker cannot decide it." in text(response)

    def test_an_auditor_may_read_but_not_decide(self, team, transfer):
        response = signed_in(team.outsider).get(request_url(transfer))
        assert response.status_code == 200
        assert 'value="approve"' not in response.content.decode()
        assert "You are not an approver in any group this request's policy requires." in text(response)

    def test_a_user_of_no_role_gets_404(self, team, transfer):
        nobody = UserFactory(username="nobody")
        assert signed_in(nobody).get(request_url(transfer)).status_code == 404

    def test_an_approver_of_another_group_gets_404(self, team, transfer):
        assert signed_in(team.board1).get(request_url(transfer)).status_code == 404

    def test_an_integration_client_gets_404(self, team, transfer):
        client_user = UserFactory(username="court-system", roles=["Integration client"])
        assert signed_in(client_user).get(request_url(transfer)).status_code == 404

    def test_an_unverified_approver_is_sent_to_the_second_factor(self, team, transfer):
        enrolled_device(team.custody1)
        response = signed_in(team.custody1).get(request_url(transfer))
        body = response.content.decode()
        assert 'value="approve"' not in body
        assert f"{reverse('workflow:otp-verify')}?next={request_url(transfer)}" in body
        assert "Deciding this request needs your second factor." in text(response)

    def test_an_approver_without_a_device_is_sent_to_enrol(self, team, transfer):
        body = signed_in(team.custody1).get(request_url(transfer)).content.decode()
        assert f"{reverse('workflow:otp-enrol')}?next={request_url(transfer)}" in body

    def test_a_verified_approver_gets_the_form_with_the_digest(self, team, transfer):
        body = verified_client(team.custody1).get(request_url(transfer)).content.decode()
        assert 'value="approve"' in body and 'value="reject"' in body
        assert f'name="digest" value="{transfer.payload_digest}"' in body


# Request page: deciding


class TestDeciding:
    def test_two_verified_approvers_execute_a_transfer_through_the_page(
        self, team, transfer, wallet, other_wallet, asset
    ):
        first = decide_via_page(verified_client(team.custody1), transfer)
        assert first.status_code == 302
        transfer.refresh_from_db()
        assert transfer.status == RequestStatus.PENDING

        client = verified_client(team.custody2)
        response = decide_via_page(client, transfer)
        assert response.status_code == 302
        transfer.refresh_from_db()
        assert transfer.status == RequestStatus.EXECUTED
        assert (
            get_account(wallet=other_wallet, category="reserve:forfeited", asset=asset).balance == 125_000_000
        )
        assert get_account(wallet=wallet, category="reserve:forfeited", asset=asset).balance == 375_000_000
        assert Decision.objects.filter(request=transfer, via="screen", second_factor=True).count() == 2

        page = text(client.get(response["Location"]))
        assert "Your approval completed the quorum; the action was executed." in page
        assert "Posted to the ledger" in page
        assert "cold-b / Reserve: forfeited 1.25000000 BTC 1.25000000 BTC" in page
        assert "This request is approved and executed; it takes no more decisions." in page

    def test_the_maker_posting_an_approval_is_refused_and_nothing_changes(self, team, transfer):
        enrolled_device(team.maker)
        response = decide_via_page(verified_client(team.maker), transfer)
        assert response.status_code == 200
        assert "You made this request; the maker cannot decide it." in text(response)
        assert not Decision.objects.exists()
        transfer.refresh_from_db()
        assert transfer.status == RequestStatus.PENDING

    def test_an_unverified_approver_is_refused_for_want_of_a_second_factor(self, team, transfer):
        enrolled_device(team.custody1)
        response = decide_via_page(signed_in(team.custody1), transfer)
        assert response.status_code == 200
        page = text(response)
        assert "This decision needs a verified second factor." in page
        assert f"{reverse('workflow:otp-verify')}?next=" in response.content.decode()
        assert not Decision.objects.exists()

    def test_a_rejection_without_a_comment_shows_the_error(self, team, transfer):
        response = decide_via_page(verified_client(team.custody1), transfer, verdict="reject", comment="  ")
        assert response.status_code == 200
        assert "Say why you reject the request." in text(response)
        transfer.refresh_from_db()
        assert transfer.status == RequestStatus.PENDING
        assert not Decision.objects.exists()

    def test_a_rejection_with_a_comment_closes_the_request(self, team, transfer):
        client = verified_client(team.custody1)
        response = decide_via_page(
            client, transfer, verdict="reject", comment="Destination under maintenance."
        )
        assert response.status_code == 302
        transfer.refresh_from_db()
        assert transfer.status == RequestStatus.REJECTED
        page = text(client.get(request_url(transfer)))
        assert "Destination under maintenance." in page
        assert "reserve.request.rejected" in page

    def test_a_stale_digest_is_refused_with_the_request_changed_message(self, team, transfer):
        response = decide_via_page(verified_client(team.custody1), transfer, digest="0" * 64)
        assert response.status_code == 200
        assert "The request changed after you opened it (digest mismatch)." in text(response)
        assert not Decision.objects.exists()
        # The page now shows the current action, and the form carries its digest.
        assert f'name="digest" value="{transfer.payload_digest}"' in response.content.decode()

    def test_approving_twice_is_refused(self, team, transfer):
        client = verified_client(team.custody1)
        decide_via_page(client, transfer)
        response = decide_via_page(client, transfer)
        assert "You have already decided this request." in text(response)
        assert Decision.objects.count() == 1

    def test_a_request_outside_my_role_cannot_be_decided_by_posting(self, team, transfer):
        enrolled_device(team.board1)
        assert decide_via_page(verified_client(team.board1), transfer).status_code == 404
        assert not Decision.objects.exists()

    def test_a_post_without_the_csrf_token_is_refused(self, team, transfer):
        client = Client(enforce_csrf_checks=True)
        client.force_login(team.custody1)
        response = decide_via_page(client, transfer)
        assert response.status_code == 403
        assert not Decision.objects.exists()


# New transfer


class TestNewTransfer:
    @pytest.fixture
    def form_data(self, wallet, other_wallet):
        return {
            "asset": "BTC",
            "amount": "1.5",
            "from_wallet": wallet.code,
            "to_wallet": other_wallet.code,
            "category": "reserve:forfeited",
            "fee": "",
            "comment": "To the CSD account.",
            "evidence": "Memo 7/2026\nhttps://intranet.example/memo/7",
            "submission": "a" * 32,
        }

    def test_a_maker_makes_a_transfer_and_lands_on_its_page(self, team, funded, form_data):
        client = signed_in(team.maker)
        response = client.post(reverse("workflow:new-transfer"), form_data)
        approval = ApprovalRequest.objects.get()
        assert response.status_code == 302
        assert response["Location"] == request_url(approval)
        assert approval.maker == team.maker
        assert approval.payload["amount"] == "1.50000000"
        assert approval.comment == "To the CSD account."
        assert approval.evidence == [
            {"label": "Memo 7/2026"},
            {"label": "https://intranet.example/memo/7", "url": "https://intranet.example/memo/7"},
        ]

    def test_submitting_the_same_form_twice_makes_one_request(self, team, funded, form_data):
        client = signed_in(team.maker)
        first = client.post(reverse("workflow:new-transfer"), form_data)
        second = client.post(reverse("workflow:new-transfer"), form_data)
        assert first["Location"] == second["Location"]
        assert ApprovalRequest.objects.count() == 1

    @pytest.mark.parametrize(
        ("amount", "message"),
        [
            ("1e5", "Amount must be written without an exponent."),
            ("6", "cold-a holds 5.00000000 BTC in reserve:forfeited; 6.00000000 needed."),
            ("1.000000001", "This asset has 8 decimal places; the amount has 9."),
        ],
    )
    def test_bad_amounts_are_refused_on_the_amount_field(self, team, funded, form_data, amount, message):
        response = signed_in(team.maker).post(
            reverse("workflow:new-transfer"), {**form_data, "amount": amount}
        )
        assert response.status_code == 200
        errors = re.search(r'id="errors-amount">(.*?)</div>', response.content.decode(), re.S)
        assert errors is not None
        assert message in html.unescape(errors.group(1))
        assert not ApprovalRequest.objects.exists()

    def test_the_same_wallet_on_both_sides_is_refused_on_the_destination(
        self, team, funded, form_data, wallet
    ):
        response = signed_in(team.maker).post(
            reverse("workflow:new-transfer"), {**form_data, "to_wallet": wallet.code}
        )
        assert "Source and destination are the same wallet." in text(response)
        assert not ApprovalRequest.objects.exists()

    def test_a_custody_officer_may_propose(self, team):
        assert signed_in(team.custody1).get(reverse("workflow:new-transfer")).status_code == 200

    @pytest.mark.parametrize("roles", [["Auditor"], []], ids=["auditor", "no role"])
    def test_people_who_may_not_make_requests_may_not_propose(self, team, roles):
        # Who may make a request is one rule (reserve/approvals/access.py): auditors read and
        # change nothing; a signed-in person without a maker role has no business here either.
        user = UserFactory(username=f"user-{len(roles)}", roles=roles)
        assert signed_in(user).get(reverse("workflow:new-transfer")).status_code == 403


# Second factor


class TestSecondFactor:
    def test_enrolment_end_to_end(self, team, transfer):
        client = signed_in(team.custody1)
        next_url = request_url(transfer)
        verify = client.get(reverse("workflow:otp-verify"), {"next": next_url})
        assert verify.status_code == 302
        assert verify["Location"].startswith(reverse("workflow:otp-enrol"))

        page = client.get(verify["Location"])
        body = page.content.decode()
        device = TOTPDevice.objects.get(user=team.custody1)
        assert not device.confirmed
        assert "<svg" in body
        secret = re.search(r'id="otp-secret">([A-Z2-7=]+)<', body).group(1)
        from base64 import b32decode

        assert b32decode(secret) == device.bin_key
        assert client.get(verify["Location"]).status_code == 200
        assert TOTPDevice.objects.filter(user=team.custody1).count() == 1  # reused, not piled up

        response = client.post(
            reverse("workflow:otp-enrol"), {"code": current_code(device), "next": next_url}
        )
        assert response.status_code == 302
        assert response["Location"] == next_url
        device.refresh_from_db()
        assert device.confirmed
        assert AuditEvent.objects.filter(
            action="reserve.second_factor.enrolled", actor=team.custody1
        ).exists()
        assert decide_via_page(client, transfer).status_code == 302
        assert Decision.objects.get().second_factor is True

    def test_enrolling_again_is_sent_to_verification(self, team):
        enrolled_device(team.custody1)
        response = signed_in(team.custody1).get(reverse("workflow:otp-enrol"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("workflow:otp-verify"))

    def test_a_wrong_code_is_refused_and_the_next_try_is_throttled(self, team):
        device = enrolled_device(team.custody1)
        client = signed_in(team.custody1)
        response = client.post(reverse("workflow:otp-verify"), {"code": wrong_code(device)})
        assert response.status_code == 200
        assert "This code is not valid." in text(response)
        response = client.post(reverse("workflow:otp-verify"), {"code": current_code(device)})
        assert "Too many wrong codes." in text(response)
        assert client.get(reverse("workflow:inbox")).wsgi_request.user.is_verified() is False

    def test_five_wrong_codes_close_verification_for_a_minute(self, team):
        device = enrolled_device(team.custody1)
        # Five wrong codes, the last 20 s ago: django-otp's own back-off (16 s) has passed.
        TOTPDevice.objects.filter(pk=device.pk).update(
            throttling_failure_count=5, throttling_failure_timestamp=timezone.now() - dt.timedelta(seconds=20)
        )
        client = signed_in(team.custody1)
        response = client.post(reverse("workflow:otp-verify"), {"code": current_code(device)})
        assert "Too many wrong codes. Wait 41 seconds" in text(response) or "Wait 40 seconds" in text(
            response
        )
        TOTPDevice.objects.filter(pk=device.pk).update(
            throttling_failure_timestamp=timezone.now() - dt.timedelta(seconds=61)
        )
        assert client.post(reverse("workflow:otp-verify"), {"code": current_code(device)}).status_code == 302

    def test_a_code_of_the_wrong_shape_is_refused(self, team):
        enrolled_device(team.custody1)
        response = signed_in(team.custody1).post(reverse("workflow:otp-verify"), {"code": "12ab"})
        assert "Enter the 6-digit code" in text(response)

    def test_a_wrong_code_at_enrolment_is_refused(self, team):
        client = signed_in(team.custody1)
        client.get(reverse("workflow:otp-enrol"))
        device = TOTPDevice.objects.get(user=team.custody1)
        response = client.post(reverse("workflow:otp-enrol"), {"code": wrong_code(device)})
        assert "This code is not valid." in text(response)
        device.refresh_from_db()
        assert not device.confirmed

    def test_next_may_not_leave_the_site(self, team):
        device = enrolled_device(team.custody1)
        response = signed_in(team.custody1).post(
            reverse("workflow:otp-verify"), {"code": current_code(device), "next": "https://evil.example/"}
        )
        assert response["Location"] == reverse("workflow:inbox")

    def test_demo_totp_prints_the_current_code(self, team):
        device = enrolled_device(team.custody1)
        out = StringIO()
        call_command("demo_totp", "custody1", stdout=out)
        assert out.getvalue().strip() == current_code(device)

    def test_demo_totp_is_refused_in_production(self, team, settings):
        enrolled_device(team.custody1)
        settings.DJANGO_ENV = "production"
        with pytest.raises(CommandError, match="production"):
            call_command("demo_totp", "custody1", stdout=StringIO())


# Login and dashboard


class TestLogin:
    def test_signing_in_leads_to_the_inbox(self, team, client):
        response = client.post(reverse("login"), {"username": "custody1", "password": PASSWORD})
        assert response.status_code == 302
        assert response["Location"] == reverse("workflow:inbox")

    def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(self, team, client):
        for _ in range(5):
            client.post(reverse("login"), {"username": "custody1", "password": "wrong password"})
        response = client.post(reverse("login"), {"username": "custody1", "password": PASSWORD})
        assert response.status_code == 429
        assert "_auth_user_id" not in client.session

    def test_the_lockout_page_explains(self, team, client, settings):
        settings.AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
        for _ in range(5):
            client.post(reverse("login"), {"username": "custody1", "password": "wrong password"})
        response = client.post(reverse("login"), {"username": "custody1", "password": PASSWORD})
        assert response.status_code == 429
        assert "Sign-in is locked after 5 wrong passwords." in text(response)

    def test_logging_out_is_a_post(self, team):
        client = signed_in(team.custody1)
        assert client.get(reverse("logout")).status_code == 405
        assert client.post(reverse("logout")).status_code == 302
        assert "_auth_user_id" not in client.session


class TestDashboard:
    def test_it_shows_holdings_pending_requests_and_activity(self, team, transfer):
        response = signed_in(team.custody1).get(reverse("workflow:dashboard"))
        page = text(response)
        assert "BTC Bitcoin Reserve: forfeited 5.00000000 BTC" in page
        assert re.search(r'id="pending-count">1<', response.content.decode())
        assert re.search(r'id="awaiting-count">1<', response.content.decode())
        assert "reserve.request.created" in page

    def test_its_query_count_does_not_grow_with_activity(self, team, transfer, approve):
        client = signed_in(team.custody1)
        client.get(reverse("workflow:dashboard"))
        with CaptureQueriesContext(connection) as before:
            client.get(reverse("workflow:dashboard"))
        approve(transfer, team.custody2)
        with CaptureQueriesContext(connection) as after:
            client.get(reverse("workflow:dashboard"))
        assert len(after) == len(before)

    def test_an_integration_client_may_not_see_it(self, team):
        user = UserFactory(username="court-system", roles=["Integration client"])
        assert signed_in(user).get(reverse("workflow:dashboard")).status_code == 403


class TestCoolingOffOnThePage:
    def test_an_allow_list_request_states_the_cooling_off_period(self, team):
        request = create_request(
            kind="reserve.allowlist_change",
            payload={
                "action": "add",
                "network": "bitcoin",
                "label": "Exchange",
                "address": "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
            },
            maker=team.maker,
        )
        page = text(signed_in(team.treasury1).get(request_url(request)))
        assert "cooling-off period of 48 hours" in page

    def test_a_disposal_page_shows_when_the_destination_becomes_usable(self, team, funded, wallet, approve):
        import datetime as dt

        from django.utils import timezone

        from reserve.models import AllowListedAddress

        allow = create_request(
            kind="reserve.allowlist_change",
            payload={
                "action": "add",
                "network": "bitcoin",
                "label": "Exchange",
                "address": "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
            },
            maker=team.maker,
        )
        approve(allow, team.treasury1)
        approve(allow, team.board1)
        entry = AllowListedAddress.objects.get()
        AllowListedAddress.objects.filter(pk=entry.pk).update(
            usable_from=timezone.now() - dt.timedelta(hours=1)
        )
        disposal = create_request(
            kind="reserve.disposal",
            payload={
                "asset": "BTC",
                "amount": "1",
                "from_wallet": wallet.code,
                "category": "reserve:forfeited",
                "to_address": entry.address,
            },
            maker=team.maker,
        )
        page = text(signed_in(team.treasury1).get(request_url(disposal)))
        assert "cooling-off period ended" in page


def test_a_second_factor_entered_long_ago_no_longer_decides(team, transfer):
    from reserve.workflow.otp_views import SECOND_FACTOR_SESSION_KEY

    client = verified_client(team.custody1)
    session = client.session
    session[SECOND_FACTOR_SESSION_KEY] -= 16 * 60
    session.save()
    response = decide_via_page(client, transfer)
    assert "second factor" in text(response)
    assert not transfer.decisions.exists()


def test_an_approval_stops_counting_once_its_approver_leaves_the_group(team, transfer, approve):
    first = verified_client(team.custody1)
    decide_via_page(first, transfer)
    revoke = create_request(
        kind="reserve.approver_change",
        payload={"action": "revoke", "user": "custody1", "group": "Custody officer"},
        maker=team.maker,
    )
    approve(revoke, team.board1)
    approve(revoke, team.board2)
    decide_via_page(verified_client(team.custody2), transfer)
    transfer.refresh_from_db()
    assert transfer.status == "pending"
    third = verified_client(team.custody3)
    assert "custody2" in text(third.get(request_url(transfer)))
    decide_via_page(third, transfer)
    transfer.refresh_from_db()
    assert transfer.status == "executed"


@pytest.mark.parametrize(
    ("url", "linked"),
    [
        ("https://intranet.example/memo/12", True),
        ("/intake/documents/7/", True),
        ("//evil.example/x", False),
        ("/\\evil.example/x", False),
        ("javascript:alert(1)", False),
        ("data:text/html,hi", False),
        ("intake/documents/7/", False),
    ],
)
def test_evidence_links_only_to_web_pages_and_this_site(url, linked):
    from reserve.workflow.views import _evidence

    [shown] = _evidence([{"label": "Evidence", "url": url}])
    assert (shown.url == url) is linked
