"""The "Import from spreadsheet" page of the seized items' admin: upload → preview → confirm.

The page itself (nothing kept on the server between the preview and the confirmation, which
asks for the same file again: the same SHA-256) is :mod:`reserve.admin.imports`; this module
holds what is intake's: the court order chosen, the columns, the message and the page after.

Allowed to users who may add seized items (``intake.add_seizeditem``: intake clerks).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy, ngettext

from intake import imports
from intake.models import CourtOrder
from reserve.admin.imports import SpreadsheetImportForm, SpreadsheetImportView

PERMISSION = "intake.add_seizeditem"


class ImportForm(SpreadsheetImportForm):
    field_order = ["order"]

    order = forms.ModelChoiceField(
        label=gettext_lazy("court order"),
        queryset=CourtOrder.objects.select_related("case").order_by("-id"),
        help_text=gettext_lazy("Every line of the file is registered under this order."),
    )


class ImportItemsView(SpreadsheetImportView):
    permission = PERMISSION
    template = "admin/intake/seizeditem/import.html"
    title = gettext_lazy("Import seized items from a spreadsheet")
    form_class = ImportForm
    target = "order"
    columns = imports.COLUMNS

    limits = staticmethod(imports.limits)
    preview = staticmethod(imports.preview_items)
    apply = staticmethod(imports.import_items)

    def imported(self, request, target, report):
        messages.success(
            request,
            ngettext(
                "%(count)s seized item imported under order %(order)s.",
                "%(count)s seized items imported under order %(order)s.",
                report.rows,
            )
            % {"count": report.rows, "order": target.number},
        )
        changelist = reverse("admin:intake_seizeditem_changelist")
        return HttpResponseRedirect(f"{changelist}?order__id__exact={target.pk}")
