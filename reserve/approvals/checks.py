"""The rules a decision must pass, checked by the engine before it records a decision (and again
under the row lock) and asked by every face that wants to know whether to offer one.

Each refusal carries a code: see :mod:`reserve.approvals.errors`.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from reserve.approvals.access import approver_group_ids
from reserve.approvals.errors import ApprovalError
from reserve.approvals.policies import first_match
from reserve.approvals.quorum import Standing, policy_tiers
from reserve.approvals.registry import MatchFacts
from reserve.models import ApprovalRequest, RequestStatus


def ensure_open(request: ApprovalRequest, now: dt.datetime | None = None) -> None:
    if request.status != RequestStatus.PENDING:
        raise ApprovalError(
            _("This request is %(status)s; it takes no more decisions.")
            % {"status": request.get_status_display().lower()},
            code="not_pending",
        )
    if (now or timezone.now()) >= request.expires_at:
        raise ApprovalError(
            _("This request expired at %(when)s.") % {"when": timezone.localtime(request.expires_at)},
            code="expired",
        )


def still_governed_by(request: ApprovalRequest) -> bool:
    """The policy that matches the request's facts today is still the one it was made under
    (a stricter policy added in front of it since then takes the request away).

    Only the policies up to the request's own priority are read: a match behind it could never
    come first, and when none of those matches, no policy governs the request as made."""
    facts = MatchFacts(
        asset=request.asset,
        amount_units=request.amount_units,
        valuation=request.valuation,
        source_category=request.source_category,
        destination_category=request.destination_category,
    )
    found = first_match(request.kind, facts, up_to_priority=request.policy.priority)
    return found is not None and found.pk == request.policy_id


def decision_refusal(request: ApprovalRequest, user, *, digest: str | None = None) -> ApprovalError | None:
    """The refusal :func:`decide` would raise for ``user`` now (its ``code`` says which rule), or
    None. :func:`decide` checks the same again under the lock."""
    try:
        check_decider(request, user, digest=digest or request.payload_digest)
    except ApprovalError as exc:
        return exc
    return None


def refusal_reason(request: ApprovalRequest, user, *, digest: str | None = None) -> str | None:
    """Why ``user`` may not decide ``request`` now, or None (screens use it to hide buttons)."""
    refusal = decision_refusal(request, user, digest=digest)
    return refusal.messages[0] if refusal is not None else None


def check_decider(request: ApprovalRequest, user, *, digest: str, standing: Standing | None = None) -> None:
    """Raise the first rule ``user`` fails to decide ``request`` now. ``standing``: the
    request's decisions and the approvers' groups, when the caller (``decide``) has read them
    already under the lock."""
    ensure_open(request)
    if user is None or not user.is_authenticated or not user.is_active:
        raise ApprovalError(_("Only an active, signed-in user can decide."), code="refused")
    if user.pk == request.maker_id and not request.policy.maker_may_approve:
        raise ApprovalError(_("You made this request; the maker cannot decide it."), code="refused")
    tier_groups = {tier.group_id for tier in policy_tiers(request.policy)}
    user_groups = standing.groups.get(user.pk, set()) if standing is not None else approver_group_ids(user)
    if not user_groups & tier_groups:
        raise ApprovalError(
            _("You are not an approver in any group this request's policy requires."), code="refused"
        )
    if (
        request.policy.version != request.policy_version
        or not request.policy.is_active
        or not still_governed_by(request)
    ):
        raise ApprovalError(
            _("The policy governing this request changed after it was made; the maker must make it again."),
            code="policy_changed",
        )
    if digest != request.payload_digest:
        raise ApprovalError(
            _(
                "The request changed after you opened it (digest mismatch). Reload it and review the action again."
            ),
            code="digest_mismatch",
        )
    if standing is not None:
        already = any(d.approver_id == user.pk and d.revision == request.revision for d in standing.decisions)
    else:
        already = request.decisions.filter(approver=user, revision=request.revision).exists()
    if already:
        raise ApprovalError(_("You have already decided this request."), code="already_decided")
