import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from intake import services
from intake.documents import store_document
from intake.models import Case, CourtDocument, CourtOrder, CustodyEvent, ItemState, SeizedItem
from tests.intake.test_documents import PDF
from tests.support.factories import UserFactory, random_address


def management(prefix):
    return {
        f"{prefix}-TOTAL_FORMS": "0",
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "0",
    }


MODELS = ["court", "case", "courtorder", "seizeditem", "courtdocument", "custodyevent"]


@pytest.fixture
def item(register):
    return register()


@pytest.fixture
def party(case, clerk):
    return services.add_party(
        case=case, role="owner", name="Aigerim Nurlanovna", identity_document_number="N1234567", actor=clerk
    )


@pytest.fixture
def staff_auditor(auditor):
    auditor.is_staff = True
    auditor.save()
    return auditor


@pytest.fixture
def staff_clerk(clerk):
    clerk.is_staff = True
    clerk.save()
    return clerk


@pytest.mark.parametrize("model", MODELS)
def test_every_intake_page_opens_for_a_superuser(client, root, item, party, model):
    client.force_login(root)
    assert client.get(reverse(f"admin:intake_{model}_changelist")).status_code == 200
    obj = {
        "court": item.order.case.court,
        "case": item.order.case,
        "courtorder": item.order,
        "seizeditem": item,
        "custodyevent": CustodyEvent.objects.first(),
        "courtdocument": store_document(upload=PDF, name="v.pdf", actor=root),
    }[model]
    assert client.get(reverse(f"admin:intake_{model}_change", args=[obj.pk])).status_code == 200
    if model not in ("courtdocument", "custodyevent"):
        assert client.get(reverse(f"admin:intake_{model}_add")).status_code == 200


def test_party_personal_data_is_shown_to_a_user_with_the_permission(client, root, case, party):
    client.force_login(root)
    page = client.get(reverse("admin:intake_case_change", args=[case.pk])).content.decode()
    assert "Aigerim Nurlanovna" in page and "N1234567" in page


