import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from intake.documents import DocumentMissing, DocumentTampered, open_document, store_document
from intake.models import CourtDocument
from reserve.models import AuditEvent

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 40 + b"\xff\xd9"


def nothing_stored(folder):
    assert not CourtDocument.objects.exists()
    assert not folder.exists() or list(folder.iterdir()) == []


@pytest.mark.parametrize(("content", "extension"), [(PDF, "pdf"), (PNG, "png"), (JPEG, "jpg")])
def test_it_stores_a_document_under_its_hash_never_its_name(clerk, document_store, content, extension):
    document = store_document(upload=SimpleUploadedFile("order scan.exe", content), actor=clerk)
    assert document.stored_name == f"{document.sha256}.{extension}"
    assert document.original_name == "order scan.exe"
    assert document.size == len(content)
    assert (document_store / document.stored_name).read_bytes() == content
    assert AuditEvent.objects.filter(action="intake.document.stored").count() == 1


def test_the_same_content_twice_is_one_document(clerk, document_store):
    first = store_document(upload=PDF, name="a.pdf", actor=clerk)
    second = store_document(upload=SimpleUploadedFile("b.pdf", PDF), actor=clerk)
    assert first.pk == second.pk
    assert CourtDocument.objects.count() == 1
    assert len(list(document_store.iterdir())) == 1


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("verdict.pdf", b"MZ\x90\x00\x03" + b"\x00" * 100, "Only PDF, PNG and JPEG"),
        ("verdict.pdf", b"\x7fELF\x02\x01\x01" + b"\x00" * 100, "Only PDF, PNG and JPEG"),
        ("verdict.pdf", PDF + b"PK\x03\x04\x14\x00" + b"\x00" * 30, "also holds an archive"),
        ("verdict.pdf", PDF + b"PK\x05\x06" + b"\x00" * 18, "also holds an archive"),
        ("scan.png", PNG + b"\x7fELF\x02\x01", "also holds an archive"),
        ("verdict.pdf", b"", "empty"),
        ("../../etc/passwd.pdf", PDF, "plain name"),
        ("..", PDF, "plain name"),
        ("verdict.pdf", b"<html><script>alert(1)</script>", "Only PDF, PNG and JPEG"),
    ],
)
def test_it_refuses_a_hostile_upload_and_stores_nothing(clerk, document_store, name, content, says):
    with pytest.raises(ValidationError) as excinfo:
        store_document(upload=content, name=name, actor=clerk)
    assert says in " ".join(excinfo.value.message_dict["document"])
    nothing_stored(document_store)


def test_a_polyglot_split_across_chunks_is_found(clerk, document_store):
    content = PDF + b"\x00" * (64 * 1024 - len(PDF) - 2) + b"PK\x03\x04" + b"\x00" * 10
    with pytest.raises(ValidationError):
        store_document(upload=SimpleUploadedFile("v.pdf", content), actor=clerk)
    nothing_stored(document_store)


def test_it_refuses_an_oversize_file_reading_no_more_than_the_limit(clerk, document_store, settings):
    settings.INTAKE_DOCUMENT_MAX_BYTES = 1000

    class Endless:
        name = "big.pdf"
        read_bytes = 0

        def chunks(self, size):
            yield PDF
            while True:
                self.read_bytes += size
                yield b"\x00" * size

    upload = Endless()
    with pytest.raises(ValidationError) as excinfo:
        store_document(upload=upload, actor=clerk)
    assert "larger than the limit" in " ".join(excinfo.value.message_dict["document"])
    assert upload.read_bytes <= 64 * 1024
    nothing_stored(document_store)


def test_a_reader_gets_the_bytes_after_the_hash_is_checked(clerk, auditor):
    document = store_document(upload=PDF, name="v.pdf", actor=clerk)
    assert open_document(document, reader=auditor) == PDF


def test_a_user_without_permission_reads_nothing(clerk, db):
    from tests.support.factories import UserFactory

    document = store_document(upload=PDF, name="v.pdf", actor=clerk)
    with pytest.raises(PermissionDenied):
        open_document(document, reader=UserFactory(username="stranger"))


def test_a_tampered_document_is_reported_and_not_served(clerk, auditor, document_store):
    document = store_document(upload=PDF, name="v.pdf", actor=clerk)
    (document_store / document.stored_name).write_bytes(PDF.replace(b"Catalog", b"Catalox"))
    with pytest.raises(DocumentTampered) as excinfo:
        open_document(document, reader=auditor)
    assert "does not match its recorded SHA-256" in str(excinfo.value)
    event = AuditEvent.objects.get(action="intake.document.tampered")
    assert event.data["expected_sha256"] == document.sha256
    assert event.actor == auditor


def test_a_missing_file_is_reported(clerk, auditor, document_store):
    document = store_document(upload=PDF, name="v.pdf", actor=clerk)
    (document_store / document.stored_name).unlink()
    with pytest.raises(DocumentMissing):
        open_document(document, reader=auditor)


def test_a_stored_document_cannot_be_changed_even_in_sql(clerk):
    from django.db import DatabaseError, connection, transaction

    document = store_document(upload=PDF, name="v.pdf", actor=clerk)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE intake_courtdocument SET sha256 = %s WHERE id = %s", ["0" * 64, document.pk])
