"""The admin's "import from a spreadsheet" page, shared by the apps' imports: upload → preview →
confirm with the same file.

Nothing is kept on the server between the preview and the confirmation. The preview shows the
file's SHA-256 and the confirmation asks for the file again; it is imported only if its SHA-256
is the one previewed (so the clerk confirms exactly what they saw), and it is validated again
in full, in the same transaction as the writes. No upload store to clean, to protect from other
users, or to go stale; the cost is choosing the file twice.

An app subclasses :class:`SpreadsheetImportForm` (adding the field of the record the file is
imported into, its :attr:`SpreadsheetImportView.target` field) and
:class:`SpreadsheetImportView` (its permission, page, title, columns, its import's limits, preview
and import functions, and the message and page after a successful import). The page's template extends
``admin/spreadsheet_import.html``.

Importing this module registers nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy

from reserve.tabular import Column, ImportReport, Limits

__all__ = ["SpreadsheetImportForm", "SpreadsheetImportView"]


class SpreadsheetImportForm(forms.Form):
    """The file and, once previewed, its SHA-256; a subclass adds the target field first."""

    file = forms.FileField(
        label=gettext_lazy("spreadsheet"),
        help_text=gettext_lazy("CSV (UTF-8) or XLSX; checked by its content."),
    )
    sha256 = forms.CharField(widget=forms.HiddenInput, required=False)


class SpreadsheetImportView:
    """``dispatch`` is the admin view (wrap it in ``admin_site.admin_view``)."""

    #: Required of the user (else 403).
    permission: str
    template: str
    title: str
    form_class: type[SpreadsheetImportForm]
    #: The form's field naming the record the file is imported into (also its GET parameter).
    target: str
    columns: Sequence[Column]

    def __init__(self, model_admin):
        self.model_admin = model_admin

    # What an app supplies

    #: The import's bounds: ``limits() -> Limits``.
    limits: Callable[[], Limits]
    #: Checks the file and stores nothing: ``preview(<target>=…, upload=…, actor=…)``.
    preview: Callable[..., ImportReport]
    #: Checks the file again and imports it, or none of it; the same keywords as ``preview``
    #: and ``expect_sha256`` (the previewed file's).
    apply: Callable[..., ImportReport]

    def imported(self, request, target, report: ImportReport) -> HttpResponse:
        """The response once the file is imported (a message and a redirect)."""
        raise NotImplementedError

    def extra_context(self, report: ImportReport | None) -> dict:
        return {}

    # The page

    def dispatch(self, request):
        if not request.user.has_perm(self.permission):
            raise PermissionDenied
        if request.method != "POST":
            return self.render(request, self.form_class(initial={self.target: request.GET.get(self.target)}))
        form = self.form_class(request.POST, request.FILES)
        if not form.is_valid():
            return self.render(request, form)
        target, upload = form.cleaned_data[self.target], form.cleaned_data["file"]
        if "_apply" not in request.POST:
            report = self.preview(**{self.target: target}, upload=upload, actor=request.user)
            return self.render(request, self.confirm_form(target, report), report=report)
        previewed = form.cleaned_data["sha256"]
        report = self.apply(
            **{self.target: target}, upload=upload, actor=request.user, expect_sha256=previewed
        )
        if report.applied:
            return self.imported(request, target, report)
        return self.render(request, self.confirm_form(target, report), report=report)

    def confirm_form(self, target, report: ImportReport) -> SpreadsheetImportForm:
        return self.form_class(initial={self.target: target.pk, "sha256": report.sha256})

    def render(self, request, form, report: ImportReport | None = None):
        columns = self.columns
        context = {
            **self.model_admin.admin_site.each_context(request),
            "opts": self.model_admin.model._meta,
            "title": str(self.title),
            "form": form,
            "report": report,
            **self.extra_context(report),
            "columns": columns,
            "preview_rows": [
                (row, [row.values[c.name] for c in columns]) for row in (report.preview if report else [])
            ],
            "max_rows": self.limits().max_rows,
        }
        return TemplateResponse(request, self.template, context)
