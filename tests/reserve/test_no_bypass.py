"""Issue #12, "No one bypasses the engine": a superuser tries to move funds alone through every
entry point — service, workflow page, REST API, admin, management commands — and fails."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from reserve.approvals.services import ApprovalError, create_request, decide
from reserve.ledger.services import LedgerError, Line, get_account, post_entry, reverse_entry
from reserve.models import (
    ApprovalRequest,
    ApproverMembership,
    JournalEntry,
    RequestStatus,
)
from tests.support.api import bearer, client_with_token, new_key, otp, totp_device
from tests.support.screens import decide_via_page, text, verified_client


@pytest.fixture
def transfer_by_root(team, funded_opening_balance, wallet, other_wallet):
    """The superuser makes a transfer request: making is allowed, deciding alone is not."""
    return create_request(
        kind="reserve.transfer",
        payload={
            "asset": "BTC",
            "amount": "1",
            "from_wallet": wallet.code,
            "to_wallet": other_wallet.code,
            "category": "reserve:forfeited",
        },
        maker=team.root,
    )


def nothing_moved(wallet, other_wallet, asset):
    assert get_account(wallet=other_wallet, category="reserve:forfeited", asset=asset).balance == 0
    assert get_account(wallet=wallet, category="reserve:forfeited", asset=asset).balance == 5 * 10**8
    assert not JournalEntry.objects.exclude(reason__startswith="test.").exists()


def test_a_superuser_cannot_post_a_real_entry_through_the_ledger_service(
    team, funded_opening_balance, other_wallet, asset, wallet
):
    target = get_account(wallet=other_wallet, category="reserve:forfeited", asset=asset)
    for reason in (
        "reserve.transfer",
        "reserve.disposal",
        "reserve.opening_balance",
        "reserve.reclassification",
    ):
        with pytest.raises(LedgerError, match="approval engine"):
            post_entry(
                reason=reason, lines=[Line(funded_opening_balance, -1), Line(target, 1)], actor=team.root
            )
    nothing_moved(wallet, other_wallet, asset)


def test_a_superuser_cannot_reverse_a_real_entry_outside_the_engine(
    team, funded_opening_balance, wallet, other_wallet, asset, approve
):
    request = create_request(
        kind="reserve.transfer",
        payload={
            "asset": "BTC",
            "amount": "1",
            "from_wallet": wallet.code,
            "to_wallet": other_wallet.code,
            "category": "reserve:forfeited",
        },
        maker=team.maker,
    )
    approve(request, team.custody1)
    approve(request, team.custody2)
    entry = JournalEntry.objects.get(request=request)
    with pytest.raises(LedgerError, match="approval engine"):
        reverse_entry(entry=entry, actor=team.root)


def test_a_superuser_cannot_decide_through_the_service(team, transfer_by_root, wallet, other_wallet, asset):
    with pytest.raises(ApprovalError, match="maker cannot decide"):
        decide(
            request=transfer_by_root,
            approver=team.root,
            verdict="approve",
            digest=transfer_by_root.payload_digest,
            second_factor=True,
        )
    nothing_moved(wallet, other_wallet, asset)


def test_a_superuser_cannot_decide_through_the_workflow_page(
    team, funded_opening_balance, wallet, other_wallet, asset
):
    request = create_request(
        kind="reserve.transfer",
        payload={
            "asset": "BTC",
            "amount": "1",
            "from_wallet": wallet.code,
            "to_wallet": other_wallet.code,
            "category": "reserve:forfeited",
        },
        maker=team.maker,
    )
    client = verified_client(team.root)
    page = client.get(reverse("workflow:request", args=[request.pk]))
    assert "not an approver" in text(page)
    response = decide_via_page(client, request)
    assert "not an approver" in text(response) or response.status_code in (403, 404)
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING
    assert not request.decisions.exists()
    nothing_moved(wallet, other_wallet, asset)


def test_a_superuser_cannot_decide_through_the_api(team, transfer_by_root, wallet, other_wallet, asset):
    device = totp_device(team.root)
    _client, secret = client_with_token("root-desk", ["requests:read", "requests:decide"], user=team.root)
    response = bearer(secret).post(
        f"/api/v1/requests/{transfer_by_root.pk}/decisions/",
        {
            "verdict": "approve",
            "comment": "",
            "digest": transfer_by_root.payload_digest,
            "otp_token": otp(device),
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
    )
    assert response.status_code in (400, 403, 404), response.content
    assert not transfer_by_root.decisions.exists()
    nothing_moved(wallet, other_wallet, asset)


def test_a_superuser_session_cannot_write_through_the_api(team, transfer_by_root, client):
    client.force_login(team.root)
    response = client.post(
        f"/api/v1/requests/{transfer_by_root.pk}/decisions/",
        {"verdict": "approve", "digest": transfer_by_root.payload_digest},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
    )
    assert response.status_code in (401, 403)
    assert not transfer_by_root.decisions.exists()


def test_the_admin_offers_no_way_to_post_or_execute(team, transfer_by_root, client):
    client.force_login(team.root)
    assert client.get(reverse("admin:reserve_journalentry_add")).status_code == 403
    assert client.get(reverse("admin:reserve_posting_add")).status_code == 403
    assert client.get(reverse("admin:reserve_decision_add")).status_code == 403
    response = client.post(
        reverse("admin:reserve_approvalrequest_change", args=[transfer_by_root.pk]),
        {"status": "executed"},
    )
    assert response.status_code == 403
    transfer_by_root.refresh_from_db()
    assert transfer_by_root.status == RequestStatus.PENDING


def test_no_management_command_moves_funds_or_grants_approval_power(
    team, funded_opening_balance, wallet, other_wallet, asset
):
    with pytest.raises(CommandError, match="Approvers already exist"):
        call_command("bootstrap_approvers", "--approver=root=Custody officer", stdout=io.StringIO())
    assert not ApproverMembership.objects.filter(user=team.root).exists()
    from django.core.management import get_commands

    ours = sorted(name for name, app in get_commands().items() if app == "reserve")
    # Each of these is read-only for the ledger or goes through the engine; a new command
    # must be reviewed and added here.
    assert ours == [
        "bootstrap_approvers",
        "demo_totp",
        "flush",
        "issue_api_token",
        "load_sample_data",
        "reconcile_chain",  # records observations and differences; changes no balance
        "run_embedded",
        "verify_ledger",
    ]
    mining = sorted(name for name, app in get_commands().items() if app == "mining")
    assert mining == [
        "expected_mining_output",  # prints a computed figure; writes nothing
        "sync_network_epochs",  # records epochs through record_epoch; moves no funds
    ]
    nothing_moved(wallet, other_wallet, asset)


def test_the_bootstrap_command_sets_the_first_approvers_once(db, django_user_model):
    from tests.support.factories import UserFactory

    for name in ("b1", "b2", "c1", "c2", "t1", "t2"):
        UserFactory(username=name)
    args = [
        f"--approver={u}={g}"
        for u, g in [
            ("b1", "Board member"),
            ("b2", "Board member"),
            ("c1", "Custody officer"),
            ("c2", "Custody officer"),
            ("t1", "Treasury officer"),
            ("t2", "Treasury officer"),
        ]
    ]
    out = io.StringIO()
    call_command("bootstrap_approvers", *args, stdout=out)
    assert "6 approvers set" in out.getvalue()
    assert ApproverMembership.objects.count() == 6
    with pytest.raises(CommandError, match="Approvers already exist"):
        call_command("bootstrap_approvers", *args, stdout=io.StringIO())
    assert ApprovalRequest.objects.count() == 0
