"""The approval engine: one path for every decision (DESIGN §4).

``create_request`` matches a policy (first match by priority; none: refused), fixes the
action's canonical digest and its expiry. ``decide`` records one decision under a row lock on
the request; when the quorum is met the action executes in the same transaction, exactly once.
Approval power is counted from :class:`ApproverMembership` only — staff and superuser flags,
Django permissions and admin group edits give none.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from reserve import roles
from reserve.approvals.access import may_make_kind, may_make_requests
from reserve.approvals.checks import check_decider, decision_refusal, ensure_open, refusal_reason
from reserve.approvals.errors import STATE_CONFLICTS, ApprovalError
from reserve.approvals.policies import install_default_policies, match_policy
from reserve.approvals.quorum import Standing, TierProgress, policy_shortfall, quorum_met, quorum_progress
from reserve.approvals.registry import MatchFacts, RequestKind, UnknownKind, get_kind
from reserve.approvals.selectors import requests_awaiting
from reserve.approvals.valuation import with_valuation
from reserve.audit import record_event
from reserve.ledger.permit import approved_request
from reserve.models import (
    ApprovalPolicy,
    ApprovalRequest,
    ApproverMembership,
    Decision,
    PolicyTier,
    RequestStatus,
    Verdict,
)
from reserve.retry import retry_on_conflict

User = get_user_model()

__all__ = [
    "STATE_CONFLICTS",
    "ApprovalError",
    "action_digest",
    "amend_request",
    "bootstrap_approvers",
    "cancel_request",
    "canonical_action",
    "create_request",
    "decide",
    "decision_refusal",
    "expire_requests",
    "match_policy",
    "quorum_met",
    "quorum_progress",
    "refusal_reason",
    "requests_awaiting",
]


def canonical_action(kind: str, payload: dict) -> str:
    """The action as the approvers approve it: canonical JSON (sorted keys, no spaces)."""
    return json.dumps(
        {"kind": kind, "payload": payload}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def action_digest(kind: str, payload: dict) -> str:
    return hashlib.sha256(canonical_action(kind, payload).encode("utf-8")).hexdigest()


def _kind(code: str) -> RequestKind:
    try:
        return get_kind(code)
    except UnknownKind:
        raise ApprovalError(_("Unknown request kind %(kind)s.") % {"kind": code})


def _facts_fields(facts: MatchFacts) -> dict:
    return {
        "asset": facts.asset,
        "amount_units": facts.amount_units,
        "valuation": facts.valuation,
        "valuation_source": facts.valuation_source,
        "source_category": facts.source_category,
        "destination_category": facts.destination_category,
    }


@retry_on_conflict
def create_request(
    *,
    kind: str,
    payload: dict,
    maker,
    comment: str = "",
    evidence: list | None = None,
    idempotency_key: str | None = None,
) -> ApprovalRequest:
    """Make a request. Refused when the payload is invalid, the action could never execute,
    or no policy covers it."""
    if maker is None or not maker.is_authenticated or not maker.is_active:
        raise ApprovalError(_("Only an active, signed-in user can make a request."))
    if not may_make_requests(maker):
        raise ApprovalError(
            _(
                "Auditors read everything and change nothing: they cannot make requests. Requests are made by "
                "clerks, approvers and integration clients."
            ),
            code="refused",
        )
    handler = _kind(kind)
    _ensure_may_make(handler, maker)
    if idempotency_key:
        existing = ApprovalRequest.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            if existing.maker_id != maker.pk or existing.kind != kind:
                raise ApprovalError(_("This idempotency key belongs to another request."))
            return existing
    clean, action = handler.clean_and_parse(handler.prepare(payload, maker=maker))
    handler.check_executable(action)
    facts = with_valuation(handler.match_facts(action))
    policy = match_policy(kind, facts)
    _ensure_meetable(policy, maker)
    now = timezone.now()
    with transaction.atomic():
        request = ApprovalRequest(
            kind=kind,
            title=handler.title(action)[:255],
            maker=maker,
            created_at=now,
            expires_at=now + policy.expires_after,
            payload=clean,
            payload_digest=action_digest(kind, clean),
            evidence=evidence or [],
            comment=comment,
            policy=policy,
            policy_version=policy.version,
            idempotency_key=idempotency_key or None,
            **_facts_fields(facts),
        )
        request._history_user = maker
        request.save()
        record_event(
            action="reserve.request.created",
            actor=maker,
            subject=request,
            data={"kind": kind, "digest": request.payload_digest, "policy": policy.name, "payload": clean},
        )
    return request


@retry_on_conflict
def amend_request(*, request: ApprovalRequest, payload: dict, maker, comment: str = "") -> ApprovalRequest:
    """Change a pending request's action. Every decision made so far stops counting."""
    handler = _kind(request.kind)
    if request.maker_id == maker.pk:
        _ensure_may_make(handler, maker)
        payload = handler.prepare(payload, maker=maker)  # before the row lock: it may ask a source
    with transaction.atomic():
        locked = ApprovalRequest.objects.select_for_update().get(pk=request.pk)
        if locked.maker_id != maker.pk:
            raise ApprovalError(_("Only the maker can amend a request."))
        ensure_open(locked)
        _ensure_may_make(handler, maker)
        clean, action = handler.clean_and_parse(payload)
        handler.check_executable(action)
        facts = with_valuation(handler.match_facts(action))
        policy = match_policy(locked.kind, facts)
        _ensure_meetable(policy, maker)
        before = locked.payload_digest
        locked.payload = clean
        locked.payload_digest = action_digest(locked.kind, clean)
        locked.revision += 1
        locked.title = handler.title(action)[:255]
        locked.policy = policy
        locked.policy_version = policy.version
        for name, value in _facts_fields(facts).items():
            setattr(locked, name, value)
        if comment:
            locked.comment = comment
        locked._history_user = maker
        locked.save()
        record_event(
            action="reserve.request.amended",
            actor=maker,
            subject=locked,
            data={"digest_before": before, "digest": locked.payload_digest, "revision": locked.revision},
        )
    return locked


