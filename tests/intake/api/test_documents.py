import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from intake.models import CourtDocument
from reserve.models import AuditEvent
from tests.intake.api.conftest import ORDERS

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40


def upload(api, order, content, name="verdict.pdf", content_type="application/pdf"):
    return api.put(
        f"{ORDERS}{order.pk}/document",
        {"file": SimpleUploadedFile(name, content, content_type=content_type)},
        format="multipart",
    )


def nothing_stored(folder) -> bool:
    files = list(folder.glob("*")) if folder.exists() else []
    return not CourtDocument.objects.exists() and not files


def test_the_signed_document_is_attached_by_its_content(court_system, api_order, document_store):
    response = upload(court_system, api_order, PNG, name="scan.pdf", content_type="application/pdf")
    assert response.status_code == 200, response.json()
    document = response.json()["document"]
    assert document["content_type"] == "image/png" and document["size"] == len(PNG)
    api_order.refresh_from_db()
    assert api_order.document.sha256 == document["sha256"]
    assert AuditEvent.objects.filter(action="intake.order.document_attached").count() == 1


def test_the_same_document_again_changes_nothing_and_another_is_refused(court_system, api_order):
    assert upload(court_system, api_order, PDF).status_code == 200
    assert upload(court_system, api_order, PDF).status_code == 200
    assert AuditEvent.objects.filter(action="intake.order.document_attached").count() == 1
    response = upload(court_system, api_order, PNG, name="other.png")
    assert response.status_code == 400
    assert "document" in response.json()["errors"]


@pytest.mark.parametrize(
    "name, content",
    [
        ("verdict.pdf", b"MZ\x90\x00\x03" + b"\x00" * 100),
        ("verdict.pdf", b"\x7fELF\x02\x01\x01" + b"\x00" * 100),
        ("verdict.pdf", PDF + b"PK\x03\x04\x14\x00" + b"\x00" * 30),
        ("verdict.pdf", b""),
        ("verdict.pdf", b"<html><script>alert(1)</script>"),
    ],
)
def test_a_hostile_file_is_refused_and_nothing_is_stored(
    court_system, api_order, document_store, name, content
):
    response = upload(court_system, api_order, content, name=name)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    assert nothing_stored(document_store)
    api_order.refresh_from_db()
    assert api_order.document is None


def test_an_oversize_file_is_refused_and_nothing_is_stored(court_system, api_order, document_store, settings):
    settings.INTAKE_DOCUMENT_MAX_BYTES = 1024
    response = upload(court_system, api_order, PDF + b"0" * 2048)
    assert response.status_code in (400, 413)
    assert nothing_stored(document_store)


def test_a_json_body_or_a_missing_file_is_refused(court_system, api_order):
    response = court_system.put(f"{ORDERS}{api_order.pk}/document", {"file": "JVBERi0="}, format="json")
    assert response.status_code == 415
    response = court_system.put(f"{ORDERS}{api_order.pk}/document", {"other": "x"}, format="multipart")
    assert response.status_code == 400


def test_an_auditor_cannot_attach_a_document(auditor_api, api_order, document_store):
    assert upload(auditor_api, api_order, PDF).status_code == 403
    assert nothing_stored(document_store)


def test_a_signed_document_larger_than_a_json_body_is_accepted(court_system, api_order):
    scan = PDF + b"0" * (1536 * 1024)  # past the API's 1 MB for JSON, within the documents' limit
    response = upload(court_system, api_order, scan)
    assert response.status_code == 200, response.content
    assert response.json()["document"]["size"] == len(scan)
