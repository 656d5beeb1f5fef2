"""What an approved request changes besides the ledger goes through named services, each
writing its audit row in the same transaction: policies, approvers, governed settings, the
allow-list and period close. Also: kinds parse a stored payload once into a typed action, and
the payload checks are public for other apps' kinds."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

from reserve.approvals import payload as checks
from reserve.approvals.governance import change_setting, grant_approver, revoke_approver, save_policy
from reserve.approvals.registry import get_kind
from reserve.approvals.services import create_request
from reserve.custody.services import allowlist_address, remove_allowlisted_address
from reserve.kinds import TransferAction
from reserve.ledger.services import close_period
from reserve.models import AllowListedAddress, ApprovalPolicy, AuditEvent, Period, RequestStatus

pytestmark = pytest.mark.django_db

BC1 = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"


def _codes() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def _policy_rules(**changes) -> dict:
    rules = {
        "policy_id": None,
        "name": "Large transfers",
        "priority": 55,
        "is_active": True,
        "kind": "reserve.transfer",
        "asset": None,
        "min_units": None,
        "max_units": None,
        "valuation_currency": "USD",
        "min_valuation": None,
        "max_valuation": None,
        "source_category": "",
        "destination_category": "",
        "maker_may_approve": False,
        "expires_after": dt.timedelta(hours=24),
        "requires_second_factor": True,
        "tiers": [("Custody officer", 1), ("Board member", 1)],
    }
    return {**rules, **changes}


def test_saving_a_policy_writes_its_audit_row_and_a_change_raises_its_version(team):
    policy = save_policy(**_policy_rules(), actor=team.board1)
    created = AuditEvent.objects.get(action="reserve.policy.created")
    assert created.actor == team.board1
    assert created.data["tiers"] == [["Custody officer", 1], ["Board member", 1]]
    changed = save_policy(**_policy_rules(policy_id=policy.pk, priority=56), actor=team.board1)
    assert (changed.pk, changed.version, changed.priority) == (policy.pk, 2, 56)
    assert AuditEvent.objects.get(action="reserve.policy.changed").data["version"] == 2


def test_a_policy_change_that_would_end_governance_writes_nothing(team):
    governing = ApprovalPolicy.objects.get(name="Policy changes")
    rules = _policy_rules(
        policy_id=governing.pk,
        name=governing.name,
        priority=governing.priority,
        kind="reserve.policy_change",
        tiers=[("Board member", 4)],  # there are three
    )
    with pytest.raises(ValidationError, match="could never again be approved"):
        save_policy(**rules, actor=team.board1)
    governing.refresh_from_db()
    assert governing.version == 1
    assert [(t.group.name, t.required) for t in governing.tiers.all()] == [("Board member", 2)]
    assert "reserve.policy.changed" not in _codes()


def test_granting_and_revoking_an_approver_write_audit_rows(team):
    group = Group.objects.get(name="Custody officer")
    granted = grant_approver(user=team.outsider, group=group, actor=team.board1)
    assert team.outsider.groups.filter(pk=group.pk).exists()
    revoked = revoke_approver(user=team.outsider, group=group, actor=team.board1)
    assert revoked.pk == granted.pk and revoked.revoked_at is not None
    assert not team.outsider.groups.filter(pk=group.pk).exists()
    events = AuditEvent.objects.filter(action__in=["reserve.approvers.granted", "reserve.approvers.revoked"])
    assert [(e.action, e.data["user"], e.data["group"]) for e in events.order_by("id")] == [
        ("reserve.approvers.granted", "outsider", "Custody officer"),
        ("reserve.approvers.revoked", "outsider", "Custody officer"),
    ]


def test_changing_a_governed_setting_records_before_and_after(team):
    change_setting(key="allowlist_cooling_off_hours", value=72, actor=team.board1)
    change_setting(key="allowlist_cooling_off_hours", value=24, actor=team.board1)
    events = AuditEvent.objects.filter(action="reserve.setting.changed").order_by("id")
    assert [(e.data["before"], e.data["after"]) for e in events] == [(None, 72), (72, 24)]


def test_closing_a_period_writes_its_audit_row(team):
    period = close_period(year=2025, month=1, actor=team.board1)
    assert Period.objects.get(year=2025, month=1).closed_by == team.board1
    event = AuditEvent.objects.get(action="reserve.period.closed")
    assert (event.actor, event.subject_repr) == (team.board1, str(period))


def test_adding_and_removing_an_allowlisted_address_write_audit_rows(team):
    request = create_request(
        kind="reserve.allowlist_change",
        payload={"action": "add", "network": "bitcoin", "address": BC1, "label": "AIFC exchange"},
        maker=team.maker,
    )
    entry = allowlist_address(
        network="bitcoin", address=BC1, label="AIFC exchange", actor=team.board1, request=request
    )
    assert entry.usable_from - entry.added_at == dt.timedelta(hours=48)
    with pytest.raises(ValidationError, match="already on the allow-list"):
        allowlist_address(network="bitcoin", address=BC1, label="again", actor=team.board1, request=request)
    remove_allowlisted_address(network="bitcoin", address=BC1, actor=team.board1, request=request)
    assert not AllowListedAddress.objects.filter(removed_at__isnull=True).exists()
    assert [c for c in _codes() if c.startswith("reserve.allowlisted_address")] == [
        "reserve.allowlisted_address.added",
        "reserve.allowlisted_address.removed",
    ]
    assert AuditEvent.objects.get(action="reserve.allowlisted_address.added").data["request"] == request.pk


def test_an_executed_governance_request_audits_both_the_request_and_the_change(team, approve):
    request = create_request(
        kind="reserve.setting_change",
        payload={"key": "allowlist_cooling_off_hours", "value": 72},
        maker=team.maker,
    )
    approve(request, team.board1)
    approve(request, team.board2)
    request.refresh_from_db()
    assert request.status == RequestStatus.EXECUTED
    assert request.result == {"key": "allowlist_cooling_off_hours", "value": 72}
    assert _codes()[-2:] == ["reserve.setting.changed", "reserve.request.executed"]
    assert AuditEvent.objects.get(action="reserve.setting.changed").data["request"] == request.pk


def test_a_transfer_payload_is_parsed_once_into_a_typed_action(asset, wallet, other_wallet):
    kind = get_kind("reserve.transfer")
    payload = kind.clean_payload(
        {
            "asset": "BTC",
            "amount": "1.25",
            "fee": "0.0001",
            "from_wallet": "cold-a",
            "to_wallet": "cold-b",
            "category": "reserve:forfeited",
        }
    )
    action = kind.parse(payload)
    assert isinstance(action, TransferAction)
    assert (action.units, action.fee, action.debited) == (125_000_000, 10_000, 125_010_000)
    assert (action.source, action.destination) == (wallet, other_wallet)
    # The request page parses the stored payload once; the effect is the action's.
    assert kind.ledger_effect(kind.parse(payload)) == kind.ledger_effect(action)
    with pytest.raises(AttributeError):
        action.units = 1  # frozen


def test_the_payload_checks_name_every_bad_field_at_once(asset):
    errors = checks.PayloadErrors()
    assert checks.asset({"asset": "NOPE"}, errors) is None
    assert checks.amount({"amount": "1.5"}, "amount", errors, asset) == 150_000_000
    assert checks.amount({"amount": "-1"}, "fee", errors, asset) is None
    assert checks.text({}, "memo", errors) == ""
    with pytest.raises(ValidationError) as exc_info:
        errors.raise_if_any()
    assert set(exc_info.value.message_dict) == {"asset", "fee", "memo"}
