"""Court documents: accepted by their bytes, stored under their SHA-256, checked on every read.

An upload is read in chunks into a temporary file beside the store (never more than the size
limit plus one byte), hashed and inspected on the way:

* the first bytes must be a PDF (``%PDF-``), PNG or JPEG signature; the uploaded name and the
  browser's content type are never trusted (a renamed executable starts with ``MZ`` or ELF);
* a file that is also a ZIP (local or central directory header) or holds an ELF header is a
  polyglot and refused: a reader other than ours could open the other half;
* empty files, oversize files and names with a path in them (``../``) are refused.

Only a file that passed every check is moved to ``<sha256>.<ext>``; a refusal leaves no row
and no file. The same content uploaded twice returns the stored document.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from intake.models import CourtDocument
from reserve.audit import record_event

CHUNK = 64 * 1024
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
READ_PERMISSION = "intake.view_courtdocument"

#: (magic at offset 0, content type, extension)
ACCEPTED = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
)
#: Signatures that make an accepted file a polyglot wherever they appear.
FOREIGN_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"\x7fELF")
_OVERLAP = max(len(s) for s in FOREIGN_SIGNATURES) - 1
_HEAD = max(len(m) for m, _t, _e in ACCEPTED)


class DocumentError(Exception):
    """A stored document cannot be served; the message is safe to show."""


class DocumentMissing(DocumentError):
    pass


class DocumentTampered(DocumentError):
    pass


def document_dir() -> Path:
    configured = getattr(settings, "INTAKE_DOCUMENT_DIR", None)
    return Path(configured) if configured else Path(settings.MEDIA_ROOT) / "court-documents"


def max_bytes() -> int:
    return int(getattr(settings, "INTAKE_DOCUMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def _refuse(message: str, code: str) -> ValidationError:
    return ValidationError({"document": ValidationError(message, code=code)})


def _check_name(name: str) -> str:
    if not name or not name.strip():
        raise _refuse(_("The uploaded file has no name."), "no_name")
    if (
        "/" in name
        or "\\" in name
        or ".." in name
        or any(ord(c) < 32 or ord(c) == 127 for c in name)
        or len(name) > 255
    ):
        raise _refuse(
            _("The file name must be a plain name without folders, “..” or control characters."), "bad_name"
        )
    return name


def _chunks(upload):
    if isinstance(upload, bytes | bytearray | memoryview):
        data = bytes(upload)
        for start in range(0, len(data), CHUNK):
            yield data[start : start + CHUNK]
        return
    if hasattr(upload, "seek"):
        upload.seek(0)
    if hasattr(upload, "chunks"):
        yield from upload.chunks(CHUNK)
        return
    while True:
        chunk = upload.read(CHUNK)
        if not chunk:
            return
        yield chunk


@dataclass
class _Checked:
    path: Path
    sha256: str
    size: int
    content_type: str
    extension: str


def _kind_of(head: bytes) -> tuple[str, str]:
    for magic, content_type, extension in ACCEPTED:
        if head.startswith(magic):
            return content_type, extension
    raise _refuse(
        _("Only PDF, PNG and JPEG documents are accepted (checked by the file's content, not its name)."),
        "unsupported",
    )


def _receive(upload, *, directory: Path) -> _Checked:
    """Copy the upload into a temporary file in ``directory`` while checking it; on refusal the
    temporary file is removed and a ValidationError raised."""
    limit = max_bytes()
    directory.mkdir(parents=True, exist_ok=True)
    # Closed by the ``with handle`` below; removed on every refusal.
    handle = tempfile.NamedTemporaryFile(dir=directory, prefix=".upload-", suffix=".part", delete=False)  # noqa: SIM115
    path = Path(handle.name)
    try:
        digest = hashlib.sha256()
        size = 0
        head = b""
        tail = b""
        kind = None
        with handle:
            for chunk in _chunks(upload):
                size += len(chunk)
                if size > limit:
                    raise _refuse(
                        _("The file is larger than the limit of %(limit)s bytes.") % {"limit": limit},
                        "too_large",
                    )
                if kind is None:
                    head += chunk[: _HEAD - len(head)]
                    if len(head) >= _HEAD:
                        kind = _kind_of(head)
                window = tail + chunk
                if any(signature in window for signature in FOREIGN_SIGNATURES):
                    raise _refuse(
                        _(
                            "The file is a PDF, PNG or JPEG that also holds an archive or a program; "
                            "such files are refused."
                        ),
                        "polyglot",
                    )
                tail = window[-_OVERLAP:]
                digest.update(chunk)
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        if size == 0:
            raise _refuse(_("The file is empty."), "empty")
        content_type, extension = kind or _kind_of(head)
        return _Checked(path, digest.hexdigest(), size, content_type, extension)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _upload_name(upload, name: str | None) -> str:
    if name is None:
        name = getattr(upload, "name", None) or ""
    return _check_name(name)


def check_upload(upload, *, name: str | None = None) -> None:
    """Run every check of :func:`store_document` and keep nothing (forms call it in ``clean``)."""
    _upload_name(upload, name)
    checked = _receive(upload, directory=document_dir())
    checked.path.unlink(missing_ok=True)


@transaction.atomic
def store_document(*, upload, actor, name: str | None = None) -> CourtDocument:
    """Store a court document: ``upload`` is a Django ``UploadedFile`` or ``bytes`` with ``name``."""
    original_name = _upload_name(upload, name)
    directory = document_dir()
    checked = _receive(upload, directory=directory)
    try:
        existing = CourtDocument.objects.filter(sha256=checked.sha256).first()
        if existing is not None:
            return existing
        stored_name = f"{checked.sha256}.{checked.extension}"
        target = directory / stored_name
        created_file = not target.exists()
        os.replace(checked.path, target)
        try:
            with transaction.atomic():
                document = CourtDocument.objects.create(
                    sha256=checked.sha256,
                    size=checked.size,
                    content_type=checked.content_type,
                    stored_name=stored_name,
                    original_name=original_name,
                    uploaded_by=actor if actor is not None and actor.is_authenticated else None,
                )
        except IntegrityError:
            # The same content stored at the same moment by someone else: theirs is the one.
            return CourtDocument.objects.get(sha256=checked.sha256)
        except BaseException:
            if created_file:
                target.unlink(missing_ok=True)
            raise
        record_event(
            action="intake.document.stored",
            actor=actor,
            subject=document,
            data={"sha256": document.sha256, "size": document.size, "content_type": document.content_type},
        )
        return document
    finally:
        checked.path.unlink(missing_ok=True)


def open_document(document: CourtDocument, *, reader) -> bytes:
    """The document's bytes, after checking the reader's permission and the stored hash.

    A file whose SHA-256 or size differs from the record is never served: the mismatch is
    written to the audit journal (``intake.document.tampered``) and :class:`DocumentTampered`
    raised. Call it outside a transaction that the error would roll back (the view does).
    """
    if reader is None or not reader.is_authenticated or not reader.has_perm(READ_PERMISSION):
        raise PermissionDenied(_("You may not read court documents."))
    path = document_dir() / document.stored_name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DocumentMissing(_("The file of document %(name)s is missing.") % {"name": document.stored_name})
    actual = hashlib.sha256(data).hexdigest()
    if actual != document.sha256 or len(data) != document.size:
        record_event(
            action="intake.document.tampered",
            actor=reader,
            subject=document,
            data={
                "expected_sha256": document.sha256,
                "actual_sha256": actual,
                "expected_size": document.size,
                "actual_size": len(data),
            },
        )
        raise DocumentTampered(
            _(
                "Document %(name)s does not match its recorded SHA-256: it has been changed "
                "since it was stored and is not served. The mismatch has been recorded."
            )
            % {"name": document.stored_name}
        )
    return data
