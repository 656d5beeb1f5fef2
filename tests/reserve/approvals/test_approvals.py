"""The approval engine, at the service level: every refusal of issue #3 and the exactly-once
execution."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reserve.approvals.services import (
    ApprovalError,
    action_digest,
    amend_request,
    bootstrap_approvers,
    create_request,
    decide,
    expire_requests,
    quorum_progress,
    requests_awaiting,
)
from reserve.ledger.services import LedgerError, Line, get_account, post_entry
from reserve.ledger.verification import verify_ledger
from reserve.models import (
    Account,
    AllowListedAddress,
    ApprovalPolicy,
    ApprovalRequest,
    ApproverMembership,
    AuditEvent,
    Decision,
    JournalEntry,
    RequestStatus,
)
from tests.support.factories import make_transfer

BC1 = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"


def balances(wallet, other_wallet, asset):
    return (
        get_account(wallet=wallet, category="reserve:forfeited", asset=asset).balance,
        get_account(wallet=other_wallet, category="reserve:forfeited", asset=asset).balance,
    )


class TestTransfers:
    def test_two_custody_officers_execute_a_transfer_once(
        self, team, funded, wallet, other_wallet, asset, approve
    ):
        request = make_transfer(team, wallet, other_wallet)
        assert request.payload["amount"] == "1.25000000"
        approve(request, team.custody1)
        request.refresh_from_db()
        assert request.status == RequestStatus.PENDING
        assert balances(wallet, other_wallet, asset) == (500_000_000, 0)

        approve(request, team.custody2)
        request.refresh_from_db()
        assert request.status == RequestStatus.EXECUTED
        assert balances(wallet, other_wallet, asset) == (375_000_000, 125_000_000)
        entry = JournalEntry.objects.get(request=request)
        assert request.result == {"entry": entry.number}
        assert verify_ledger().ok

    def test_a_fee_goes_to_the_fees_account(self, team, funded, wallet, other_wallet, asset, approve):
        request = make_transfer(team, wallet, other_wallet, amount="1", fee="0.0001")
        approve(request, team.custody1)
        approve(request, team.custody2)
        assert get_account(wallet=wallet, category="fees", asset=asset).balance == 10_000
        assert balances(wallet, other_wallet, asset) == (500_000_000 - 100_010_000, 100_000_000)

    def test_it_refuses_a_transfer_the_wallet_cannot_cover(self, team, funded, wallet, other_wallet):
        with pytest.raises(ValidationError, match="holds 5.00000000 BTC"):
            make_transfer(team, wallet, other_wallet, amount="6")
        assert not ApprovalRequest.objects.exists()

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("amount", "1.000000001", "8 decimal places"),
            ("amount", "-1", "negative"),
            ("amount", "1e2", "exponent"),
            ("amount", 1.5, "not floating-point"),
            ("category", "external", "Choose one of"),
            ("to_wallet", "nowhere", "No active custody wallet"),
            ("asset", "DOGE", "No active asset"),
        ],
    )
    def test_it_refuses_bad_payloads_with_field_errors(
        self, team, funded, wallet, other_wallet, field, value, message
    ):
        with pytest.raises(ValidationError) as exc:
            make_transfer(team, wallet, other_wallet, **{field: value})
        assert message in " ".join(exc.value.message_dict[field])

    def test_the_ledger_refuses_a_transfer_outside_the_engine(self, funded, other_wallet, asset):
        target = get_account(wallet=other_wallet, category="reserve:forfeited", asset=asset)
        with pytest.raises(LedgerError, match="approval engine"):
            post_entry(reason="reserve.transfer", lines=[Line(funded, -1), Line(target, 1)])


class TestRefusals:
    @pytest.fixture
    def request_(self, team, funded, wallet, other_wallet):
        return make_transfer(team, wallet, other_wallet)

    def test_it_refuses_self_approval(self, team, request_, approve):
        with pytest.raises(ApprovalError, match="maker cannot decide"):
            approve(request_, team.maker)

    def test_it_refuses_an_approver_outside_the_required_groups(self, team, request_, approve):
        with pytest.raises(ApprovalError, match="not an approver"):
            approve(request_, team.board1)
        with pytest.raises(ApprovalError, match="not an approver"):
            approve(request_, team.outsider)

    def test_superusers_have_no_approval_power(self, team, request_, approve):
        with pytest.raises(ApprovalError, match="not an approver"):
            approve(request_, team.root)

    def test_a_django_group_added_in_the_admin_gives_no_approval_power(self, team, request_, approve):
        team.outsider.groups.add(Group.objects.get(name="Custody officer"))
        with pytest.raises(ApprovalError, match="not an approver"):
            approve(request_, team.outsider)

    def test_it_refuses_approving_twice(self, team, request_, approve):
        approve(request_, team.custody1)
        with pytest.raises(ApprovalError, match="already decided"):
            approve(request_, team.custody1)
        assert Decision.objects.count() == 1

    def test_one_rejection_ends_the_request(self, team, request_, approve, wallet, other_wallet, asset):
        approve(request_, team.custody1)
        approve(request_, team.custody2, "reject", "Destination wallet is under maintenance.")
        request_.refresh_from_db()
        assert request_.status == RequestStatus.REJECTED
        with pytest.raises(ApprovalError, match="rejected"):
            approve(request_, team.custody3)
        assert balances(wallet, other_wallet, asset) == (500_000_000, 0)

    def test_a_rejection_needs_a_comment(self, team, request_, approve):
        with pytest.raises(ValidationError, match="why"):
            approve(request_, team.custody1, "reject", "  ")

    def test_it_refuses_approval_after_expiry(self, team, request_, approve):
        ApprovalRequest.objects.filter(pk=request_.pk).update(
            expires_at=timezone.now() - dt.timedelta(seconds=1)
        )
        with pytest.raises(ApprovalError, match="expired"):
            approve(request_, team.custody1)
        assert expire_requests() == 1
        assert expire_requests() == 0
        request_.refresh_from_db()
        assert request_.status == RequestStatus.EXPIRED

    def test_it_refuses_without_a_second_factor(self, team, request_):
        with pytest.raises(ApprovalError, match="second factor"):
            decide(
                request=request_,
                approver=team.custody1,
                verdict="approve",
                digest=request_.payload_digest,
                second_factor=False,
            )

    def test_it_refuses_a_decision_on_a_stale_digest(self, team, request_):
        with pytest.raises(ApprovalError, match="digest mismatch"):
            decide(
                request=request_,
                approver=team.custody1,
                verdict="approve",
                digest="0" * 64,
                second_factor=True,
            )

    def test_a_request_no_policy_covers_is_refused(self, team, funded, wallet, other_wallet):
        ApprovalPolicy.objects.filter(kind__in=["reserve.transfer", ""]).update(is_active=False)
        with pytest.raises(ApprovalError, match="No approval policy"):
            make_transfer(team, wallet, other_wallet)

    def test_a_deactivated_approver_stops_counting(
        self, team, request_, approve, wallet, other_wallet, asset
    ):
        approve(request_, team.custody1)
        team.custody1.is_active = False
        team.custody1.save()
        approve(request_, team.custody2)
        request_.refresh_from_db()
        assert request_.status == RequestStatus.PENDING
        assert [t.approvers for t in quorum_progress(request_)] == [("custody2",)]
        approve(request_, team.custody3)
        request_.refresh_from_db()
        assert request_.status == RequestStatus.EXECUTED

    def test_a_revoked_approver_stops_counting(self, team, request_, approve):
        approve(request_, team.custody1)
        ApproverMembership.objects.filter(user=team.custody1).update(revoked_at=timezone.now())
        approve(request_, team.custody2)
        request_.refresh_from_db()
        assert request_.status == RequestStatus.PENDING


class TestDigest:
    def test_amending_a_request_voids_the_decisions_so_far(
        self, team, funded, wallet, other_wallet, approve, asset
    ):
        request = make_transfer(team, wallet, other_wallet)
        approve(request, team.custody1)
        amended = amend_request(
            request=request,
            maker=team.maker,
            payload={**request.payload, "amount": "2"},
        )
        assert amended.revision == 2
        approve(amended, team.custody2)
        amended.refresh_from_db()
        assert amended.status == RequestStatus.PENDING
        approve(amended, team.custody1)
        amended.refresh_from_db()
        assert amended.status == RequestStatus.EXECUTED
        assert balances(wallet, other_wallet, asset)[1] == 200_000_000

    def test_the_executor_refuses_an_action_changed_behind_the_applications_back(
        self, team, funded, wallet, other_wallet, approve, asset
    ):
        request = make_transfer(team, wallet, other_wallet)
        approve(request, team.custody1)
        tampered = {**request.payload, "to_wallet": wallet.code, "from_wallet": other_wallet.code}
        with connection.cursor() as cursor:
            import json

            cursor.execute(
                "UPDATE reserve_approvalrequest SET payload = %s WHERE id = %s",
                [json.dumps(tampered), request.pk],
            )
        with pytest.raises(ApprovalError, match="does not match its digest"):
            approve(request, team.custody2)
        request.refresh_from_db()
        assert request.status == RequestStatus.PENDING
        assert balances(wallet, other_wallet, asset) == (500_000_000, 0)

    def test_the_digest_is_the_sha256_of_the_canonical_action(self):
        assert action_digest("k", {"b": 1, "a": "x"}) == action_digest("k", {"a": "x", "b": 1})
        assert action_digest("k", {"a": "1.0"}) != action_digest("k", {"a": "1.00"})


class TestAllowListAndDisposal:
    def allowlist(self, team, approve, address=BC1):
        request = create_request(
            kind="reserve.allowlist_change",
            payload={"action": "add", "network": "bitcoin", "address": address, "label": "AIFC exchange"},
            maker=team.maker,
        )
        approve(request, team.treasury1)
        approve(request, team.board1)
        request.refresh_from_db()
        assert request.status == RequestStatus.EXECUTED
        return AllowListedAddress.objects.get(address=address)

    def dispose(self, team, wallet, amount="1", category="reserve:forfeited"):
        return create_request(
            kind="reserve.disposal",
            payload={
                "asset": "BTC",
                "amount": amount,
                "from_wallet": wallet.code,
                "category": category,
                "to_address": BC1,
            },
            maker=team.maker,
        )

    def test_a_disposal_needs_an_allow_listed_address(self, team, funded, wallet):
        with pytest.raises(ValidationError, match="not on the allow-list"):
            self.dispose(team, wallet)

    def test_a_new_address_waits_out_the_cooling_off_period(self, team, funded, wallet, approve):
        entry = self.allowlist(team, approve)
        assert entry.usable_from - entry.added_at == dt.timedelta(hours=48)
        with pytest.raises(ValidationError, match="cooling-off"):
            self.dispose(team, wallet)

    def test_a_disposal_executes_after_the_cooling_off(self, team, funded, wallet, approve, asset):
        entry = self.allowlist(team, approve)
        AllowListedAddress.objects.filter(pk=entry.pk).update(
            usable_from=timezone.now() - dt.timedelta(minutes=1)
        )
        request = self.dispose(team, wallet)
        approve(request, team.treasury1)
        approve(request, team.treasury2)
        approve(request, team.board2)
        request.refresh_from_db()
        assert request.status == RequestStatus.EXECUTED
        assert get_account(wallet=wallet, category="disposed", asset=asset).balance == 100_000_000

    def test_restricted_assets_can_never_be_disposed(self, team, wallet, asset, fund_in, approve):
        fund_in(wallet, asset, 10**8, category="restricted")
        with pytest.raises(ValidationError, match="never be disposed"):
            self.dispose(team, wallet, category="restricted")

    def test_no_sale_lots_are_never_sold_whatever_the_policy(self, team, wallet, asset, fund_in, approve):
        from reserve.models import Lot

        account = fund_in(wallet, asset, 10**8)
        Lot.objects.filter(account=account).update(restriction="no_sale")
        entry = self.allowlist(team, approve)
        AllowListedAddress.objects.filter(pk=entry.pk).update(usable_from=timezone.now())
        with pytest.raises(ValidationError, match="no-sale"):
            self.dispose(team, wallet)


class TestGovernance:
    def propose_policy(self, team, **changes):
        transfers = ApprovalPolicy.objects.get(name="Transfers")
        payload = {
            "policy": transfers.pk,
            "name": "Transfers",
            "priority": transfers.priority,
            "kind": "reserve.transfer",
            "expires_after_hours": 24,
            "tiers": [{"group": "Custody officer", "required": 1}, {"group": "Board member", "required": 1}],
            **changes,
        }
        return create_request(kind="reserve.policy_change", payload=payload, maker=team.maker)

    def test_a_policy_change_is_decided_by_the_policy_in_force(self, team, approve):
        request = self.propose_policy(team)
        assert request.policy.name == "Policy changes"
        with pytest.raises(ApprovalError, match="not an approver"):
            approve(request, team.custody1)
        approve(request, team.board1)
        approve(request, team.board2)
        request.refresh_from_db()
        assert request.status == RequestStatus.EXECUTED
        transfers = ApprovalPolicy.objects.get(name="Transfers")
        assert transfers.version == 2
        assert [(t.group.name, t.required) for t in transfers.tiers.all()] == [
            ("Custody officer", 1),
            ("Board member", 1),
        ]

    def test_a_policy_where_one_person_decides_alone_is_refused(self, team):
        with pytest.raises(ValidationError, match="one person can never decide alone"):
            self.propose_policy(team, tiers=[{"group": "Custody officer", "required": 1}])

    def test_an_unmeetable_tier_is_refused(self, team):
        with pytest.raises(ValidationError, match="could never be met"):
            self.propose_policy(team, tiers=[{"group": "Custody officer", "required": 4}])

    def test_pending_requests_under_a_changed_policy_take_no_more_decisions(
        self, team, funded, wallet, other_wallet, approve
    ):
        transfer = make_transfer(team, wallet, other_wallet)
        change = self.propose_policy(team)
        approve(change, team.board1)
        approve(change, team.board2)
        with pytest.raises(ApprovalError, match="policy governing this request changed"):
            approve(transfer, team.custody1)

    def test_granting_approval_power_takes_a_board_quorum(self, team, approve):
        request = create_request(
            kind="reserve.approver_change",
            payload={"action": "grant", "user": "outsider", "group": "Custody officer"},
            maker=team.maker,
        )
        approve(request, team.board1)
        assert not ApproverMembership.objects.filter(user=team.outsider).exists()
        approve(request, team.board2)
        assert ApproverMembership.objects.filter(user=team.outsider, revoked_at__isnull=True).exists()

    def test_revoking_an_approver_needed_by_a_policy_is_refused(self, team, approve):
        request = create_request(
            kind="reserve.approver_change",
            payload={"action": "revoke", "user": "board2", "group": "Board member"},
            maker=team.maker,
        )
        approve(request, team.board1)
        approve(request, team.board3)
        assert not ApproverMembership.objects.filter(user=team.board2, revoked_at__isnull=True).exists()
        with pytest.raises(ValidationError, match="could never be met"):
            create_request(
                kind="reserve.approver_change",
                payload={"action": "revoke", "user": "board3", "group": "Board member"},
                maker=team.maker,
            )

    def test_the_bootstrap_runs_once(self, team):
        with pytest.raises(ApprovalError, match="Approvers already exist"):
            bootstrap_approvers(assignments=[(team.outsider, Group.objects.get(name="Board member"))])

    def test_the_cooling_off_period_changes_only_through_a_request(self, team, approve):
        request = create_request(
            kind="reserve.setting_change",
            payload={"key": "allowlist_cooling_off_hours", "value": 72},
            maker=team.maker,
        )
        approve(request, team.board1)
        approve(request, team.board2)
        allow = create_request(
            kind="reserve.allowlist_change",
            payload={"action": "add", "network": "bitcoin", "address": BC1, "label": "Exchange"},
            maker=team.maker,
        )
        approve(allow, team.treasury1)
        approve(allow, team.board1)
        entry = AllowListedAddress.objects.get()
        assert entry.usable_from - entry.added_at == dt.timedelta(hours=72)


class TestInboxAndAudit:
    def test_the_inbox_shows_what_awaits_my_decision(self, team, funded, wallet, other_wallet, approve):
        request = make_transfer(team, wallet, other_wallet)
        assert list(requests_awaiting(team.custody1)) == [request]
        assert list(requests_awaiting(team.board1)) == []
        assert list(requests_awaiting(team.maker)) == []
        approve(request, team.custody1)
        assert list(requests_awaiting(team.custody1)) == []
        assert list(requests_awaiting(team.custody2)) == [request]

    def test_every_step_is_in_the_audit_journal(self, team, funded, wallet, other_wallet, approve):
        request = make_transfer(team, wallet, other_wallet)
        approve(request, team.custody1)
        approve(request, team.custody2)
        actions = list(
            AuditEvent.objects.filter(subject_object_id=str(request.pk), action__startswith="reserve.request")
            .order_by("id")
            .values_list("action", "actor__username")
        )
        assert actions == [
            ("reserve.request.created", "maker"),
            ("reserve.request.approved_by", "custody1"),
            ("reserve.request.approved_by", "custody2"),
            ("reserve.request.executed", "custody2"),
        ]
        executed = AuditEvent.objects.get(action="reserve.request.executed")
        assert executed.data["quorum"] == {"Custody officer": ["custody1", "custody2"]}

    def test_decisions_cannot_be_changed_even_with_raw_sql(self, team, funded, wallet, other_wallet, approve):
        request = make_transfer(team, wallet, other_wallet)
        approve(request, team.custody1)
        for sql in ("UPDATE reserve_decision SET verdict = 'reject'", "DELETE FROM reserve_decision"):
            with (
                pytest.raises(Exception, match="immutable"),
                transaction.atomic(),
                connection.cursor() as cursor,
            ):
                cursor.execute(sql)
        assert Decision.objects.get().verdict == "approve"


def test_accounts_are_untouched_by_refused_requests(team, funded, wallet, other_wallet, asset):
    before = sorted(Account.objects.values_list("id", "balance"))
    with pytest.raises(ValidationError):
        make_transfer(team, wallet, other_wallet, amount="9999")
    assert sorted(Account.objects.values_list("id", "balance")) == before


def test_reactivating_a_deactivated_approver_does_not_restore_approval_power(
    team, funded, wallet, other_wallet, approve
):
    team.custody1.is_active = False
    team.custody1.save()
    team.custody1.is_active = True
    team.custody1.save()
    request = make_transfer(team, wallet, other_wallet)
    with pytest.raises(ApprovalError, match="not an approver"):
        approve(request, team.custody1)
    assert AuditEvent.objects.filter(action="reserve.approvers.revoked_on_deactivation").count() == 1


def test_a_renamed_user_cannot_receive_a_grant_approved_for_another(team, approve):
    from django.contrib.auth import get_user_model

    request = create_request(
        kind="reserve.approver_change",
        payload={"action": "grant", "user": "outsider", "group": "Custody officer"},
        maker=team.maker,
    )
    approve(request, team.board1)
    get_user_model().objects.filter(pk=team.outsider.pk).update(username="someone-else")
    with pytest.raises(ValidationError, match="renamed"):
        approve(request, team.board2)
    assert not ApproverMembership.objects.filter(user=team.outsider).exists()


def test_wallet_codes_never_change(wallet):
    wallet.code = "elsewhere"
    with pytest.raises(ValidationError, match="never change"):
        wallet.save()


def test_a_closed_request_cannot_be_reopened_even_with_raw_sql(team, funded, wallet, other_wallet, approve):
    request = make_transfer(team, wallet, other_wallet)
    approve(request, team.custody1)
    approve(request, team.custody2)
    for sql in (
        "UPDATE reserve_approvalrequest SET status = 'pending' WHERE id = %s",
        "UPDATE reserve_approvalrequest SET payload_digest = 'x' WHERE id = %s",
        "DELETE FROM reserve_approvalrequest WHERE id = %s",
    ):
        with pytest.raises(Exception, match="refused"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [request.pk])
    request.refresh_from_db()
    assert request.status == RequestStatus.EXECUTED


def test_an_auditor_cannot_make_a_request_by_any_entry_point(team, funded, wallet, other_wallet):
    with pytest.raises(ApprovalError, match="Auditors read everything"):
        create_request(
            kind="reserve.transfer",
            payload={
                "asset": "BTC",
                "amount": "1",
                "from_wallet": wallet.code,
                "to_wallet": other_wallet.code,
                "category": "reserve:forfeited",
            },
            maker=team.outsider,
        )
    assert not ApprovalRequest.objects.exists()


class TestQueryCount:
    """The approval flow of a transfer reads each row once: making it, the first approval and
    the approval that executes it each take a fixed number of statements (issue #16). The
    posting's own statements are counted apart: the ledger has its own budget."""

    def flow(self, team, wallet, other_wallet, monkeypatch):
        posting = []

        def counted_post_entry(**kwargs):
            with CaptureQueriesContext(connection) as posted:
                entry = post_entry(**kwargs)
            posting.append(len(posted.captured_queries))
            return entry

        monkeypatch.setattr("reserve.kinds.transfers.post_entry", counted_post_entry)
        counts = []
        with CaptureQueriesContext(connection) as made:
            request = make_transfer(team, wallet, other_wallet, amount="0.01")
        counts.append(len(made.captured_queries))
        for officer in (team.custody1, team.custody2):
            request.refresh_from_db()
            with CaptureQueriesContext(connection) as decided:
                decide(
                    request=request,
                    approver=officer,
                    verdict="approve",
                    comment="Checked.",
                    digest=request.payload_digest,
                    second_factor=True,
                )
            counts.append(len(decided.captured_queries))
        request.refresh_from_db()
        assert request.status == RequestStatus.EXECUTED
        assert len(posting) == 1
        counts[-1] -= posting[0]
        return counts

    def test_a_transfer_flow_takes_a_constant_number_of_statements(
        self, team, funded, wallet, other_wallet, monkeypatch
    ):
        self.flow(team, wallet, other_wallet, monkeypatch)  # opens the destination's account
        second = self.flow(team, wallet, other_wallet, monkeypatch)
        third = self.flow(team, wallet, other_wallet, monkeypatch)
        assert second == third
        # Making: the asset, both wallets, the destination's addresses, the cooling-off setting,
        # both accounts, the valuation, the policies, the policy's tiers and its approvers; then
        # the request, its history row and the audit row. Approving: the locked request (with
        # its policy and asset) and the tiers, the revision's decisions, the approvers' groups,
        # the policies up to the request's; then the decision and its audit row. Executing adds,
        # besides the posting: both wallets (the asset came with the locked request), the
        # addresses, the setting, both accounts; then the request's update, its history row
        # and the audit row. In a test each step's transaction is a savepoint, taken and
        # released: two statements. Before issue #16 they took 22, 13 and 55 on SQLite with the
        # posting.
        assert second == [14, 9, 16]
