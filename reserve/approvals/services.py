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
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from reserve import roles
from reserve.approvals.access import active_memberships, approver_group_ids, may_make_requests
from reserve.approvals.registry import MatchFacts, RequestKind, UnknownKind, get_kind
from reserve.audit import record_event
from reserve.ledger.permit import approved_request
from reserve.models import (
    ApprovalPolicy,
    ApprovalRequest,
    ApproverMembership,
    Decision,
    RequestStatus,
    Verdict,
)
from reserve.retry import retry_on_conflict

User = get_user_model()


class ApprovalError(ValidationError):
    """A refused request or decision; the message says why. Nothing was written."""


# --- digest -----------------------------------------------------------------------------------


def canonical_action(kind: str, payload: dict) -> str:
    """The action as the approvers approve it: canonical JSON (sorted keys, no spaces)."""
    return json.dumps(
        {"kind": kind, "payload": payload}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def action_digest(kind: str, payload: dict) -> str:
    return hashlib.sha256(canonical_action(kind, payload).encode("utf-8")).hexdigest()


# --- policies ---------------------------------------------------------------------------------


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


def match_policy(kind: str, facts: MatchFacts) -> ApprovalPolicy:
    for policy in ApprovalPolicy.objects.filter(is_active=True).select_related("asset").order_by("priority"):
        if _policy_matches(policy, kind, facts):
            return policy
    raise ApprovalError(
        _("No approval policy covers this request; it cannot be made (the engine fails closed).")
    )


# --- approvers and quorum ----------------------------------------------------------------------


@dataclass(frozen=True)
class TierProgress:
    group_name: str
    required: int
    approvers: tuple[str, ...]

    @property
    def met(self) -> bool:
        return len(self.approvers) >= self.required


def _assign(request: ApprovalRequest, decisions: list[Decision]) -> list[TierProgress]:
    """Assign each counting approver to at most one tier seat (maximum bipartite matching)."""
    tiers = list(request.policy.tiers.select_related("group").order_by("position"))
    seats = [(tier, i) for tier in tiers for i in range(tier.required)]
    approver_ids = [d.approver_id for d in decisions]
    members: dict[int, set[int]] = {}
    for user_id, group_id in (
        active_memberships().filter(user_id__in=approver_ids).values_list("user_id", "group_id")
    ):
        members.setdefault(user_id, set()).add(group_id)
    seat_of: dict[int, int] = {}  # seat index -> user id

    def place(user_id: int, seen: set[int]) -> bool:
        for index, (tier, _n) in enumerate(seats):
            if tier.group_id in members.get(user_id, ()) and index not in seen:
                seen.add(index)
                if index not in seat_of or place(seat_of[index], seen):
                    seat_of[index] = user_id
                    return True
        return False

    for user_id in approver_ids:
        place(user_id, set())
    names = {d.approver_id: d.approver.get_username() for d in decisions}
    progress = []
    for tier in tiers:
        seated = {seat_of[i] for i, (t, _n) in enumerate(seats) if t.pk == tier.pk and i in seat_of}
        filled = [names[user_id] for user_id in approver_ids if user_id in seated]
        progress.append(
            TierProgress(group_name=tier.group.name, required=tier.required, approvers=tuple(filled))
        )
    return progress


def counting_approvals(request: ApprovalRequest) -> list[Decision]:
    """Approvals that count now: made on the current revision and digest, by an active user who
    is still an approver, and not by the maker unless the policy allows it."""
    qs = request.decisions.filter(
        verdict=Verdict.APPROVE,
        revision=request.revision,
        digest=request.payload_digest,
        approver__is_active=True,
    ).select_related("approver")
    if not request.policy.maker_may_approve:
        qs = qs.exclude(approver_id=request.maker_id)
    return list(qs)


def quorum_progress(request: ApprovalRequest) -> list[TierProgress]:
    return _assign(request, counting_approvals(request))


def quorum_met(request: ApprovalRequest) -> bool:
    return all(t.met for t in quorum_progress(request))


# --- requests ---------------------------------------------------------------------------------


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
    if idempotency_key:
        existing = ApprovalRequest.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            if existing.maker_id != maker.pk or existing.kind != kind:
                raise ApprovalError(_("This idempotency key belongs to another request."))
            return existing
    clean = handler.clean_payload(payload)
    action = handler.parse(clean)
    handler.check_executable(action)
    facts = handler.match_facts(action)
    policy = match_policy(kind, facts)
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
    with transaction.atomic():
        locked = ApprovalRequest.objects.select_for_update().get(pk=request.pk)
        if locked.maker_id != maker.pk:
            raise ApprovalError(_("Only the maker can amend a request."))
        _ensure_open(locked)
        handler = _kind(locked.kind)
        clean = handler.clean_payload(payload)
        action = handler.parse(clean)
        handler.check_executable(action)
        facts = handler.match_facts(action)
        policy = match_policy(locked.kind, facts)
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
        _ensure_open(locked)
        _close(locked, RequestStatus.CANCELLED, maker)
        record_event(action="reserve.request.cancelled", actor=maker, subject=locked)
    return locked


def _ensure_open(request: ApprovalRequest, now: dt.datetime | None = None) -> None:
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


def _close(request: ApprovalRequest, status: str, actor) -> None:
    request.status = status
    request.closed_at = timezone.now()
    if actor is not None:
        request._history_user = actor
    request.save(update_fields=["status", "closed_at"])


def _still_governed_by(request: ApprovalRequest) -> bool:
    """The policy that matches the request's facts today is still the one it was made under
    (a stricter policy added in front of it since then takes the request away)."""
    facts = MatchFacts(
        asset=request.asset,
        amount_units=request.amount_units,
        valuation=request.valuation,
        source_category=request.source_category,
        destination_category=request.destination_category,
    )
    try:
        return match_policy(request.kind, facts).pk == request.policy_id
    except ApprovalError:
        return False


#: Refusal codes that mean the request's state is in the way (the caller may retry after
#: reloading), as opposed to ``refused``: the caller may not do this at all.
STATE_CONFLICTS = frozenset(
    {"not_pending", "expired", "policy_changed", "digest_mismatch", "already_decided"}
)


def decision_refusal(request: ApprovalRequest, user, *, digest: str | None = None) -> ApprovalError | None:
    """The refusal :func:`decide` would raise for ``user`` now (its ``code`` says which rule), or
    None. :func:`decide` checks the same again under the lock."""
    try:
        _check_decider(request, user, digest=digest or request.payload_digest)
    except ApprovalError as exc:
        return exc
    return None


def refusal_reason(request: ApprovalRequest, user, *, digest: str | None = None) -> str | None:
    """Why ``user`` may not decide ``request`` now, or None (screens use it to hide buttons)."""
    refusal = decision_refusal(request, user, digest=digest)
    return refusal.messages[0] if refusal is not None else None


def _check_decider(request: ApprovalRequest, user, *, digest: str) -> None:
    _ensure_open(request)
    if user is None or not user.is_authenticated or not user.is_active:
        raise ApprovalError(_("Only an active, signed-in user can decide."), code="refused")
    if user.pk == request.maker_id and not request.policy.maker_may_approve:
        raise ApprovalError(_("You made this request; the maker cannot decide it."), code="refused")
    tier_groups = set(request.policy.tiers.values_list("group_id", flat=True))
    if not approver_group_ids(user) & tier_groups:
        raise ApprovalError(
            _("You are not an approver in any group this request's policy requires."), code="refused"
        )
    if (
        request.policy.version != request.policy_version
        or not request.policy.is_active
        or not _still_governed_by(request)
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
    if request.decisions.filter(approver=user, revision=request.revision).exists():
        raise ApprovalError(_("You have already decided this request."), code="already_decided")


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
        locked = ApprovalRequest.objects.select_for_update().select_related("policy").get(pk=request.pk)
        _check_decider(locked, approver, digest=digest)
        if locked.policy.requires_second_factor and not second_factor:
            raise ApprovalError(_("This decision needs a verified second factor."))
        Decision.objects.create(
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
        elif quorum_met(locked):
            _execute(locked, approver)
    return locked


def _execute(request: ApprovalRequest, approver) -> None:
    recomputed = action_digest(request.kind, request.payload)
    if recomputed != request.payload_digest:
        raise ApprovalError(
            _(
                "The stored action does not match its digest; it was changed outside the application. Nothing was executed."
            )
        )
    handler = _kind(request.kind)
    action = handler.parse(request.payload)
    handler.check_executable(action)
    progress = quorum_progress(request)
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


# --- who may approve -----------------------------------------------------------------------------


#: The policies a new installation starts with: (priority, name, kind, tiers, extra fields).
#: After the bootstrap they change only through approved ``reserve.policy_change`` requests.
DEFAULT_POLICIES = [
    (10, "Policy changes", "reserve.policy_change", [(roles.BOARD_MEMBER, 2)], {}),
    (20, "Approver changes", "reserve.approver_change", [(roles.BOARD_MEMBER, 2)], {}),
    (30, "Governed settings", "reserve.setting_change", [(roles.BOARD_MEMBER, 2)], {}),
    (
        40,
        "Allow-list changes",
        "reserve.allowlist_change",
        [(roles.TREASURY_OFFICER, 1), (roles.BOARD_MEMBER, 1)],
        {},
    ),
    (50, "Disposals", "reserve.disposal", [(roles.TREASURY_OFFICER, 2), (roles.BOARD_MEMBER, 1)], {}),
    (60, "Transfers", "reserve.transfer", [(roles.CUSTODY_OFFICER, 2)], {}),
    (1000, "Everything else", "", [(roles.CUSTODY_OFFICER, 1), (roles.TREASURY_OFFICER, 1)], {}),
]


@retry_on_conflict
def bootstrap_approvers(*, assignments: list[tuple[object, object]], actor=None) -> list[ApproverMembership]:
    """Set the very first approvers (user, group) once, and the default policies if there are
    none. Refused once any approver exists: after that, approvers and policies change only
    through approved requests. Refused if the approvers could not meet the default policies."""
    from django.contrib.auth.models import Group

    from reserve.models import PolicyTier

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
        if not ApprovalPolicy.objects.exists():
            for priority, name, kind, tiers, extra in DEFAULT_POLICIES:
                policy = ApprovalPolicy.objects.create(
                    priority=priority, name=name, kind=kind, expires_after=dt.timedelta(days=7), **extra
                )
                for position, (group_name, required) in enumerate(tiers, start=1):
                    PolicyTier.objects.create(
                        policy=policy,
                        position=position,
                        group=Group.objects.get(name=group_name),
                        required=required,
                    )
        short = []
        for policy in ApprovalPolicy.objects.filter(is_active=True).prefetch_related("tiers__group"):
            for tier in policy.tiers.all():
                members = active_memberships().filter(group=tier.group).count()
                if members < tier.required:
                    short.append(f"{policy.name}: {tier.group.name} needs {tier.required}, has {members}")
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


def requests_awaiting(user) -> QuerySet[ApprovalRequest]:
    """Pending, unexpired requests ``user`` could decide now (selector for the inbox)."""
    groups = approver_group_ids(user)
    if not groups:
        return ApprovalRequest.objects.none()
    decided = Decision.objects.filter(approver=user, request=OuterRef("pk"), revision=OuterRef("revision"))
    qs = (
        ApprovalRequest.objects.filter(status=RequestStatus.PENDING, expires_at__gt=timezone.now())
        .filter(policy__tiers__group_id__in=groups)
        .exclude(Exists(decided))
        .distinct()
    )
    return qs.exclude(Q(maker=user) & Q(policy__maker_may_approve=False))
