"""Services behind intake's API: updates of what a court may change, the signed document, and
registration idempotent on the court's identifiers."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from intake import references, services
from intake.documents import store_document
from intake.models import SourceKind
from reserve.models import AuditEvent

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40


def test_an_update_that_changes_nothing_records_nothing(case, clerk):
    services.update_case(case=case, investigating_authority=" Anti-Corruption Agency ", actor=clerk)
    assert not AuditEvent.objects.filter(action="intake.case.updated").exists()
    assert case.history.count() == 1


def test_an_order_never_enters_into_force_before_it_is_issued(order, clerk):
    with pytest.raises(ValidationError) as refused:
        services.update_order_status(order=order, in_force_on=dt.date(2026, 1, 1), actor=clerk)
    assert "in_force_on" in refused.value.message_dict
    order.refresh_from_db()
    assert order.in_force_on is None


def test_only_the_fields_given_change(order, clerk):
    services.update_order_status(order=order, appeal_deadline=dt.date(2026, 1, 27), actor=clerk)
    services.update_order_status(order=order, appeal_lodged=True, actor=clerk)
    order.refresh_from_db()
    assert order.appeal_deadline == dt.date(2026, 1, 27) and order.appeal_lodged
    events = AuditEvent.objects.filter(action="intake.order.updated").order_by("id")
    assert [list(event.data) for event in events] == [["appeal_deadline"], ["appeal_lodged"]]


def test_a_signed_document_is_never_replaced(order, clerk):
    services.attach_order_document(
        order=order, document=store_document(upload=PDF, name="a.pdf", actor=clerk), actor=clerk
    )
    other = store_document(upload=PNG, name="b.png", actor=clerk)
    with pytest.raises(ValidationError) as refused:
        services.attach_order_document(order=order, document=other, actor=clerk)
    assert "document" in refused.value.message_dict


def test_an_items_court_reference_is_registered_once(register, clerk):
    register(court_reference="REF-1")
    with pytest.raises(ValidationError) as refused:
        register(txid="cd" * 32, court_reference="REF-1")
    assert "court_reference" in refused.value.message_dict


def test_an_exchange_item_is_found_again_by_its_reference(order, asset, wallet, clerk):
    values = {
        "order": order,
        "asset": asset,
        "claimed_amount": "1",
        "source_kind": SourceKind.EXCHANGE_ACCOUNT,
        "exchange_account": "binance:1",
        "custody_wallet": wallet,
        "court_reference": "REF-2",
        "actor": clerk,
    }
    first, created = references.register_item_once(**values)
    again, created_again = references.register_item_once(**values)
    assert (created, created_again) == (True, False) and first == again
    with pytest.raises(references.ReferenceConflict) as conflict:
        references.register_item_once(**{**values, "claimed_amount": "2"})
    assert conflict.value.fields == ["claimed_amount"]
