from collections.abc import Sequence
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from reserve.models import AuditEvent


def audit_event_row(
    *, action: str, actor=None, subject: models.Model | None = None, data: dict[str, Any] | None = None
) -> AuditEvent:
    """The unsaved row :func:`record_event` writes (for a service that inserts it with others)."""
    return AuditEvent(
        action=action,
        actor=actor if actor is not None and actor.is_authenticated else None,
        subject_content_type=ContentType.objects.get_for_model(subject) if subject is not None else None,
        subject_object_id=str(subject.pk) if subject is not None else "",
        subject_repr=str(subject)[:255] if subject is not None else "",
        data=data or {},
    )


def record_event(
    *, action: str, actor=None, subject: models.Model | None = None, data: dict[str, Any] | None = None
) -> AuditEvent:
    """Write one audit journal row; call it inside the transaction of the action it records."""
    event = audit_event_row(action=action, actor=actor, subject=subject, data=data)
    event.save()
    return event


def record_events(
    *, action: str, actor=None, entries: Sequence[tuple[models.Model, dict[str, Any]]]
) -> list[AuditEvent]:
    """The rows :func:`record_event` would write for each ``(subject, data)`` of ``entries``, in
    that order, in as few inserts as the database allows (the journal is not chained: each row
    stands alone)."""
    return AuditEvent.objects.bulk_create(
        [audit_event_row(action=action, actor=actor, subject=subject, data=data) for subject, data in entries]
    )


def request_source(request) -> dict:
    """The audit data naming the approval request a service runs for (empty outside one)."""
    return {"request": request.pk} if request is not None else {}
