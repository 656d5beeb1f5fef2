"""Who decides, and the books' calendar: approval policies, approver memberships, governed
settings and the closing of a month. Each changes only by an approved request, and a change
that would leave policy changes impossible to approve is refused."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reserve import roles
from reserve.approvals import payload as checks
from reserve.approvals.governance import (
    POLICY_CHANGE,
    active_approver_count,
    change_setting,
    ensure_governance_possible,
    grant_approver,
    revoke_approver,
    save_policy,
)
from reserve.approvals.registry import RequestKind
from reserve.ledger.services import close_period
from reserve.models import ApprovalPolicy, ApproverMembership, Asset, Category, Period, PolicyTier
from reserve.settings_governed import KEYS

User = get_user_model()

__all__ = [
    "ApproverChangeAction",
    "ApproverChangeKind",
    "PeriodCloseAction",
    "PeriodCloseKind",
    "PolicyChangeAction",
    "PolicyChangeKind",
    "SettingChangeAction",
    "SettingChangeKind",
    "ensure_governance_possible",
]


def _approver_group(name: str, errors: checks.PayloadErrors, field: str) -> Group | None:
    if name not in roles.APPROVER_ROLES:
        errors.add(field, _("Approver groups are: %(groups)s.") % {"groups": ", ".join(roles.APPROVER_ROLES)})
        return None
    return Group.objects.filter(name=name).first()


def _whole_number(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class PolicyChangeAction:
    """The policy's rules as :func:`reserve.approvals.governance.save_policy` takes them."""

    policy_id: int | None
    name: str
    priority: int
    is_active: bool
    kind: str
    asset: Asset | None
    min_units: int | None
    max_units: int | None
    valuation_currency: str
    min_valuation: Decimal | None
    max_valuation: Decimal | None
    source_category: str
    destination_category: str
    maker_may_approve: bool
    expires_after: dt.timedelta
    requires_second_factor: bool
    tiers: tuple[tuple[str, int], ...]  # (group name, approvals required)


