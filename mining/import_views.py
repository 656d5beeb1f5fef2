"""The "Import daily lines from spreadsheet" page of the output reports' admin: upload →
preview → confirm, as intake's seized-item import does.

The page itself (nothing kept on the server between the preview and the confirmation, which
asks for the same file again: the same SHA-256) is :mod:`reserve.admin.imports`; this module
holds what is mining's: the draft report chosen, the columns, the verification of the file's
days against the expected output shown with the preview, the message and the page after.

Allowed to users who may add daily lines (``mining.add_dailyline``: mining clerks).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy, ngettext

from mining import imports
from mining.models import OutputReport, ReportState
from reserve.admin.imports import SpreadsheetImportForm, SpreadsheetImportView

PERMISSION = "mining.add_dailyline"


class ImportForm(SpreadsheetImportForm):
    field_order = ["report"]

    report = forms.ModelChoiceField(
        label=gettext_lazy("output report"),
        queryset=OutputReport.objects.filter(state=ReportState.DRAFT).select_related("site"),
        help_text=gettext_lazy("A draft report; every day of the file must lie in its period."),
    )


class ImportLinesView(SpreadsheetImportView):
    permission = PERMISSION
    template = "admin/mining/outputreport/import_lines.html"
    title = gettext_lazy("Import daily lines from a spreadsheet")
    form_class = ImportForm
    target = "report"
    columns = imports.COLUMNS

    limits = staticmethod(imports.limits)
    preview = staticmethod(imports.preview_lines)
    apply = staticmethod(imports.import_lines)

    def imported(self, request, target, report):
        messages.success(
            request,
            ngettext(
                "%(count)s daily line imported into %(report)s.",
                "%(count)s daily lines imported into %(report)s.",
                report.rows,
            )
            % {"count": report.rows, "report": target},
        )
        return HttpResponseRedirect(reverse("admin:mining_outputreport_change", args=[target.pk]))

    def extra_context(self, report):
        return {"verification": report.verification if report else None}
