"""The engine as a platform: requests that could never be approved are refused, default
policies registered by an app, the engine's one valuation, "the request as shown", and
deactivation revoking approval power on every path."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from reserve.approvals.errors import ApprovalError
from reserve.approvals.policies import (
    _DEFAULTS,
    DefaultPolicy,
    install_default_policies,
    register_default_policy,
)
from reserve.approvals.registry import _KINDS, MatchFacts, RequestKind, register_kind
from reserve.approvals.selectors import request_view
from reserve.approvals.services import cancel_request, create_request
from reserve.approvals.valuation import register_valuer, with_valuation
from reserve.models import ApprovalPolicy, ApproverMembership, AuditEvent, PolicyTier
from tests.support.factories import make_transfer

pytestmark = pytest.mark.django_db


def transfer_by(maker, wallet, other_wallet, amount="1.25"):
    payload = {
        "asset": "BTC",
        "amount": amount,
        "from_wallet": wallet.code,
        "to_wallet": other_wallet.code,
        "category": "reserve:forfeited",
    }
    return create_request(kind="reserve.transfer", payload=payload, maker=maker)


class TestRequestsThatCouldNeverBeApproved:
    def test_a_custody_officer_cannot_make_a_transfer_only_one_other_officer_could_approve(
        self, team, funded, wallet, other_wallet
    ):
        team.custody3.is_active = False
        team.custody3.save()
        with pytest.raises(ApprovalError, match="Custody officer needs 2 approvers, 1 can decide") as caught:
            transfer_by(team.custody1, wallet, other_wallet)
        assert caught.value.error_list[0].code == "unmeetable"

    def test_the_same_transfer_is_accepted_when_a_third_officer_is_in_force(
        self, team, funded, wallet, other_wallet
    ):
        request = transfer_by(team.custody1, wallet, other_wallet)
        assert request.status == "pending"

    def test_a_clerk_is_not_counted_out_of_a_group_they_are_not_in(self, team, funded, wallet, other_wallet):
        team.custody3.is_active = False
        team.custody3.save()
        assert make_transfer(team, wallet, other_wallet).status == "pending"

    def test_one_person_in_two_required_groups_fills_one_seat_only(self, team, funded, wallet, other_wallet):
        from django.contrib.auth.models import Group

        policy = ApprovalPolicy.objects.get(name="Transfers")
        board = Group.objects.get(name="Board member")
        PolicyTier.objects.create(policy=policy, position=2, group=board, required=3)
        for member in (team.board2, team.board3):
            ApproverMembership.objects.filter(user=member).update(revoked_at="2026-01-01T00:00:00Z")
        ApproverMembership.objects.create(user=team.custody1, group=board, granted_at="2026-01-01T00:00:00Z")
        ApproverMembership.objects.create(user=team.custody2, group=board, granted_at="2026-01-01T00:00:00Z")
        with pytest.raises(ApprovalError, match="Board member needs 3 approvers"):
            make_transfer(team, wallet, other_wallet)

    def test_the_maker_may_cancel_a_pending_request(self, team, funded, wallet, other_wallet):
        request = make_transfer(team, wallet, other_wallet)
        assert request_view(request, team.maker).may_cancel
        assert not request_view(request, team.custody1).may_cancel
        cancel_request(request=request, maker=team.maker)
        request.refresh_from_db()
        assert request.status == "cancelled"
        assert not request_view(request, team.maker).may_cancel


class _ProbeKind(RequestKind):
    code = "probe.thing"
    label = "Probe"

    def clean_payload(self, payload):
        return {"n": int(payload.get("n", 0))}

    def title(self, payload):
        return "Probe"

    def execute(self, *, request, action, actor):
        return {}


@pytest.fixture
def probe_kind():
    register_kind(_ProbeKind())
    default = register_default_policy(
        DefaultPolicy(70, "Probe things", "probe.thing", (("Board member", 2),), requires_second_factor=False)
    )
    yield default
    _KINDS.pop("probe.thing", None)
    _DEFAULTS.pop(default.name, None)


class TestDefaultPolicies:
    def test_a_kind_registered_after_the_bootstrap_gets_its_default_policy_once(self, team, probe_kind):
        created = install_default_policies(initial=False)
        assert [p.name for p in created] == ["Probe things"]
        policy = ApprovalPolicy.objects.get(name="Probe things")
        assert [(t.group.name, t.required) for t in policy.tiers.all()] == [("Board member", 2)]
        assert AuditEvent.objects.filter(action="approvals.policy.default_installed").count() == 1
        assert install_default_policies(initial=False) == []
        request = create_request(kind="probe.thing", payload={"n": 1}, maker=team.maker)
        assert request.policy.name == "Probe things"

    def test_a_default_the_board_retired_is_not_brought_back(self, team, probe_kind):
        install_default_policies(initial=False)
        ApprovalPolicy.objects.filter(name="Probe things").update(is_active=False)
        assert install_default_policies(initial=False) == []

    def test_nothing_is_installed_before_the_bootstrap(self, db, probe_kind):
        assert install_default_policies(initial=False) == []
        assert not ApprovalPolicy.objects.exists()


class TestTheEnginesValuation:
    def test_without_a_valuer_the_value_is_unknown(self, asset):
        previous = register_valuer(None)
        try:
            assert with_valuation(MatchFacts(asset=asset, amount_units=10**8)).valuation is None
        finally:
            register_valuer(previous)

    def test_the_engine_replaces_a_kinds_own_value_by_the_valuers(self, asset):
        previous = register_valuer(lambda a, units, currency: (Decimal(units) / 10**8 * 60000, "test"))
        try:
            facts = with_valuation(MatchFacts(asset=asset, amount_units=2 * 10**8, valuation=Decimal("1")))
        finally:
            register_valuer(previous)
        assert facts.valuation == Decimal("120000")

    def test_a_value_bounded_policy_governs_a_request_by_the_engines_value(
        self, team, funded, wallet, other_wallet
    ):
        from django.contrib.auth.models import Group

        large = ApprovalPolicy.objects.create(
            priority=55,
            name="Large transfers",
            kind="reserve.transfer",
            min_valuation=Decimal("100000"),
            expires_after=dt.timedelta(days=7),
        )
        PolicyTier.objects.create(
            policy=large, position=1, group=Group.objects.get(name="Board member"), required=3
        )
        previous = register_valuer(lambda a, units, currency: (Decimal(units) * 60000 / 10**8, "test"))
        try:
            big = make_transfer(team, wallet, other_wallet, amount="2")
            small = make_transfer(team, wallet, other_wallet, amount="1")
        finally:
            register_valuer(previous)
        assert (big.policy.name, big.valuation) == ("Large transfers", Decimal("120000.00"))
        assert (small.policy.name, small.valuation) == ("Transfers", Decimal("60000.00"))


class TestTheRequestAsShown:
    def test_the_approver_sees_progress_effect_and_may_decide(self, team, funded, wallet, other_wallet):
        request = make_transfer(team, wallet, other_wallet)
        view = request_view(request, team.custody1, with_records=True)
        assert view.may_decide and view.refusal is None
        assert [(t.group_name, t.required, t.approvers) for t in view.progress] == [
            ("Custody officer", 2, ())
        ]
        assert {line.direction for line in view.effect} == {"debit", "credit"}
        assert [e.action for e in view.audit] == ["reserve.request.created"]

    def test_the_maker_sees_why_they_may_not_decide(self, team, funded, wallet, other_wallet):
        request = make_transfer(team, wallet, other_wallet)
        view = request_view(request, team.maker)
        assert not view.may_decide
        assert "maker cannot decide" in view.refusal
        assert view.may_amend and view.may_cancel


class TestDeactivationRevokesOnEveryPath:
    def test_a_bulk_deactivation_revokes_approval_power(self, team):
        users = get_user_model().objects.filter(pk__in=[team.custody1.pk, team.custody2.pk])
        users.update(is_active=False)
        assert not ApproverMembership.objects.filter(user__in=users, revoked_at__isnull=True).exists()
        assert ApproverMembership.objects.filter(user=team.custody3, revoked_at__isnull=True).exists()
        users.update(is_active=True)
        assert not ApproverMembership.objects.filter(user__in=users, revoked_at__isnull=True).exists()

    def test_a_single_deactivation_is_revoked_and_audited(self, team):
        team.board1.is_active = False
        team.board1.save()
        assert not ApproverMembership.objects.filter(user=team.board1, revoked_at__isnull=True).exists()
        event = AuditEvent.objects.get(action="reserve.approvers.revoked_on_deactivation")
        assert event.data == {"groups": ["Board member"]}


class TestALostAuthenticator:
    def test_its_replacement_is_proposed_in_the_admin_and_decided_by_the_board(self, client, team, approve):
        from django.urls import reverse
        from django_otp.plugins.otp_totp.models import TOTPDevice

        TOTPDevice.objects.create(user=team.custody1, name="phone", confirmed=True)
        client.force_login(team.root)  # the administrator proposes; only the board decides
        response = client.post(
            reverse("admin:auth_user_propose_row", args=[team.custody1.pk, "replace-authenticator"]),
            {"user": "custody1", "reason": "Phone stolen; identity confirmed by a call to her desk."},
        )
        assert response.status_code == 302, response.content.decode()[:1500]
        from reserve.models import ApprovalRequest

        request = ApprovalRequest.objects.get(kind="reserve.authenticator_reset")
        assert request.policy.name == "Authenticator replacements"
        assert TOTPDevice.objects.filter(user=team.custody1).exists()
        approve(request, team.board1)
        assert TOTPDevice.objects.filter(user=team.custody1).exists()
        approve(request, team.board2)
        assert not TOTPDevice.objects.filter(user=team.custody1).exists()
        event = AuditEvent.objects.get(action="reserve.second_factor.reset")
        assert event.data["devices"] == ["phone"] and event.data["request"] == request.pk

    def test_nobody_replaces_their_own_alone(self, team, approve):
        request = create_request(
            kind="reserve.authenticator_reset",
            payload={"user": "board1", "reason": "Lost it."},
            maker=team.board1,
        )
        with pytest.raises(ApprovalError, match="maker cannot decide"):
            approve(request, team.board1)
