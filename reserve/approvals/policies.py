"""Approval policies: which policy governs a request, and the defaults each app registers.

A request is governed by the first active policy, by priority, whose conditions its facts meet;
none: the request cannot be made (the engine fails closed). An app registers the default policy
of each of its kinds from ``AppConfig.ready()`` with :func:`register_default_policy`; the
first-approvers bootstrap installs every registered default, and a kind registered after the
bootstrap (a new app deployed later) gets its default installed at the next migrate, once,
with an audit event. After that, policies change only through approved policy-change requests.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from reserve.approvals.errors import ApprovalError
from reserve.approvals.registry import MatchFacts
from reserve.audit import record_event
from reserve.models import ApprovalPolicy


def _policy_matches(policy: ApprovalPolicy, kind: str, facts: MatchFacts) -> bool:
    if policy.kind and policy.kind != kind:
        return False
    if policy.asset_id is not None and (facts.asset is None or facts.asset.pk != policy.asset_id):
        return False
    if policy.min_units is not None or policy.max_units is not None:
        if facts.amount_units is None:
            return False
        if policy.min_units is not None and facts.amount_units < policy.min_units:
            return False
        if policy.max_units is not None and facts.amount_units >= policy.max_units:
            return False
    if policy.min_valuation is not None or policy.max_valuation is not None:
        # An unknown valuation counts as unbounded: it can only fall into a policy without an
        # upper valuation bound, i.e. the strictest one (fail closed).
        if facts.valuation is None:
            if policy.max_valuation is not None:
                return False
        else:
            if policy.min_valuation is not None and facts.valuation < policy.min_valuation:
                return False
            if policy.max_valuation is not None and facts.valuation >= policy.max_valuation:
                return False
    if policy.source_category and policy.source_category != facts.source_category:
        return False
    if policy.destination_category and policy.destination_category != facts.destination_category:
        return False
    return True


def first_match(kind: str, facts: MatchFacts, *, up_to_priority: int | None = None) -> ApprovalPolicy | None:
    """The first active policy, by priority, whose conditions ``facts`` meet, or None.

    The database leaves out the policies of other kinds (the first condition
    :func:`_policy_matches` checks, so the answer is the same), sparing the reading of every
    app's policies at each step. ``up_to_priority``: only the policies at that priority or in
    front of it are read, for a caller that asks whether a given policy still comes first. A
    policy's asset is not read with it: matching needs only its id."""
    policies = ApprovalPolicy.objects.filter(is_active=True, kind__in=("", kind))
    if up_to_priority is not None:
        policies = policies.filter(priority__lte=up_to_priority)
    for policy in policies.order_by("priority"):
        if _policy_matches(policy, kind, facts):
            return policy
    return None


def match_policy(kind: str, facts: MatchFacts) -> ApprovalPolicy:
    policy = first_match(kind, facts)
    if policy is None:
        raise ApprovalError(
            _("No approval policy covers this request; it cannot be made (the engine fails closed).")
        )
    return policy


@dataclass(frozen=True)
class DefaultPolicy:
    """A policy a new installation starts with. ``kind`` empty: the catch-all."""

    priority: int
    name: str
    kind: str
    tiers: tuple[tuple[str, int], ...]  # (approver group name, required approvals)
    expires_after: dt.timedelta = dt.timedelta(days=7)
    requires_second_factor: bool = True


_DEFAULTS: dict[str, DefaultPolicy] = {}


def register_default_policy(policy: DefaultPolicy) -> DefaultPolicy:
    """Register an app's default policy (from ``ready()``); one per name."""
    existing = _DEFAULTS.get(policy.name)
    if existing is not None and existing != policy:
        raise ValueError(f"default policy {policy.name!r} is already registered differently")
    _DEFAULTS[policy.name] = policy
    return policy


def default_policies() -> list[DefaultPolicy]:
    return sorted(_DEFAULTS.values(), key=lambda p: (p.priority, p.name))


def _create(default: DefaultPolicy) -> ApprovalPolicy:
    from django.contrib.auth.models import Group

    from reserve.models import PolicyTier

    fields = {"priority": default.priority, "name": default.name, "kind": default.kind}
    fields["expires_after"] = default.expires_after
    if not default.requires_second_factor:
        fields["requires_second_factor"] = False
    policy = ApprovalPolicy.objects.create(**fields)
    for position, (group_name, required) in enumerate(default.tiers, start=1):
        group, _created = Group.objects.get_or_create(name=group_name)
        PolicyTier.objects.create(policy=policy, position=position, group=group, required=required)
    return policy


def install_default_policies(*, initial: bool) -> list[ApprovalPolicy]:
    """Create the registered defaults. ``initial`` (the first-approvers bootstrap, no policy
    yet): all of them. Otherwise only the defaults of kinds that have no policy of their own,
    active or not (a kind deployed after the bootstrap), and only once approvers exist: a
    policy the board retired is never brought back."""
    created = []
    with transaction.atomic():
        if initial:
            if ApprovalPolicy.objects.exists():
                return []
            defaults = default_policies()
        else:
            if not ApprovalPolicy.objects.exists():
                return []  # not bootstrapped yet: the bootstrap installs them all
            known_kinds = set(ApprovalPolicy.objects.values_list("kind", flat=True))
            known_names = set(ApprovalPolicy.objects.values_list("name", flat=True))
            defaults = [
                d
                for d in default_policies()
                if d.kind and d.kind not in known_kinds and d.name not in known_names
            ]
        taken = set(ApprovalPolicy.objects.values_list("priority", flat=True))
        skipped = [d for d in defaults if d.priority in taken]
        for default in defaults:
            if default not in skipped:
                created.append(_create(default))
        if skipped:
            # The board moved another policy onto this priority; it must place this kind's
            # policy itself, through a policy-change request.
            record_event(
                action="approvals.policy.default_skipped",
                data={"policies": [d.name for d in skipped], "reason": "priority taken"},
            )
        if created and not initial:
            record_event(
                action="approvals.policy.default_installed",
                data={"policies": [p.name for p in created], "kinds": [p.kind for p in created]},
            )
    return created


def install_defaults_after_migrate(sender, **kwargs) -> None:
    """post_migrate: a kind registered after the bootstrap gets its default policy."""
    if sender.name != "reserve":
        return
    install_default_policies(initial=False)