def test_party_personal_data_is_hidden_from_an_auditor(client, staff_auditor, case, party):
    assert not staff_auditor.has_perm("intake.view_party_pii")
    client.force_login(staff_auditor)
    response = client.get(reverse("admin:intake_case_change", args=[case.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Aigerim" not in page and "N1234567" not in page
    assert "lawful owner" in page


def test_the_case_history_page_keeps_personal_data_hidden(client, staff_auditor, case, party):
    client.force_login(staff_auditor)
    page = client.get(reverse("admin:intake_case_history", args=[case.pk])).content.decode()
    assert "Aigerim" not in page


def test_intake_clerks_may_see_personal_data_and_auditors_only_view(clerk, auditor):
    assert clerk.has_perm("intake.view_party_pii")
    assert clerk.has_perm("intake.add_seizeditem") and clerk.has_perm("intake.add_courtorder")
    assert not clerk.has_perm("intake.delete_seizeditem")
    assert auditor.has_perm("intake.view_seizeditem")
    assert not auditor.has_perm("intake.add_seizeditem")


def test_a_clerk_registers_an_item_through_the_service(client, staff_clerk, order, asset, wallet):
    client.force_login(staff_clerk)
    response = client.post(
        reverse("admin:intake_seizeditem_add"),
        {
            "order": order.pk,
            "asset": asset.pk,
            "claimed_amount": "0.12345678",
            "source_kind": "address",
            "source_address": random_address("bitcoin"),
            "txid": "ef" * 32,
            "vout": "2",
            "custody_wallet": wallet.pk,
            "restriction": "",
            "exchange_account": "",
            **management("custody_events"),
        },
    )
    assert response.status_code == 302, [
        (f.errors if hasattr(f, "errors") else f)
        for f in [response.context["adminform"].form, *response.context["inline_admin_formsets"]]
    ]
    item = SeizedItem.objects.get()
    assert item.claimed_amount == 12_345_678 and item.state == ItemState.REGISTERED
    assert CustodyEvent.objects.filter(item=item).count() == 1


def test_the_admin_shows_the_services_refusal_next_to_the_field(
    client, staff_clerk, order, asset, eth_wallet
):
    client.force_login(staff_clerk)
    response = client.post(
        reverse("admin:intake_seizeditem_add"),
        {
            "order": order.pk,
            "asset": asset.pk,
            "claimed_amount": "1",
            "source_kind": "address",
            "source_address": random_address("bitcoin"),
            "txid": "ef" * 32,
            "vout": "0",
            "custody_wallet": eth_wallet.pk,
            **management("custody_events"),
        },
    )
    assert response.status_code == 200
    assert "Wrong network for the custody wallet" in response.content.decode()
    assert not SeizedItem.objects.exists() and not CustodyEvent.objects.exists()


def test_the_item_list_formats_amounts_by_the_assets_decimals(client, root, item):
    client.force_login(root)
    page = client.get(reverse("admin:intake_seizeditem_changelist"), {"q": item.txid}).content.decode()
    assert "0.50000000" in page and "2-15/2026" in page


def test_a_clerk_adds_a_case_with_a_party(client, staff_clerk, court):
    client.force_login(staff_clerk)
    response = client.post(
        reverse("admin:intake_case_add"),
        {
            "court": court.pk,
            "number": "1-1/2026",
            "investigating_authority": "Financial Monitoring Agency",
            "opened_on": "2026-02-01",
            **management("parties"),
            "parties-2-TOTAL_FORMS": "1",
            "parties-2-INITIAL_FORMS": "0",
            "parties-2-MIN_NUM_FORMS": "0",
            "parties-2-MAX_NUM_FORMS": "1000",
            "parties-2-0-role": "victim",
            "parties-2-0-name": "Daniyar B.",
            "parties-2-0-identity_document_number": "",
        },
    )
    assert response.status_code == 302, [
        (f.errors if hasattr(f, "errors") else f)
        for f in [response.context["adminform"].form, *response.context["inline_admin_formsets"]]
    ]
    case = Case.objects.get(number="1-1/2026")
    assert [(p.role, p.name) for p in case.parties.all()] == [("victim", "Daniyar B.")]


def test_a_clerk_records_an_order_with_its_document(client, staff_clerk, case):
    client.force_login(staff_clerk)
    response = client.post(
        reverse("admin:intake_courtorder_add"),
        {
            "case": case.pk,
            "kind": "arrest",
            "number": "A-2",
            "issued_on": "2026-01-15",
            "court_reference": "SUD-2",
            "document_file": SimpleUploadedFile("scan.pdf", PDF),
            **management("items"),
        },
    )
    assert response.status_code == 302, [
        (f.errors if hasattr(f, "errors") else f)
        for f in [response.context["adminform"].form, *response.context["inline_admin_formsets"]]
    ]
    order = CourtOrder.objects.get(number="A-2")
    assert order.document.original_name == "scan.pdf"


def test_an_order_with_a_renamed_executable_is_refused_and_nothing_stored(
    client, staff_clerk, case, document_store
):
    client.force_login(staff_clerk)
    response = client.post(
        reverse("admin:intake_courtorder_add"),
        {
            "case": case.pk,
            "kind": "arrest",
            "number": "A-3",
            "issued_on": "2026-01-15",
            "document_file": SimpleUploadedFile("scan.pdf", b"MZ\x90\x00" + b"\x00" * 64),
            **management("items"),
        },
    )
    assert response.status_code == 200
    assert "Only PDF, PNG and JPEG" in response.content.decode()
    assert not CourtOrder.objects.filter(number="A-3").exists() and not CourtDocument.objects.exists()
    assert not document_store.exists() or list(document_store.iterdir()) == []


class TestDocumentView:
    def test_it_serves_a_verified_document(self, client, auditor, clerk):
        document = store_document(upload=PDF, name="v.pdf", actor=clerk)
        client.force_login(auditor)
        response = client.get(reverse("intake:court-document", args=[document.pk]))
        assert response.status_code == 200 and response.content == PDF
        assert response["Content-Type"] == "application/pdf"
        assert response["X-Content-Type-Options"] == "nosniff"

    def test_it_refuses_a_user_without_permission(self, client, clerk):
        document = store_document(upload=PDF, name="v.pdf", actor=clerk)
        client.force_login(UserFactory(username="stranger"))
        assert client.get(reverse("intake:court-document", args=[document.pk])).status_code == 403

    def test_a_missing_document_is_404(self, client, auditor):
        client.force_login(auditor)
        assert client.get(reverse("intake:court-document", args=[999])).status_code == 404

    def test_a_tampered_document_is_409_and_not_served(self, client, auditor, clerk, document_store):
        document = store_document(upload=PDF, name="v.pdf", actor=clerk)
        (document_store / document.stored_name).write_bytes(b"%PDF-1.7 forged")
        client.force_login(auditor)
        response = client.get(reverse("intake:court-document", args=[document.pk]))
        assert response.status_code == 409
        assert b"forged" not in response.content

    def test_the_admin_links_to_the_checked_view(self, client, root, clerk):
        document = store_document(upload=PDF, name="v.pdf", actor=clerk)
        client.force_login(root)
        page = client.get(reverse("admin:intake_courtdocument_change", args=[document.pk])).content.decode()
        assert reverse("intake:court-document", args=[document.pk]) in page


def test_the_item_list_costs_the_same_queries_for_one_or_many_items(client, root, register):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    register(vout=0)
    client.force_login(root)
    url = reverse("admin:intake_seizeditem_changelist")
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    for vout in range(1, 6):
        register(vout=vout)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(one)


def test_items_are_filtered_by_age_and_found_by_party_only_with_pii_access(
    client, root, staff_auditor, register, party
):
    from intake.models import SeizedItem

    old = register(txid="cd" * 32)
    SeizedItem.objects.filter(pk=old.pk).update(registered_at=timezone.now() - dt.timedelta(days=400))
    new = register()
    client.force_login(root)
    over_a_year = client.get(reverse("admin:intake_seizeditem_changelist"), {"age": "older"})
    assert list(over_a_year.context["cl"].queryset) == [old]
    recent = client.get(reverse("admin:intake_seizeditem_changelist"), {"age": "30"})
    assert list(recent.context["cl"].queryset) == [new]
    found = client.get(reverse("admin:intake_seizeditem_changelist"), {"q": "Aigerim"})
    assert set(found.context["cl"].queryset) == {old, new}

    client.force_login(staff_auditor)  # reads every item, but not the parties' personal data
    hidden = client.get(reverse("admin:intake_seizeditem_changelist"), {"q": "Aigerim"})
    assert list(hidden.context["cl"].queryset) == []


def test_a_post_of_a_saved_row_is_checked_by_its_service_and_refused(client, root, court):
    """intake's service forms check a saved row's (read-only) page too: the service refuses its
    empty input, so the post shows an error instead of a "changed" message that changed nothing."""
    client.force_login(root)
    response = client.post(reverse("admin:intake_court_change", args=[court.pk]), {})
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors()
    court.refresh_from_db()
    assert (court.name, court.code) == ("Specialized Interdistrict Court", "astana-sic")
    assert court.history.count() == 1
