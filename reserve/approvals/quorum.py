"""Quorum: which approvals count, how they fill a policy's tiers, and whether a policy can be
met at all by the approvers in force.

A policy is a list of tiers ("2 of Custody officer", "1 of Board member"); each approval fills
at most one seat, and a person sitting in two groups still fills one seat only. Seats are
assigned by maximum bipartite matching, so the order in which people approve never matters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _

from reserve.approvals.access import active_memberships
from reserve.models import ApprovalPolicy, ApprovalRequest, Decision, PolicyTier, Verdict


@dataclass(frozen=True)
class TierProgress:
    group_name: str
    required: int
    approvers: tuple[str, ...]

    @property
    def met(self) -> bool:
        return len(self.approvers) >= self.required


def _groups_of(user_ids: Iterable[int]) -> dict[int, set[int]]:
    members: dict[int, set[int]] = {}
    for user_id, group_id in (
        active_memberships().filter(user_id__in=list(user_ids)).order_by().values_list("user_id", "group_id")
    ):
        members.setdefault(user_id, set()).add(group_id)
    return members


@dataclass
class Standing:
    """What ``decide`` reads once, under the request's lock, and hands to the decision checks
    and the quorum: the request's decisions on its current revision (with their approvers, in
    decision order) and the active approver groups of the deciding user and of everyone who
    decided that revision."""

    decisions: list[Decision]
    groups: dict[int, set[int]]

    @classmethod
    def read(cls, request: ApprovalRequest, user) -> Standing:
        decisions = list(request.decisions.filter(revision=request.revision).select_related("approver"))
        user_ids = {d.approver_id for d in decisions}
        if user is not None and user.is_authenticated:
            user_ids.add(user.pk)
        return cls(decisions=decisions, groups=_groups_of(user_ids))

    def add(self, decision: Decision) -> None:
        """Count a decision just recorded by the deciding user (whose groups are known)."""
        self.decisions = sorted([*self.decisions, decision], key=lambda d: (d.decided_at, d.pk))


def _seat(tiers: list, user_ids: list[int], members: dict[int, set[int]]) -> dict[int, int]:
    """Maximum matching of people to seats: {seat index: user id}; seats are (tier, n) pairs in
    the order of ``tiers``."""
    seats = [(tier, i) for tier in tiers for i in range(tier.required)]
    seat_of: dict[int, int] = {}

    def place(user_id: int, seen: set[int]) -> bool:
        for index, (tier, _n) in enumerate(seats):
            if tier.group_id in members.get(user_id, ()) and index not in seen:
                seen.add(index)
                if index not in seat_of or place(seat_of[index], seen):
                    seat_of[index] = user_id
                    return True
        return False

    for user_id in user_ids:
        place(user_id, set())
    return seat_of


def _tier_seat_ranges(tiers: list) -> list[range]:
    ranges, start = [], 0
    for tier in tiers:
        ranges.append(range(start, start + tier.required))
        start += tier.required
    return ranges


def policy_tiers(policy: ApprovalPolicy) -> list[PolicyTier]:
    """The policy's tiers in order, with their groups: the ones already prefetched on
    ``policy`` (``decide`` prefetches them with the locked request), else one query."""
    if "tiers" in getattr(policy, "_prefetched_objects_cache", {}):
        return list(policy.tiers.all())
    return list(policy.tiers.select_related("group").order_by("position"))


def counting_approvals(request: ApprovalRequest, standing: Standing | None = None) -> list[Decision]:
    """Approvals that count now: made on the current revision and digest, by an active user who
    is still an approver, and not by the maker unless the policy allows it. With ``standing``,
    its decisions are filtered instead of read again."""
    if standing is not None:
        return [
            d
            for d in standing.decisions
            if d.verdict == Verdict.APPROVE
            and d.revision == request.revision
            and d.digest == request.payload_digest
            and d.approver.is_active
            and (request.policy.maker_may_approve or d.approver_id != request.maker_id)
        ]
    qs = request.decisions.filter(
        verdict=Verdict.APPROVE,
        revision=request.revision,
        digest=request.payload_digest,
        approver__is_active=True,
    ).select_related("approver")
    if not request.policy.maker_may_approve:
        qs = qs.exclude(approver_id=request.maker_id)
    return list(qs)


def quorum_progress(request: ApprovalRequest, standing: Standing | None = None) -> list[TierProgress]:
    """How far the counting approvals fill each tier (from ``standing`` if given)."""
    counted = counting_approvals(request, standing)
    tiers = policy_tiers(request.policy)
    approver_ids = [d.approver_id for d in counted]
    groups = standing.groups if standing is not None else _groups_of(approver_ids)
    seat_of = _seat(tiers, approver_ids, groups)
    names = {d.approver_id: d.approver.get_username() for d in counted}
    progress = []
    for tier, seats in zip(tiers, _tier_seat_ranges(tiers), strict=True):
        seated = {seat_of[i] for i in seats if i in seat_of}
        filled = [names[user_id] for user_id in approver_ids if user_id in seated]
        progress.append(
            TierProgress(group_name=tier.group.name, required=tier.required, approvers=tuple(filled))
        )
    return progress


def quorum_met(request: ApprovalRequest) -> bool:
    return all(t.met for t in quorum_progress(request))


def policy_shortfall(policy: ApprovalPolicy, *, maker=None) -> list[str]:
    """Why the approvers in force could never meet ``policy`` for a request made by ``maker``
    (the maker excluded unless the policy lets them approve): one line per short group, or an
    empty list when the policy can be met."""
    tiers = policy_tiers(policy)
    people = active_memberships().filter(group_id__in=[t.group_id for t in tiers])
    if maker is not None and not policy.maker_may_approve:
        people = people.exclude(user_id=maker.pk)
    # Only the policy's own groups matter for its seats, so one read of those memberships is
    # each person's groups as far as this policy is concerned.
    members: dict[int, set[int]] = {}
    for user_id, group_id in people.order_by().values_list("user_id", "group_id"):
        members.setdefault(user_id, set()).add(group_id)
    user_ids = sorted(members)
    seat_of = _seat(tiers, user_ids, members)
    short = []
    for tier, seats in zip(tiers, _tier_seat_ranges(tiers), strict=True):
        filled = sum(1 for i in seats if i in seat_of)
        if filled < tier.required:
            available = sum(1 for groups in members.values() if tier.group_id in groups)
            values = {"group": tier.group.name, "required": tier.required, "available": available}
            if available < tier.required:
                short.append(_("%(group)s needs %(required)s approvers, %(available)s can decide") % values)
            else:
                short.append(
                    _(
                        "%(group)s needs %(required)s approvers; %(available)s sit in it, but some of them "
                        "are needed for another group of the same policy"
                    )
                    % values
                )
    return short
