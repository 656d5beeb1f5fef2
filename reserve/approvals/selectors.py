"""What the engine shows: the inbox of requests a person could decide, and "the request as
shown" — one view of a request for one viewer, used by the request page and the REST API alike
(progress, ledger effect, notices, and what the viewer may do with it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from reserve.amounts import AmountError
from reserve.approvals.access import approver_group_ids
from reserve.approvals.checks import refusal_reason
from reserve.approvals.quorum import TierProgress, quorum_progress
from reserve.approvals.registry import EffectLine, UnknownKind, get_kind
from reserve.models import ApprovalRequest, AuditEvent, Decision, JournalEntry, Posting, RequestStatus

#: What a kind may raise while describing an action whose objects changed since it was made
#: (a wallet deactivated, an asset renamed): the page still shows, without that part.
_STALE_ACTION = (UnknownKind, ObjectDoesNotExist, LookupError, ValueError, ValidationError, AmountError)


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


def ledger_effect(approval: ApprovalRequest) -> list[EffectLine] | None:
    """The ledger lines the action would post, or None when it can no longer be described."""
    try:
        kind = get_kind(approval.kind)
        return kind.ledger_effect(kind.parse(approval.payload))
    except _STALE_ACTION:
        return None


def notices(approval: ApprovalRequest) -> list[str]:
    """Facts an approver must see now (only while the request is pending)."""
    if approval.status != RequestStatus.PENDING:
        return []
    try:
        kind = get_kind(approval.kind)
        return [str(n) for n in kind.notices(kind.parse(approval.payload))]
    except _STALE_ACTION:
        return []


def kind_evidence(approval: ApprovalRequest) -> list[dict]:
    """The documents the kind finds from the action (see :meth:`RequestKind.evidence`)."""
    try:
        kind = get_kind(approval.kind)
        return list(kind.evidence(kind.parse(approval.payload)))
    except _STALE_ACTION:
        return []


@dataclass(frozen=True)
class RequestView:
    """A request as ``viewer`` sees it. ``refusal`` is why the viewer may not decide it now
    (None: they may, subject to the second factor the face checks)."""

    approval: ApprovalRequest
    progress: list[TierProgress]
    effect: list[EffectLine] | None
    notices: list[str]
    decisions: list[Decision]
    refusal: str | None
    expired: bool
    may_amend: bool
    may_cancel: bool
    entries: list[JournalEntry] = field(default_factory=list)
    audit: list[AuditEvent] = field(default_factory=list)
    evidence: list[dict] = field(default_factory=list)

    @property
    def may_decide(self) -> bool:
        return self.refusal is None


def request_view(approval: ApprovalRequest, viewer, *, with_records: bool = False) -> RequestView:
    """The one "request as shown". ``with_records`` adds the posted entries and the audit trail
    (the request page shows them; the API links to them)."""
    open_ = approval.status == RequestStatus.PENDING
    expired = open_ and approval.expires_at <= timezone.now()
    is_maker = viewer is not None and viewer.is_authenticated and approval.maker_id == viewer.pk
    entries: list[JournalEntry] = []
    audit: list[AuditEvent] = []
    if with_records:
        entries = list(
            JournalEntry.objects.filter(request=approval)
            .prefetch_related(
                Prefetch(
                    "postings", queryset=Posting.objects.select_related("account__asset", "account__wallet")
                )
            )
            .order_by("year", "sequence")
        )
        audit = list(
            AuditEvent.objects.filter(
                subject_content_type=ContentType.objects.get_for_model(ApprovalRequest),
                subject_object_id=str(approval.pk),
            )
            .select_related("actor")
            .order_by("id")
        )
    return RequestView(
        approval=approval,
        progress=quorum_progress(approval),
        effect=ledger_effect(approval),
        notices=notices(approval),
        decisions=list(approval.decisions.select_related("approver").order_by("decided_at", "id")),
        refusal=refusal_reason(approval, viewer),
        expired=expired,
        may_amend=is_maker and open_ and not expired,
        may_cancel=is_maker and open_ and not expired,
        entries=entries,
        audit=audit,
        evidence=kind_evidence(approval) if with_records else [],
    )
