"""Intake's screens outside the admin.

Court documents are served here only, after the reader's permission and the stored hash
have been checked (:func:`intake.documents.open_document`): 403 without the permission, 404
when the record or its file is missing, 409 when the file no longer matches its SHA-256."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from intake.documents import DocumentMissing, DocumentTampered, open_document
from intake.models import Case, CourtDocument
from intake.selectors import case_dossier


@require_GET
@login_required
def court_document(request, pk: int) -> HttpResponse:
    document = get_object_or_404(CourtDocument, pk=pk)
    try:
        data = open_document(document, reader=request.user)
    except DocumentMissing as exc:
        raise Http404(str(exc))
    except DocumentTampered as exc:
        return HttpResponse(str(exc), status=409, content_type="text/plain; charset=utf-8")
    response = HttpResponse(data, content_type=document.content_type)
    response["Content-Disposition"] = f'inline; filename="{document.stored_name}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@login_required
def case_detail(request, pk: int) -> HttpResponse:
    """The case page: every item with its court order, chain of custody and ledger trail, each
    linking to the others (the admin pages of the order, events, lots and entries, and the
    approval requests that posted the entries)."""
    if not request.user.has_perm("intake.view_case"):
        raise PermissionDenied
    case = get_object_or_404(Case.objects.select_related("court"), pk=pk)
    dossier = case_dossier(case=case)
    return render(request, "intake/case_detail.html", {"dossier": dossier, "case": case})