@retry_on_conflict
def cancel_request(*, request: ApprovalRequest, maker) -> ApprovalRequest:
    with transaction.atomic():
        locked = ApprovalRequest.objects.select_for_update().get(pk=request.pk)
        if locked.maker_id != maker.pk:
            raise ApprovalError(_("Only the maker can cancel a request."))
        ensure_open(locked)
        _close(locked, RequestStatus.CANCELLED, maker)
        record_event(action="reserve.request.cancelled", actor=maker, subject=locked)
    return locked


def _ensure_may_make(handler: RequestKind, maker) -> None:
    """The kind names who may make it (``RequestKind.maker_roles``): anyone else is refused."""
    if not may_make_kind(maker, handler):
        raise ApprovalError(
            _('Your role may not make "%(kind)s" requests; they are made by: %(roles)s.')
            % {
                "kind": handler.label,
                "roles": ", ".join(handler.maker_roles or ()),
            },
            code="refused",
        )


def _ensure_meetable(policy, maker) -> None:
    """A request the approvers in force could never approve is refused when made, instead of
    sitting at "1 of 2" for its whole life."""
    short = policy_shortfall(policy, maker=maker)
    if short:
        raise ApprovalError(
            _(
                "The approvers in force could never approve this request under the policy "
                '"%(policy)s": %(short)s. Ask the board to add approvers first.'
            )
            % {"policy": policy.name, "short": "; ".join(short)},
            code="unmeetable",
        )


def _close(request: ApprovalRequest, status: str, actor) -> None:
    request.status = status
    request.closed_at = timezone.now()
    if actor is not None:
        request._history_user = actor
    request.save(update_fields=["status", "closed_at"])


@retry_on_conflict
def decide(
    *,
    request: ApprovalRequest,
    approver,
    verdict: str,
    comment: str = "",
    digest: str,
    second_factor: bool,
    via: str = "screen",
) -> ApprovalRequest:
    """Record one decision. A rejection ends the request; the approval that completes the
    quorum executes the action in this same transaction (exactly once: the request row is
    locked and must still be pending)."""
    if verdict not in Verdict.values:
        raise ApprovalError(_("A decision is approve or reject."))
    comment = (comment or "").strip()
    if verdict == Verdict.REJECT and not comment:
        raise ApprovalError({"comment": [_("Say why you reject the request.")]})
    with transaction.atomic():
        # The request and its policy are locked (a policy change waits for this decision, or
        # this decision sees the changed version); the asset the policy match needs and the
        # policy's tiers are read with them, not locked.
        locked = (
            ApprovalRequest.objects.select_for_update(of=("self", "policy"))
            .select_related("policy", "asset")
            .prefetch_related(
                Prefetch(
                    "policy__tiers", queryset=PolicyTier.objects.select_related("group").order_by("position")
                )
            )
            .get(pk=request.pk)
        )
        # This revision's decisions and the approvers' groups, read once: whether the approver
        # may decide, and then (with the new decision) whether the quorum is met.
        standing = Standing.read(locked, approver)
        check_decider(locked, approver, digest=digest, standing=standing)
        if locked.policy.requires_second_factor and not second_factor:
            raise ApprovalError(_("This decision needs a verified second factor."))
        decision = Decision.objects.create(
            request=locked,
            approver=approver,
            verdict=verdict,
            comment=comment,
            digest=digest,
            revision=locked.revision,
            second_factor=second_factor,
            decided_at=timezone.now(),
            via=via,
        )
        record_event(
            action=f"reserve.request.{'approved' if verdict == Verdict.APPROVE else 'rejected'}_by",
            actor=approver,
            subject=locked,
            data={"digest": digest, "revision": locked.revision, "comment": comment, "via": via},
        )
        if verdict == Verdict.REJECT:
            _close(locked, RequestStatus.REJECTED, approver)
            record_event(action="reserve.request.rejected", actor=approver, subject=locked)
        else:
            standing.add(decision)
            progress = quorum_progress(locked, standing)
            if all(t.met for t in progress):
                _execute(locked, approver, progress)
    return locked


