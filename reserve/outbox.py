"""Background work that is never lost: the transactional outbox.

:func:`enqueue` writes an :class:`~reserve.models.OutboxMessage` in the caller's transaction; it
is published to the broker only after that transaction commits (one quick try right after the
commit, then :func:`relay_outbox`, run every half minute by beat and by ``manage.py
relay_outbox``). A broker that is down costs the request at most the broker's connection
timeout, never the work: the row waits until a relay publishes it. Publishing is at least
once; every task is idempotent, so a message published twice leaves the same state as once.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from reserve.models import OutboxMessage

logger = logging.getLogger(__name__)

#: How many pending messages one relay run publishes at most.
RELAY_BATCH = 200


def enqueue(task: str, *args, dedupe_key: str | None = None, **kwargs) -> OutboxMessage:
    """Ask for ``task(*args, **kwargs)`` to run once this transaction commits. With a
    ``dedupe_key`` already pending or published, nothing new is written (the same work asked
    twice runs once)."""
    if dedupe_key is not None:
        existing = OutboxMessage.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    try:
        with transaction.atomic():
            message = OutboxMessage.objects.create(
                task=task, args=list(args), kwargs=kwargs, dedupe_key=dedupe_key
            )
    except IntegrityError:
        # A concurrent caller wrote the same key first.
        return OutboxMessage.objects.get(dedupe_key=dedupe_key)
    transaction.on_commit(lambda: _publish_quietly(message.pk))
    return message


def _publish_quietly(message_id: int) -> None:
    try:
        publish(message_id)
    except Exception:  # noqa: BLE001 - the relay publishes it later; the caller's work is done
        logger.warning(
            "Outbox message %s not published now; the relay will retry.", message_id, exc_info=True
        )


def publish(message_id: int) -> bool:
    """Send one pending message to the broker and mark it published. False if another relay
    took it first or it was already published; the broker's error (after counting the attempt)
    if it would not take the message."""
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, published_at__isnull=True)
            .first()
        )
        if message is None:
            return False
        try:
            _send(message)
        except Exception as exc:  # noqa: BLE001 - counted below, outside this transaction, then raised
            failure = exc
        else:
            OutboxMessage.objects.filter(pk=message.pk).update(
                published_at=timezone.now(), attempts=F("attempts") + 1, last_error=""
            )
            return True
    OutboxMessage.objects.filter(pk=message_id).update(
        attempts=F("attempts") + 1, last_error=repr(failure)[:2000]
    )
    raise failure


def _send(message: OutboxMessage) -> None:
    from reserve.celery import app

    task = app.tasks.get(message.task)
    if task is None:
        app.send_task(message.task, args=message.args, kwargs=message.kwargs, retry=False)
    else:
        task.apply_async(args=message.args, kwargs=message.kwargs, retry=False)


def relay_outbox(*, limit: int = RELAY_BATCH) -> int:
    """Publish the pending messages, oldest first; stop at the first broker failure (the rest
    wait for the next run). Returns how many were published."""
    published = 0
    pending = list(
        OutboxMessage.objects.filter(published_at__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    for message_id in pending:
        try:
            published += publish(message_id)
        except Exception:  # noqa: BLE001 - the broker is down: the rest keep their place
            logger.warning("Outbox relay stopped: the broker does not take messages.", exc_info=True)
            break
    return published
