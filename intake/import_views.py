"""The "Import from spreadsheet" page of the seized items' admin: upload → preview → confirm.

Nothing is kept on the server between the preview and the confirmation. The preview shows the
file's SHA-256 and the confirmation asks for the file again; it is imported only if its SHA-256
is the one previewed (so the clerk confirms exactly what they saw), and it is validated again
in full, in the same transaction as the writes. No upload store to clean, to protect from other
users, or to go stale; the cost is choosing the file twice.

Allowed to users who may add seized items (``intake.add_seizeditem``: intake clerks).
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

from intake.imports import COLUMNS, import_items, limits, preview_items
from intake.models import CourtOrder

PERMISSION = "intake.add_seizeditem"


class ImportForm(forms.Form):
    order = forms.ModelChoiceField(
        label=gettext_lazy("court order"),
        queryset=CourtOrder.objects.select_related("case").order_by("-id"),
        help_text=gettext_lazy("Every line of the file is registered under this order."),
    )
    file = forms.FileField(
        label=gettext_lazy("spreadsheet"),
        help_text=gettext_lazy("CSV (UTF-8) or XLSX; checked by its content."),
    )
    sha256 = forms.CharField(widget=forms.HiddenInput, required=False)


class ImportItemsView:
    template = "admin/intake/seizeditem/import.html"

    def __init__(self, model_admin):
        self.model_admin = model_admin

    def dispatch(self, request):
        if not request.user.has_perm(PERMISSION):
            raise PermissionDenied
        if request.method != "POST":
            return self.render(request, ImportForm(initial={"order": request.GET.get("order")}))
        form = ImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render(request, form)
        order, upload = form.cleaned_data["order"], form.cleaned_data["file"]
        if "_apply" not in request.POST:
            report = preview_items(order=order, upload=upload, actor=request.user)
            return self.render(request, self.confirm_form(order, report), report=report)
        previewed = form.cleaned_data["sha256"]
        report = import_items(order=order, upload=upload, actor=request.user, expect_sha256=previewed)
        if report.applied:
            messages.success(
                request,
                ngettext(
                    "%(count)s seized item imported under order %(order)s.",
                    "%(count)s seized items imported under order %(order)s.",
                    report.rows,
                )
                % {"count": report.rows, "order": order.number},
            )
            changelist = reverse("admin:intake_seizeditem_changelist")
            return HttpResponseRedirect(f"{changelist}?order__id__exact={order.pk}")
        return self.render(request, self.confirm_form(order, report), report=report)

    @staticmethod
    def confirm_form(order, report) -> ImportForm:
        return ImportForm(initial={"order": order.pk, "sha256": report.sha256})

    def render(self, request, form, report=None):
        opts = self.model_admin.model._meta
        context = {
            **self.model_admin.admin_site.each_context(request),
            "opts": opts,
            "title": _("Import seized items from a spreadsheet"),
            "form": form,
            "report": report,
            "columns": COLUMNS,
            "preview_rows": [
                (row, [row.values[c.name] for c in COLUMNS]) for row in (report.preview if report else [])
            ],
            "max_rows": limits().max_rows,
        }
        return TemplateResponse(request, self.template, context)