class PolicyChangeKind(RequestKind):
    code = POLICY_CHANGE
    label = gettext_lazy("Approval policy change")
    slug = "policy-changes"

    FIELDS = (
        "name",
        "priority",
        "is_active",
        "kind",
        "asset",
        "min_amount",
        "max_amount",
        "valuation_currency",
        "min_valuation",
        "max_valuation",
        "source_category",
        "destination_category",
        "maker_may_approve",
        "expires_after_hours",
        "requires_second_factor",
        "tiers",
    )

    def clean_payload(self, payload: dict) -> dict:
        from reserve.approvals.registry import registered_kinds

        errors = checks.PayloadErrors()
        policy_id = payload.get("policy")
        if policy_id is not None and not ApprovalPolicy.objects.filter(pk=policy_id).exists():
            errors.add("policy", _("No such policy."))
        name = checks.text(payload, "name", errors, max_length=120)
        priority = payload.get("priority")
        if not _whole_number(priority) or priority < 1:
            errors.add("priority", _("A whole number from 1."))
        kind = checks.text(payload, "kind", errors, required=False, max_length=64)
        if kind and kind not in {k.code for k in registered_kinds()}:
            errors.add("kind", _("Unknown request kind."))
        asset = checks.asset(payload, errors) if payload.get("asset") else None
        min_amount = checks.amount(payload, "min_amount", errors, asset, required=False) if asset else None
        max_amount = checks.amount(payload, "max_amount", errors, asset, required=False) if asset else None
        if (payload.get("min_amount") or payload.get("max_amount")) and not asset:
            errors.add("asset", _("Amount bounds need an asset."))
        valuations = {}
        for field in ("min_valuation", "max_valuation"):
            raw = payload.get(field)
            if raw in (None, ""):
                valuations[field] = None
                continue
            try:
                value = Decimal(str(raw)) if isinstance(raw, str) else None
                if value is None or not value.is_finite() or value < 0:
                    raise InvalidOperation
                valuations[field] = str(value.quantize(Decimal("0.01")))
            except InvalidOperation:
                errors.add(field, _('A non-negative amount written as a string, such as "1000000.00".'))
        categories = [c.value for c in Category]
        source_category = (
            checks.category(payload, "source_category", errors, categories)
            if payload.get("source_category")
            else ""
        )
        destination_category = (
            checks.category(payload, "destination_category", errors, categories)
            if payload.get("destination_category")
            else ""
        )
        hours = payload.get("expires_after_hours")
        if not _whole_number(hours) or not 1 <= hours <= 24 * 90:
            errors.add("expires_after_hours", _("Between 1 and 2160 hours."))
        flags = {}
        for flag, default in (
            ("is_active", True),
            ("maker_may_approve", False),
            ("requires_second_factor", True),
        ):
            value = payload.get(flag, default)
            if not isinstance(value, bool):
                errors.add(flag, _("true or false."))
            flags[flag] = value
        tiers = []
        raw_tiers = payload.get("tiers")
        if not isinstance(raw_tiers, list) or not raw_tiers:
            errors.add("tiers", _("At least one tier of approvers."))
            raw_tiers = []
        for index, tier in enumerate(raw_tiers):
            if not isinstance(tier, dict):
                errors.add("tiers", _('Each tier is {"group": ..., "required": M}.'))
                continue
            group = _approver_group(str(tier.get("group", "")), errors, "tiers")
            required = tier.get("required")
            if not _whole_number(required) or required < 1:
                errors.add(
                    "tiers", _("Tier %(n)d: required approvals is a whole number from 1.") % {"n": index + 1}
                )
                continue
            if group is not None:
                tiers.append({"group": group.name, "required": required})
        total = sum(t["required"] for t in tiers)
        if tiers and total < 2:
            errors.add(
                "tiers", _("At least two distinct approvers in all: one person can never decide alone.")
            )
        if flags["maker_may_approve"] and tiers and total < 3:
            errors.add(
                "maker_may_approve",
                _(
                    "When the maker may approve, the tiers must need at least three approvers, so that two others always decide too."
                ),
            )
        for tier in tiers:
            group = Group.objects.get(name=tier["group"])
            available = active_approver_count(group)
            if tier["required"] > available:
                errors.add(
                    "tiers",
                    _(
                        "%(group)s has %(available)d active approvers; a tier needing %(required)d could never be met."
                    )
                    % {"group": group.name, "available": available, "required": tier["required"]},
                )
        errors.raise_if_any()
        return {
            "policy": policy_id,
            "name": name,
            "priority": priority,
            "kind": kind,
            "asset": asset.symbol if asset else "",
            "min_amount": asset.format(min_amount) if min_amount is not None else "",
            "max_amount": asset.format(max_amount) if max_amount is not None else "",
            "valuation_currency": "USD",
            **valuations,
            "source_category": source_category,
            "destination_category": destination_category,
            "expires_after_hours": hours,
            **flags,
            "tiers": tiers,
        }

    def parse(self, payload: dict) -> PolicyChangeAction:
        asset = Asset.objects.get(symbol=payload["asset"]) if payload["asset"] else None
        return PolicyChangeAction(
            policy_id=payload["policy"],
            name=payload["name"],
            priority=payload["priority"],
            is_active=payload["is_active"],
            kind=payload["kind"],
            asset=asset,
            min_units=asset.parse(payload["min_amount"]) if asset and payload["min_amount"] else None,
            max_units=asset.parse(payload["max_amount"]) if asset and payload["max_amount"] else None,
            valuation_currency=payload["valuation_currency"],
            min_valuation=Decimal(payload["min_valuation"]) if payload["min_valuation"] else None,
            max_valuation=Decimal(payload["max_valuation"]) if payload["max_valuation"] else None,
            source_category=payload["source_category"],
            destination_category=payload["destination_category"],
            maker_may_approve=payload["maker_may_approve"],
            expires_after=dt.timedelta(hours=payload["expires_after_hours"]),
            requires_second_factor=payload["requires_second_factor"],
            tiers=tuple((tier["group"], tier["required"]) for tier in payload["tiers"]),
        )

    def title(self, action: PolicyChangeAction) -> str:
        if action.policy_id is None:
            return _("New approval policy “%(name)s”") % {"name": action.name}
        return _("Change approval policy “%(name)s”") % {"name": action.name}

    def check_executable(self, action: PolicyChangeAction) -> None:
        others = ApprovalPolicy.objects.exclude(pk=action.policy_id)
        clash = others.filter(priority=action.priority).first()
        if clash is not None:
            raise ValidationError(
                {
                    "priority": [
                        _("Priority %(p)d is taken by “%(name)s”.")
                        % {"p": action.priority, "name": clash.name}
                    ]
                }
            )
        if others.filter(name=action.name).exists():
            raise ValidationError({"name": [_("Another policy has this name.")]})

    def execute(self, *, request, action: PolicyChangeAction, actor) -> dict:
        rules = {field.name: getattr(action, field.name) for field in fields(action)}
        policy = save_policy(**rules, actor=actor, request=request)
        return {"policy": policy.pk, "version": policy.version}


@dataclass(frozen=True)
class ApproverChangeAction:
    change: str  # "grant" or "revoke"
    user: object  # the user the request was made for (pinned by id and username)
    group: Group


