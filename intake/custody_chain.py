"""The chain of custody of a seized item: an append-only, hash-chained event log.

Each event's hash is the SHA-256 of a canonical JSON of (item id, sequence, time, actor id,
action, data, evidence, previous hash), so changing any past event breaks every later link.
Each append also writes the reserve's audit event ``intake.custody_event`` holding the item's
sequence and latest hash: removing the last events (which leaves a shorter, self-consistent
chain) is detected by comparing with the audit journal, where nothing is ever deleted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from intake.models import CustodyEvent, SeizedItem
from reserve.audit import record_event, record_events
from reserve.models import AuditEvent

AUDIT_ACTION = "intake.custody_event"


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder)


def _plain(data: dict) -> dict:
    """``data`` as it reads back from the JSON column (dates and decimals become text)."""
    return json.loads(canonical_json(data or {}))


def _instant(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def event_hash(
    *,
    item_id: int,
    sequence: int,
    at: dt.datetime,
    actor_id: int | None,
    action: str,
    data: dict,
    evidence: str,
    previous_hash: str,
) -> str:
    body = {
        "item": item_id,
        "sequence": sequence,
        "at": _instant(at),
        "actor": actor_id,
        "action": action,
        "data": data,
        "evidence": evidence,
        "previous_hash": previous_hash,
    }
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def _hash_of(event: CustodyEvent) -> str:
    return event_hash(
        item_id=event.item_id,
        sequence=event.sequence,
        at=event.at,
        actor_id=event.actor_id,
        action=event.action,
        data=event.data,
        evidence=event.evidence,
        previous_hash=event.previous_hash,
    )


def _new_event(
    *, item_id: int, sequence: int, previous_hash: str, action: str, actor, data: dict, evidence: str
) -> CustodyEvent:
    """The event (not saved) that follows ``previous_hash`` in item ``item_id``'s chain, hashed."""
    at = timezone.now()
    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    data = _plain(data)
    digest = event_hash(
        item_id=item_id,
        sequence=sequence,
        at=at,
        actor_id=actor_id,
        action=action,
        data=data,
        evidence=evidence,
        previous_hash=previous_hash,
    )
    return CustodyEvent(
        item_id=item_id,
        sequence=sequence,
        at=at,
        actor_id=actor_id,
        action=action,
        data=data,
        evidence=evidence,
        previous_hash=previous_hash,
        hash=digest,
    )


def _journal_data(event: CustodyEvent) -> dict:
    """What the audit journal keeps of an item's latest event."""
    return {"item": event.item_id, "sequence": event.sequence, "hash": event.hash, "action": event.action}


def append_event(*, item: SeizedItem, action: str, actor, data: dict, evidence: str = "") -> CustodyEvent:
    """Append one event to ``item``'s chain in the caller's transaction (the item row is locked
    until it commits, so two appends never take the same sequence)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("append_event runs inside the transaction of the change it records")
    SeizedItem.objects.select_for_update().filter(pk=item.pk).values_list("pk", flat=True).get()
    last = CustodyEvent.objects.filter(item_id=item.pk).order_by("-sequence").first()
    event = _new_event(
        item_id=item.pk,
        sequence=1 if last is None else last.sequence + 1,
        previous_hash="" if last is None else last.hash,
        action=action,
        actor=actor,
        data=data,
        evidence=evidence,
    )
    event.save()
    record_event(action=AUDIT_ACTION, actor=actor, subject=item, data=_journal_data(event))
    return event


def start_chains(
    *, items: Sequence[SeizedItem], action: str, actor, data: Sequence[dict]
) -> list[CustodyEvent]:
    """The first event of each of ``items``' chains (``data[i]`` for ``items[i]``), each with
    its audit journal record: what :func:`append_event` writes for an item's first event, in
    two bulk inserts. Only for items created in the caller's transaction, which no one else can
    see yet (so no lock and no last-event lookup)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("start_chains runs inside the transaction that creates the items")
    events = CustodyEvent.objects.bulk_create(
        [
            _new_event(
                item_id=item.pk,
                sequence=1,
                previous_hash="",
                action=action,
                actor=actor,
                data=details,
                evidence="",
            )
            for item, details in zip(items, data, strict=True)
        ]
    )
    record_events(
        action=AUDIT_ACTION,
        actor=actor,
        entries=[(item, _journal_data(event)) for item, event in zip(items, events, strict=True)],
    )
    return events


@dataclass(frozen=True)
class Problem:
    item_id: int
    sequence: int | None
    message: str

    def __str__(self) -> str:
        where = _("event %(sequence)s") % {"sequence": self.sequence} if self.sequence else _("no event")
        return _("item #%(item)s, %(where)s: %(message)s") % {
            "item": self.item_id,
            "where": where,
            "message": self.message,
        }


def _last_recorded(item_id: int) -> dict | None:
    content_type = ContentType.objects.get_for_model(SeizedItem)
    row = (
        AuditEvent.objects.filter(
            action=AUDIT_ACTION, subject_content_type=content_type, subject_object_id=str(item_id)
        )
        .order_by("-id")
        .values_list("data", flat=True)
        .first()
    )
    return row


def verify_chain(item: SeizedItem) -> list[Problem]:
    """Every break in ``item``'s chain, the first one first; an empty list when it holds."""
    problems: list[Problem] = []
    events = list(CustodyEvent.objects.filter(item_id=item.pk).order_by("sequence", "id"))
    previous_hash = ""
    for expected, event in enumerate(events, start=1):
        if event.sequence != expected:
            problems.append(
                Problem(
                    item.pk,
                    event.sequence,
                    _("sequence %(found)s where %(expected)s was expected (events missing or inserted)")
                    % {"found": event.sequence, "expected": expected},
                )
            )
        if event.previous_hash != previous_hash:
            problems.append(
                Problem(item.pk, event.sequence, _("its previous hash does not match the event before it"))
            )
        if _hash_of(event) != event.hash:
            problems.append(Problem(item.pk, event.sequence, _("its content does not match its hash")))
        previous_hash = event.hash
    recorded = _last_recorded(item.pk)
    if recorded is not None:
        last = events[-1] if events else None
        expected_sequence = recorded.get("sequence") or 0
        if last is None or last.sequence != expected_sequence or last.hash != recorded.get("hash"):
            if last is None:
                first_broken = 1
            elif last.sequence < expected_sequence:
                first_broken = last.sequence + 1
            elif last.sequence == expected_sequence:
                first_broken = expected_sequence
            else:
                first_broken = expected_sequence + 1
            problems.append(
                Problem(
                    item.pk,
                    first_broken,
                    _(
                        "the audit journal records event %(sequence)s with hash %(hash)s as the latest; "
                        "the chain ends before it or differs (events removed or replaced)"
                    )
                    % {"sequence": recorded.get("sequence"), "hash": recorded.get("hash")},
                )
            )
    elif events:
        problems.append(
            Problem(item.pk, events[0].sequence, _("the audit journal holds no record of this chain"))
        )
    return problems
