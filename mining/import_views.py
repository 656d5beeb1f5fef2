"""The "Import daily lines from spreadsheet" page of the output reports' admin: upload →
preview → confirm, as intake's seized-item import does.

Nothing is kept on the server between the preview and the confirmation. The preview shows the
file's lines, its refusals, the verification of its days against the expected output, and its
SHA-256; the confirmation asks for the file again and imports it only if its SHA-256 is the one
previewed, checking it again in full in the transaction of the writes.

Allowed to users who may add daily lines (``mining.add_dailyline``: mining clerks).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from mining.imports import COLUMNS, import_lines, limits, preview_lines
from mining.models import OutputReport, ReportState

PERMISSION = "mining.add_dailyline"


class ImportForm(forms.Form):
    report = forms.ModelChoiceField(
        label=gettext_lazy("output report"),
        queryset=OutputReport.objects.filter(state=ReportState.DRAFT).select_related("site"),
        help_text=gettext_lazy("A draft report; every day of the file must lie in its period."),
    )
    file = forms.FileField(
        label=gettext_lazy("spreadsheet"),
        help_text=gettext_lazy("CSV (UTF-8) or XLSX; checked by its content."),
    )
    sha256 = forms.CharField(widget=forms.HiddenInput, required=False)


class ImportLinesView:
    template = "admin/mining/outputreport/import_lines.html"

    def __init__(self, model_admin):
        self.model_admin = model_admin

    def dispatch(self, request):
        if not request.user.has_perm(PERMISSION):
            raise PermissionDenied
        if request.method != "POST":
            return self.render(request, ImportForm(initial={"report": request.GET.get("report")}))
        form = ImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render(request, form)
        report, upload = form.cleaned_data["report"], form.cleaned_data["file"]
        if "_apply" not in request.POST:
            result = preview_lines(report=report, upload=upload, actor=request.user)
            return self.render(request, self.confirm_form(report, result), result=result)
        previewed = form.cleaned_data["sha256"]
        result = import_lines(report=report, upload=upload, actor=request.user, expect_sha256=previewed)
        if result.applied:
            messages.success(
                request,
                ngettext(
                    "%(count)s daily line imported into %(report)s.",
                    "%(count)s daily lines imported into %(report)s.",
                    result.rows,
                )
                % {"count": result.rows, "report": report},
            )
            return HttpResponseRedirect(reverse("admin:mining_outputreport_change", args=[report.pk]))
        return self.render(request, self.confirm_form(report, result), result=result)

    @staticmethod
    def confirm_form(report, result) -> ImportForm:
        return ImportForm(initial={"report": report.pk, "sha256": result.sha256})

    def render(self, request, form, result=None):
        opts = self.model_admin.model._meta
        verification = result.verification if result else None
        context = {
            **self.model_admin.admin_site.each_context(request),
            "opts": opts,
            "title": _("Import daily lines from a spreadsheet"),
            "form": form,
            "report": result,
            "verification": verification,
            "columns": COLUMNS,
            "preview_rows": [
                (row, [row.values[c.name] for c in COLUMNS]) for row in (result.preview if result else [])
            ],
            "max_rows": limits().max_rows,
        }
        return TemplateResponse(request, self.template, context)
