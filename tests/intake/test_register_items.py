"""Registering many seized items at once: the rules and the rows of ``register_item``, in bulk."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from intake import services
from intake.custody_chain import event_hash, verify_chain
from intake.imports import import_items
from intake.models import CustodyEvent, SeizedItem, SourceKind
from reserve.models import AuditEvent
from tests.intake.test_custody_chain import run_command
from tests.intake.test_import import csv_bytes, line
from tests.support.factories import random_address

ADDRESS = random_address("bitcoin")


def address_row(txid, vout=0, **overrides):
    row = {
        "asset": None,  # filled by the fixture below
        "claimed_amount": "0.5",
        "source_kind": SourceKind.ADDRESS,
        "source_address": ADDRESS,
        "txid": txid,
        "vout": vout,
        "custody_wallet": None,
        "restriction": "no_sale",
    }
    row.update(overrides)
    return row


@pytest.fixture
def row(asset, wallet):
    def make(txid="ab" * 32, vout=0, **overrides):
        values = address_row(txid, vout, asset=asset, custody_wallet=wallet)
        values.update(overrides)
        return values

    return make


def one_at_a_time(order, clerk, rows):
    return [services.register_item(order=order, actor=clerk, **row) for row in rows]


def all_at_once(order, clerk, rows):
    return services.register_items(order=order, rows=rows, actor=clerk)


def written(item):
    """Everything registering wrote for ``item``, its own id, txid, court reference, hash and
    times left out."""
    own = [text for text in (item.txid, item.court_reference) if text]

    def plain(value):
        if isinstance(value, str):
            for text in own:
                value = value.replace(text, "<own>")
            return value
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items() if k not in ("item", "hash")}
        return value

    fields = [f.attname for f in SeizedItem._meta.concrete_fields if f.name not in ("id", "registered_at")]
    [history] = item.history.all()
    [event] = CustodyEvent.objects.filter(item=item)
    audit = AuditEvent.objects.filter(
        subject_content_type=ContentType.objects.get_for_model(SeizedItem), subject_object_id=str(item.pk)
    )
    return {
        "item": {name: plain(getattr(item, name)) for name in fields},
        "history": (
            history.history_type,
            history.history_user_id,
            {name: plain(getattr(history, name)) for name in fields},
        ),
        "custody": (
            event.sequence,
            event.action,
            event.actor_id,
            event.evidence,
            event.previous_hash,
            plain(event.data),
        ),
        "audit": sorted(
            (a.action, a.actor_id, a.subject_repr == f"#{item.pk}", repr(plain(a.data))) for a in audit
        ),
    }


def test_the_bulk_path_writes_what_the_single_path_writes(order, clerk, row):
    exchange = {
        "source_kind": SourceKind.EXCHANGE_ACCOUNT,
        "exchange_account": " binance:4411 ",
        "txid": "",
        "vout": None,
        "source_address": "",
    }
    single = one_at_a_time(order, clerk, [row("ab" * 32, 0), row(court_reference="CR-1", **exchange)])
    bulk = all_at_once(order, clerk, [row("cd" * 32, 0), row(court_reference="CR-2", **exchange)])
    for one, many in zip(single, bulk, strict=True):
        one.refresh_from_db()
        many.refresh_from_db()
        mine, theirs = written(one), written(many)
        assert mine == theirs
    for item in bulk:
        event = CustodyEvent.objects.get(item=item)
        assert event.hash == event_hash(
            item_id=item.pk,
            sequence=1,
            at=event.at,
            actor_id=clerk.pk,
            action="intake.item.registered",
            data=event.data,
            evidence="",
            previous_hash="",
        )
        assert AuditEvent.objects.get(action="intake.custody_event", subject_object_id=str(item.pk)).data == {
            "item": item.pk,
            "sequence": 1,
            "hash": event.hash,
            "action": "intake.item.registered",
        }
        assert verify_chain(item) == []
    code, out, _err = run_command()
    assert code == 0 and "4 chains of custody verified" in out


def codes(exc: ValidationError) -> dict:
    return {
        name: [(e.code, e.message % (e.params or {})) for e in errors]
        for name, errors in exc.error_dict.items()
    }


@pytest.mark.parametrize(
    "overrides",
    [
        {"claimed_amount": "abc"},
        {"claimed_amount": "-1"},
        {"custody_wallet": "eth"},
        {"txid": "xyz"},
        {"vout": None},
        {"restriction": "No Sale"},
        {"source_address": "0x" + "11" * 20},
        {"source_kind": SourceKind.EXCHANGE_ACCOUNT, "exchange_account": " "},
        {"source_kind": "pocket"},
        {"txid": "AB" * 32},  # the output already registered below
        {
            "txid": "",
            "vout": None,
            "source_kind": SourceKind.EXCHANGE_ACCOUNT,
            "exchange_account": "x:1",
            "court_reference": "CR-9",
        },
    ],
    ids=[
        "amount",
        "negative",
        "wallet-network",
        "txid",
        "vout",
        "restriction",
        "address",
        "exchange-account",
        "source",
        "duplicate-output",
        "duplicate-reference",
    ],
)
def test_the_bulk_path_refuses_what_the_single_path_refuses_with_the_same_codes(
    order, clerk, row, eth_wallet, overrides
):
    services.register_item(
        order=order, actor=clerk, **row("ab" * 32, 0, source_kind=SourceKind.ADDRESS, court_reference="CR-9")
    )
    if overrides.get("custody_wallet") == "eth":
        overrides = overrides | {"custody_wallet": eth_wallet}
    bad = row("ef" * 32, 0) | overrides
    with pytest.raises(ValidationError) as single:
        services.register_item(order=order, actor=clerk, **bad)
    with pytest.raises(services.ItemsRefused) as bulk:
        services.register_items(order=order, rows=[row("cd" * 32, 1), bad], actor=clerk)
    assert list(bulk.value.rows) == [1] and list(bulk.value.accepted) == [0]
    assert codes(bulk.value.rows[1]) == codes(single.value)
    assert SeizedItem.objects.count() == 1


def test_an_output_named_twice_in_one_batch_is_refused_on_its_second_row(order, clerk, row):
    with pytest.raises(services.ItemsRefused) as refused:
        services.register_items(order=order, rows=[row("ab" * 32, 0), row("AB" * 32, 0)], actor=clerk)
    assert {name: [e.code for e in errors] for name, errors in refused.value.rows[1].error_dict.items()} == {
        "txid": ["duplicate_output"]
    }
    assert list(refused.value.rows) == [1]
    assert not SeizedItem.objects.exists()


def test_an_output_registered_meanwhile_is_refused_by_the_constraint_and_nothing_is_written(
    order, clerk, row, monkeypatch
):
    taken = services.register_item(order=order, actor=clerk, **row("ab" * 32, 0))
    looked_up = services.Registered.among

    def stale_once(**kwargs):
        monkeypatch.setattr(services.Registered, "among", looked_up)
        return services.Registered()  # the look-up ran before the other clerk's commit

    monkeypatch.setattr(services.Registered, "among", stale_once)
    with pytest.raises(services.ItemsRefused) as refused:
        services.register_items(order=order, rows=[row("cd" * 32, 0), row("ab" * 32, 0)], actor=clerk)
    [message] = refused.value.rows[1].message_dict["txid"]
    assert f"item #{taken.pk}" in message
    assert SeizedItem.objects.count() == 1
    assert AuditEvent.objects.filter(action="intake.item.registered").count() == 1
    assert CustodyEvent.objects.count() == 1


def queries(run):
    with CaptureQueriesContext(connection) as captured:
        run()
    sql = [q["sql"] for q in captured.captured_queries]
    inserts = [s for s in sql if s.lstrip().upper().startswith("INSERT")]
    return len(sql) - len(inserts), len(inserts)


def test_importing_10_or_100_lines_costs_the_same_queries(order, asset, wallet, clerk):
    def importing(first, count):
        data = csv_bytes(*[line(f"{i:064x}", 0) for i in range(first, first + count)])
        return lambda: import_items(order=order, upload=data, actor=clerk)

    importing(1, 1)()  # content types and the like, cached for the process
    ten_other, ten_inserts = queries(importing(10, 10))
    hundred_other, hundred_inserts = queries(importing(1000, 100))
    assert SeizedItem.objects.count() == 111
    assert hundred_other == ten_other
    if connection.vendor == "postgresql":
        # Items, history, audit events, custody events, their journal rows, the import's event.
        assert hundred_inserts == ten_inserts == 6
    else:
        # SQLite takes at most 999 parameters per statement: bulk inserts go in batches.
        assert ten_inserts == 6 and hundred_inserts <= 6 * 3


@pytest.mark.skipif(connection.vendor != "sqlite", reason="a SQLite query plan")
def test_the_duplicate_output_look_ups_use_the_partial_unique_index(db):
    from intake.services import _registered_outputs

    one = _registered_outputs("bitcoin", "ab" * 32, 0).explain()
    many = (
        SeizedItem.objects.filter(network="bitcoin", txid__in=["ab" * 32, "cd" * 32])
        .exclude(txid="")
        .values_list("pk")
        .explain()
    )
    assert "intake_item_output_registered_once" in one and "SCAN" not in one
    assert "intake_item_output_registered_once" in many and "SCAN" not in many