def _execute(request: ApprovalRequest, approver, progress: list[TierProgress]) -> None:
    """Carry out the action of ``request``, whose quorum ``progress`` has just been met in this
    transaction (it is recorded with the execution)."""
    recomputed = action_digest(request.kind, request.payload)
    if recomputed != request.payload_digest:
        raise ApprovalError(
            _(
                "The stored action does not match its digest; it was changed outside the application. Nothing was executed."
            )
        )
    handler = _kind(request.kind)
    action = handler.parse_request(request)
    handler.check_executable(action)
    with approved_request(request.pk):
        result = handler.execute(request=request, action=action, actor=approver) or {}
    request.status = RequestStatus.EXECUTED
    request.executed_at = request.closed_at = timezone.now()
    request.result = result
    request._history_user = approver
    request.save(update_fields=["status", "executed_at", "closed_at", "result"])
    record_event(
        action="reserve.request.executed",
        actor=approver,
        subject=request,
        data={
            "digest": request.payload_digest,
            "result": result,
            "quorum": {t.group_name: list(t.approvers) for t in progress},
        },
    )


def expire_requests(now: dt.datetime | None = None) -> int:
    """Close pending requests past their expiry. Safe to run any number of times."""
    now = now or timezone.now()
    expired = 0
    for pk in ApprovalRequest.objects.filter(status=RequestStatus.PENDING, expires_at__lte=now).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            locked = ApprovalRequest.objects.select_for_update().get(pk=pk)
            if locked.status == RequestStatus.PENDING and locked.expires_at <= now:
                _close(locked, RequestStatus.EXPIRED, None)
                record_event(action="reserve.request.expired", subject=locked)
                expired += 1
    return expired


@retry_on_conflict
def bootstrap_approvers(*, assignments: list[tuple[object, object]], actor=None) -> list[ApproverMembership]:
    """Set the very first approvers (user, group) once, and the default policies if there are
    none. Refused once any approver exists: after that, approvers and policies change only
    through approved requests. Refused if the approvers could not meet the default policies."""
    with transaction.atomic():
        if ApproverMembership.objects.exists():
            raise ApprovalError(_("Approvers already exist; change them through an approver-change request."))
        for user, group in assignments:
            if group.name not in roles.APPROVER_ROLES:
                raise ApprovalError(_("%(group)s is not an approver group.") % {"group": group.name})
            if not user.is_active:
                raise ApprovalError(_("%(user)s is deactivated.") % {"user": user.get_username()})
        if len({(u.pk, g.pk) for u, g in assignments}) != len(assignments):
            raise ApprovalError(_("The same approver is listed twice in one group."))
        now = timezone.now()
        created = []
        for user, group in assignments:
            membership = ApproverMembership.objects.create(user=user, group=group, granted_at=now)
            user.groups.add(group)
            created.append(membership)
        install_default_policies(initial=True)
        short = [
            f"{policy.name}: {line}"
            for policy in ApprovalPolicy.objects.filter(is_active=True)
            for line in policy_shortfall(policy)
        ]
        if short:
            raise ApprovalError(
                _("These approvers could not meet the policies: %(short)s.") % {"short": "; ".join(short)}
            )
        record_event(
            action="reserve.approvers.bootstrapped",
            actor=actor,
            data={"approvers": [f"{u.get_username()} in {g.name}" for u, g in assignments]},
        )
    return created
