"""Concurrent decisions on PostgreSQL: the action executes exactly once."""

import threading

import pytest
from django.db import connection

from reserve.approvals.services import ApprovalError, create_request, decide
from reserve.ledger.services import get_account
from reserve.ledger.verification import verify_ledger
from reserve.models import ApprovalRequest, Decision, JournalEntry, RequestStatus

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_approvals_and_double_clicks_execute_once(team, asset, wallet, other_wallet, fund_in):
    fund_in(wallet, asset, 10**8)
    request = create_request(
        kind="reserve.transfer",
        payload={
            "asset": "BTC",
            "amount": "0.5",
            "from_wallet": wallet.code,
            "to_wallet": other_wallet.code,
            "category": "reserve:forfeited",
        },
        maker=team.maker,
    )
    # Three custody officers, each "double-clicking" four times, all at once.
    approvers = [team.custody1, team.custody2, team.custody3] * 4
    barrier = threading.Barrier(len(approvers))
    outcomes: list[str] = []
    unexpected: list[BaseException] = []
    lock = threading.Lock()

    def click(user):
        try:
            barrier.wait()
            decide(
                request=ApprovalRequest.objects.get(pk=request.pk),
                approver=user,
                verdict="approve",
                digest=request.payload_digest,
                second_factor=True,
            )
            result = "ok"
        except ApprovalError as exc:
            result = exc.messages[0]
        except BaseException as exc:  # noqa: BLE001
            with lock:
                unexpected.append(exc)
            return
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=click, args=(user,)) for user in approvers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert unexpected == []
    request.refresh_from_db()
    assert request.status == RequestStatus.EXECUTED
    assert JournalEntry.objects.filter(request=request).count() == 1
    assert outcomes.count("ok") == 2
    assert Decision.objects.filter(request=request).count() == 2
    assert get_account(wallet=other_wallet, category="reserve:forfeited", asset=asset).balance == 5 * 10**7
    assert verify_ledger().ok