class ApproverChangeKind(RequestKind):
    code = "reserve.approver_change"
    label = gettext_lazy("Approver group membership change")
    slug = "approver-changes"

    def clean_payload(self, payload: dict) -> dict:
        errors = checks.PayloadErrors()
        action = checks.text(payload, "action", errors)
        if action and action not in ("grant", "revoke"):
            errors.add("action", _("Choose grant or revoke."))
        username = checks.text(payload, "user", errors, max_length=150)
        user = User.objects.filter(username=username).first() if username else None
        if username and user is None:
            errors.add("user", _("No such user."))
        group_name = checks.text(payload, "group", errors)
        if group_name:
            _approver_group(group_name, errors, "group")
        errors.raise_if_any()
        # The id pins the person: a username renamed after approval cannot redirect the grant.
        return {"action": action, "user": username, "user_id": user.pk, "group": group_name}

    def parse(self, payload: dict) -> ApproverChangeAction:
        user = User.objects.filter(pk=payload["user_id"], username=payload["user"]).first()
        if user is None:
            raise ValidationError(
                {"user": [_("This user was renamed or removed since the request was made.")]}
            )
        return ApproverChangeAction(
            change=payload["action"], user=user, group=Group.objects.get(name=payload["group"])
        )

    def title(self, action: ApproverChangeAction) -> str:
        names = {"user": action.user.get_username(), "group": action.group.name}
        if action.change == "grant":
            return _("Make %(user)s an approver in %(group)s") % names
        return _("Remove %(user)s from the approvers in %(group)s") % names

    def check_executable(self, action: ApproverChangeAction) -> None:
        user, group = action.user, action.group
        member = ApproverMembership.objects.filter(user=user, group=group, revoked_at__isnull=True).exists()
        if action.change == "grant":
            if member:
                raise ValidationError({"user": [_("Already an approver in this group.")]})
            if not user.is_active:
                raise ValidationError({"user": [_("This user is deactivated.")]})
            if user.groups.filter(name=roles.INTEGRATION_CLIENT).exists():
                raise ValidationError({"user": [_("An integration client cannot be an approver.")]})
        else:
            if not member:
                raise ValidationError({"user": [_("Not an approver in this group.")]})
            for tier in PolicyTier.objects.filter(group=group, policy__is_active=True).select_related(
                "policy"
            ):
                if active_approver_count(group, without=(user.pk, group.pk)) < tier.required:
                    raise ValidationError(
                        {
                            "user": [
                                _(
                                    "Without this approver, policy “%(policy)s” could never be met; change the policy first."
                                )
                                % {"policy": tier.policy.name}
                            ]
                        }
                    )

    def execute(self, *, request, action: ApproverChangeAction, actor) -> dict:
        change = grant_approver if action.change == "grant" else revoke_approver
        membership = change(user=action.user, group=action.group, actor=actor, request=request)
        return {"membership": membership.pk}


@dataclass(frozen=True)
class SettingChangeAction:
    key: str
    value: int


class SettingChangeKind(RequestKind):
    code = "reserve.setting_change"
    label = gettext_lazy("Governed setting change")
    slug = "setting-changes"

    def clean_payload(self, payload: dict) -> dict:
        errors = checks.PayloadErrors()
        key = checks.text(payload, "key", errors, max_length=64)
        spec = KEYS.get(key)
        if key and spec is None:
            errors.add("key", _("Governed settings: %(keys)s.") % {"keys": ", ".join(KEYS)})
        value = payload.get("value")
        if spec is not None and (not _whole_number(value) or not spec.minimum <= value <= spec.maximum):
            errors.add(
                "value", _("A whole number from %(lo)d to %(hi)d.") % {"lo": spec.minimum, "hi": spec.maximum}
            )
        errors.raise_if_any()
        return {"key": key, "value": value}

    def parse(self, payload: dict) -> SettingChangeAction:
        return SettingChangeAction(key=payload["key"], value=payload["value"])

    def title(self, action: SettingChangeAction) -> str:
        return _("Set %(key)s to %(value)s") % {"key": action.key, "value": action.value}

    def execute(self, *, request, action: SettingChangeAction, actor) -> dict:
        change_setting(key=action.key, value=action.value, actor=actor, request=request)
        return {"key": action.key, "value": action.value}


@dataclass(frozen=True)
class PeriodCloseAction:
    year: int
    month: int


class PeriodCloseKind(RequestKind):
    code = "reserve.period_close"
    label = gettext_lazy("Period close")
    slug = "period-closes"

    def clean_payload(self, payload: dict) -> dict:
        errors = checks.PayloadErrors()
        year, month = payload.get("year"), payload.get("month")
        if not _whole_number(year) or not 2009 <= year <= 9999:
            errors.add("year", _("A year such as 2026."))
        if not _whole_number(month) or not 1 <= month <= 12:
            errors.add("month", _("A month from 1 to 12."))
        errors.raise_if_any()
        return {"year": year, "month": month}

    def parse(self, payload: dict) -> PeriodCloseAction:
        return PeriodCloseAction(year=payload["year"], month=payload["month"])

    def title(self, action: PeriodCloseAction) -> str:
        return _("Close period %(year)d-%(month)02d") % {"year": action.year, "month": action.month}

    def check_executable(self, action: PeriodCloseAction) -> None:
        today = timezone.localdate()
        if (action.year, action.month) >= (today.year, today.month):
            raise ValidationError({"month": [_("Only a month that has ended can be closed.")]})
        if Period.objects.filter(year=action.year, month=action.month, closed_at__isnull=False).exists():
            raise ValidationError({"month": [_("This period is already closed.")]})

    def execute(self, *, request, action: PeriodCloseAction, actor) -> dict:
        period = close_period(year=action.year, month=action.month, actor=actor, request=request)
        return {"period": str(period)}
