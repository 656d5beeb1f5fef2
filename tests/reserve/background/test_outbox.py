"""The transactional outbox: work is published only after its transaction commits, a broker
that is down loses nothing, and the relay publishes what is left, once."""

from unittest import mock

import pytest
from django.db import transaction

from reserve import outbox
from reserve.models import OutboxMessage

pytestmark = pytest.mark.django_db(transaction=True)


def test_work_is_published_after_the_commit_not_before():
    sent = []
    with mock.patch.object(outbox, "_send", side_effect=lambda m: sent.append(m.task)), transaction.atomic():
        outbox.enqueue("reserve.tasks.ping")
        assert sent == []  # still inside the transaction

    assert sent == ["reserve.tasks.ping"]
    assert OutboxMessage.objects.get().published_at is not None


def test_rolled_back_work_is_never_published():
    with mock.patch.object(outbox, "_send") as send, pytest.raises(RuntimeError), transaction.atomic():
        outbox.enqueue("reserve.tasks.ping")
        raise RuntimeError("the business action failed")

    send.assert_not_called()
    assert not OutboxMessage.objects.exists()


def test_a_broker_that_is_down_keeps_the_message_for_the_relay():
    with mock.patch.object(outbox, "_send", side_effect=ConnectionError("broker down")):
        with transaction.atomic():
            outbox.enqueue("reserve.tasks.ping")  # the caller's work commits all the same
        assert outbox.relay_outbox() == 0

    message = OutboxMessage.objects.get()
    assert message.published_at is None and message.attempts == 2 and "broker down" in message.last_error

    sent = []
    with mock.patch.object(outbox, "_send", side_effect=lambda m: sent.append(m.pk)):
        assert outbox.relay_outbox() == 1
        assert outbox.relay_outbox() == 0  # published once

    assert sent == [message.pk]


def test_the_same_work_asked_twice_is_enqueued_once():
    with mock.patch.object(outbox, "_send"):
        first = outbox.enqueue("reserve.tasks.refresh_valuation_task", dedupe_key="valuation:slot")
        second = outbox.enqueue("reserve.tasks.refresh_valuation_task", dedupe_key="valuation:slot")

    assert first.pk == second.pk
    assert OutboxMessage.objects.count() == 1


def test_a_publish_is_one_try_that_waits_for_no_result_backend():
    """retry=False alone is not enough: asking for a result makes Celery subscribe to the
    result backend first, which retries for about 20 s when Redis is down."""
    from reserve.tasks import ping

    with mock.patch.object(ping, "apply_async") as apply_async, transaction.atomic():
        outbox.enqueue("reserve.tasks.ping")

    apply_async.assert_called_once_with(args=[], kwargs={}, retry=False, ignore_result=True)
