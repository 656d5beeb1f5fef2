from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from reserve.models import AuditEvent


def record_event(
    *, action: str, actor=None, subject: models.Model | None = None, data: dict[str, Any] | None = None
) -> AuditEvent:
    """Write one audit journal row; call it inside the transaction of the action it records."""
    return AuditEvent.objects.create(
        action=action,
        actor=actor if actor is not None and actor.is_authenticated else None,
        subject_content_type=ContentType.objects.get_for_model(subject) if subject is not None else None,
        subject_object_id=str(subject.pk) if subject is not None else "",
        subject_repr=str(subject)[:255] if subject is not None else "",
        data=data or {},
    )


def request_source(request) -> dict:
    """The audit data naming the approval request a service runs for (empty outside one)."""
    return {"request": request.pk} if request is not None else {}
