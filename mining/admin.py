"""Mining clerks' screens: network epochs, sites with their fleets, output reports with their
daily lines, pool statements and payout receipts (with the payout check on the report page).

Every record is added through :mod:`mining.services`, so the admin keeps the same rules as every
other entry point: the form runs the service in a savepoint that is rolled back to show its
refusals next to the fields, and ``save_model`` runs it for real (the service model admin of
:mod:`reserve.admin.service_models`, which intake's admin uses too). Recorded rows
are not edited, except that a clerk may fill in the start time of an epoch that has none. The
report workflow runs from the report changelist: submit, verify and return to draft are actions
that call :mod:`mining.transitions` (refusals shown as messages); accepting a verified report and
sweeping a site's mined coins are proposals that make approval requests.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import path
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from mining import import_views, payouts, services, transitions
from mining.admin_transitions import AcceptOutputForm, ReportActionForm, SweepForm, is_posted, is_verified
from mining.models import (
    DailyLine,
    Fleet,
    NetworkEpoch,
    OutputReport,
    PayoutReceipt,
    PoolStatement,
    PoolStatementLine,
    Site,
)
from mining.selectors import verify_report
from reserve.admin.base import ReadOnlyInline
from reserve.admin.proposals import Proposal, ProposalAdminMixin
from reserve.admin.service_models import ServiceModelAdmin, ServiceModelForm, add_service_error, pick

# Network epochs

EPOCH_FIELDS = ["network", "epoch", "start_height", "start_time", "bits", "published_difficulty"]
EPOCH_FIELDS += ["first_block_hash", "source"]
EPOCH_FILLABLE = ["start_time", "first_block_hash", "source"]


class EpochForm(ServiceModelForm):
    runs_on_change = True

    class Meta:
        model = NetworkEpoch
        fields = EPOCH_FIELDS

    def run(self, *, actor, dry_run):
        values = {name: self.cleaned_data.get(name, getattr(self.instance, name)) for name in EPOCH_FIELDS}
        for text in ("published_difficulty", "first_block_hash", "source", "bits"):
            values[text] = values[text] or ""
        return services.record_epoch(actor=actor, **values)


@admin.register(NetworkEpoch)
class NetworkEpochAdmin(ServiceModelAdmin):
    form = EpochForm
    fields = EPOCH_FIELDS
    list_display = [
        "epoch",
        "network",
        "start_height",
        "start_time",
        "bits",
        "published_difficulty",
        "source",
    ]
    list_filter = ["network", ("start_time", admin.EmptyFieldListFilter), "source"]
    search_fields = ["=epoch", "=start_height", "bits", "first_block_hash"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        if obj.start_time is None and self.has_change_permission(request, obj):
            return [name for name in EPOCH_FIELDS if name not in EPOCH_FILLABLE]
        return list(EPOCH_FIELDS)


# Sites and fleets

SITE_FIELDS = [
    "name",
    "region",
    "operator",
    "licence_number",
    "licence_date",
    "energy_source",
    "power_capacity_mw",
    "commissioned_on",
    "pool_name",
    "payout_scheme",
    "pool_fee_percent",
    "payout_address",
    "custody_wallet",
    "tolerance_percent",
    "timezone",
    "reporting_client",
]


class SiteForm(ServiceModelForm):
    class Meta:
        model = Site
        fields = SITE_FIELDS

    def run(self, *, actor, dry_run):
        values = pick(self.cleaned_data, *SITE_FIELDS)
        values["timezone_name"] = values.pop("timezone") or ""
        return services.register_site(actor=actor, **values)


FLEET_FIELDS = ["machine_model", "count", "nominal_hashrate_ths", "efficiency_j_per_th"]


class FleetInline(ReadOnlyInline):
    model = Fleet
    fields = FLEET_FIELDS


class NewFleetForm(forms.ModelForm):
    class Meta:
        model = Fleet
        fields = FLEET_FIELDS

    def _post_clean(self):
        pass


class NewFleetInline(admin.TabularInline):
    """Adding fleets (through :func:`mining.services.add_fleet`)."""

    model = Fleet
    form = NewFleetForm
    fields = FLEET_FIELDS
    extra = 1
    can_delete = False
    verbose_name = _("new fleet")
    verbose_name_plural = _("add fleets")

    def get_queryset(self, request):
        return super().get_queryset(request).none()

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Site)
class SiteAdmin(ServiceModelAdmin):
    form = SiteForm
    fields = SITE_FIELDS
    inlines = [FleetInline, NewFleetInline]
    list_display = ["name", "region", "operator", "licence_number", "energy_source", "pool_name", "status"]
    list_filter = ["status", "energy_source", "payout_scheme", "region"]
    search_fields = ["name", "licence_number", "operator", "payout_address", "pool_name"]

    def get_inlines(self, request, obj):
        return [FleetInline, NewFleetInline] if obj is not None else []

    def save_formset(self, request, form, formset, change):
        if formset.model is not Fleet:
            return super().save_formset(request, form, formset, change)
        for fleet_form in formset.forms:
            if not fleet_form.has_changed() or fleet_form.instance.pk is not None:
                continue
            services.add_fleet(
                site=form.instance, actor=request.user, **pick(fleet_form.cleaned_data, *FLEET_FIELDS)
            )
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


# Output reports and daily lines

LINE_FIELDS = [
    "day",
    "average_hashrate_hs",
    "uptime_percent",
    "energy_mwh",
    "curtailment_mwh",
    "btc_gross",
    "pool_fees",
    "btc_net",
    "payout_txids",
    "energy_cost_kzt",
]


class ReportForm(ServiceModelForm):
    class Meta:
        model = OutputReport
        fields = ["site", "period_start", "period_end"]

    def run(self, *, actor, dry_run):
        return services.open_report(
            actor=actor, **pick(self.cleaned_data, "site", "period_start", "period_end")
        )


class DailyLineInline(ReadOnlyInline):
    model = DailyLine
    fk_name = "report"
    fields = LINE_FIELDS


class NewDailyLineForm(forms.ModelForm):
    """A daily line checked by :func:`mining.services.record_daily_line` (in a rolled-back
    savepoint) so that its refusals show next to its fields."""

    report = None
    actor = None

    class Meta:
        model = DailyLine
        fields = LINE_FIELDS
        widgets = {"payout_txids": forms.Textarea(attrs={"rows": 2})}

    def _post_clean(self):
        pass

    def clean(self):
        cleaned = super().clean()
        if self.errors or not self.has_changed() or self.report is None:
            return cleaned
        try:
            with transaction.atomic():
                services.record_daily_line(report=self.report, actor=self.actor, **_line_values(cleaned))
                transaction.set_rollback(True)
        except ValidationError as exc:
            add_service_error(self, exc)
        return cleaned


def _line_values(cleaned: dict) -> dict:
    values = pick(cleaned, *LINE_FIELDS)
    values["payout_txids"] = values["payout_txids"] or ""
    return values


class NewDailyLineInline(admin.TabularInline):
    """Adding daily lines to a draft report (through :func:`mining.services.record_daily_line`)."""

    model = DailyLine
    fk_name = "report"
    form = NewDailyLineForm
    fields = LINE_FIELDS
    extra = 1
    can_delete = False
    verbose_name = _("new daily line")
    verbose_name_plural = _("add daily lines")

    def get_queryset(self, request):
        return super().get_queryset(request).none()

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = type(formset.form.__name__, (formset.form,), {"report": obj, "actor": request.user})
        return formset

    def has_add_permission(self, request, obj=None) -> bool:
        return obj is not None and obj.state == "draft" and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return False


def _run_on_each(modeladmin, request, queryset, step, done_message) -> None:
    """Run ``step(report)`` for each selected report, each in its own transaction; say what
    was done and, for each refusal, why."""
    for report in queryset.select_related("site"):
        try:
            step(report)
        except ValidationError as exc:
            modeladmin.message_user(request, f"{report}: {' '.join(exc.messages)}", messages.ERROR)
        else:
            modeladmin.message_user(request, done_message % {"report": report}, messages.SUCCESS)


def _action_text(request) -> str:
    return (request.POST.get("explanation") or "").strip()


@admin.register(OutputReport)
class OutputReportAdmin(ProposalAdminMixin, ServiceModelAdmin):
    form = ReportForm
    action_form = ReportActionForm
    actions = ["submit_reports", "verify_reports", "reopen_reports"]
    proposals = (
        Proposal(
            "accept",
            _("Request acceptance"),
            AcceptOutputForm,
            on_row=True,
            applies=is_verified,
            action_label=_("Request acceptance of the selected verified report"),
        ),
        Proposal(
            "sweep",
            _("Request sweep"),
            SweepForm,
            on_row=True,
            applies=is_posted,
            action_label=_("Request a sweep of the selected report's site wallet to cold storage"),
        ),
    )
    fields = ["site", "period_start", "period_end"]
    readonly_fields = ["state", "explanation", "verification", "verified_figures"]
    list_display = ["__str__", "site", "period_start", "period_end", "state"]
    list_filter = ["state", ("site", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["site"]
    search_fields = ["site__name", "site__licence_number"]
    date_hierarchy = "period_start"

    def get_fields(self, request, obj=None):
        return self.fields if obj is None else [*self.fields, *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def get_inlines(self, request, obj):
        return [DailyLineInline, NewDailyLineInline] if obj is not None else []

    def get_urls(self):
        view = self.admin_site.admin_view(import_views.ImportLinesView(self).dispatch)
        return [path("import-lines/", view, name="mining_outputreport_import_lines"), *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        can_import = request.user.has_perm(import_views.PERMISSION)
        return super().changelist_view(request, {"can_import": can_import, **(extra_context or {})})

    @admin.display(description=_("verification"))
    def verification(self, obj):
        total = verify_report(obj).total
        if total.expected_sats is None:
            return _("Expected output unknown for at least one day.")
        return _("Expected %(expected)s sats, reported gross %(gross)s sats, deviation %(percent)s%%.") % {
            "expected": total.expected_sats,
            "gross": total.btc_gross,
            "percent": total.deviation_percent if total.deviation_percent is not None else "—",
        }

    def _make_request(self, request, form):
        """A sweep is made by its mining service, not by a bare ``create_request``."""
        if not isinstance(form, SweepForm):
            return super()._make_request(request, form)
        submission = form.cleaned_data.get("submission") or ""
        key = f"admin:{request.user.pk}:{submission}" if submission else None
        try:
            return form.make_request(actor=request.user, idempotency_key=key)
        except ValidationError as exc:
            form.add_service_errors(exc)
            return None

    @admin.display(description=_("verified figures"))
    def verified_figures(self, obj):
        """The frozen verification the acceptance request pins (not the live computation)."""
        verification = transitions.current_verification(obj)
        if verification is None:
            return "—"
        total = verification.figures["total"]
        return _(
            "Verified by %(user)s at %(when)s (digest %(digest)s): expected %(expected)s sats, "
            "gross %(gross)s sats, net %(net)s sats."
        ) % {
            "user": verification.verified_by.get_username() if verification.verified_by else "—",
            "when": verification.verified_at.isoformat(timespec="minutes"),
            "digest": verification.digest[:12],
            "expected": total["expected_sats"] if total["expected_sats"] is not None else "—",
            "gross": total["btc_gross"],
            "net": total["btc_net"],
        }

    def save_formset(self, request, form, formset, change):
        if formset.model is not DailyLine:
            return super().save_formset(request, form, formset, change)
        for line_form in formset.forms:
            if not line_form.has_changed() or line_form.instance.pk is not None:
                continue
            services.record_daily_line(
                report=form.instance, actor=request.user, **_line_values(line_form.cleaned_data)
            )
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    @admin.action(permissions=["change"], description=_("Submit the selected draft reports"))
    def submit_reports(self, request, queryset):
        _run_on_each(
            self,
            request,
            queryset,
            lambda report: transitions.submit_report(report=report, actor=request.user),
            _("%(report)s submitted."),
        )

    @admin.action(
        permissions=["change"],
        description=_("Verify the selected submitted reports (with the explanation given)"),
    )
    def verify_reports(self, request, queryset):
        text = _action_text(request)
        _run_on_each(
            self,
            request,
            queryset,
            lambda report: transitions.record_verification(
                report=report, actor=request.user, explanation=text
            ),
            _("%(report)s verified."),
        )

    @admin.action(
        permissions=["change"],
        description=_("Return the selected reports to draft (with the reason given)"),
    )
    def reopen_reports(self, request, queryset):
        text = _action_text(request)
        _run_on_each(
            self,
            request,
            queryset,
            lambda report: transitions.reopen_report(report=report, actor=request.user, reason=text),
            _("%(report)s returned to draft."),
        )


# Pool payout verification (issue #19): statements, receipts, and the check on the report page


STATEMENT_FIELDS = ["site", "format", "first_day", "last_day", "fee_percent", "sha256", "size_bytes"]
STATEMENT_FIELDS += ["imported_at", "imported_by"]


class PoolStatementForm(ServiceModelForm):
    """Upload of a statement file, imported by :func:`mining.payouts.import_pool_statement`."""

    file = forms.FileField(
        label=_("statement file"), help_text=_("CSV in the fund's format, or Binance Pool JSON.")
    )

    class Meta:
        model = PoolStatement
        fields = ["site", "format"]

    def run(self, *, actor, dry_run):
        if not hasattr(self, "_content"):
            upload = self.cleaned_data.get("file")
            self._content = b"".join(upload.chunks()) if upload is not None else b""
        return payouts.import_pool_statement(
            site=self.cleaned_data.get("site"),
            content=self._content,
            format=self.cleaned_data.get("format") or "",
            actor=actor,
        )


class PoolStatementLineInline(ReadOnlyInline):
    model = PoolStatementLine
    fields = ["row", "day", "gross_sats", "fee_sats", "net_sats", "payout_txid", "kind", "status"]


@admin.register(PoolStatement)
class PoolStatementAdmin(ServiceModelAdmin):
    form = PoolStatementForm
    list_display = ["__str__", "site", "format", "first_day", "last_day", "imported_at", "imported_by"]
    list_filter = ["format", ("site", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["site", "imported_by"]
    search_fields = ["site__name", "sha256"]
    date_hierarchy = "first_day"
    actions = ["observe_receipts"]

    def get_fields(self, request, obj=None):
        return ["site", "format", "file"] if obj is None else STATEMENT_FIELDS

    @admin.action(
        description=_("Observe the receipts at the payout address for these statements"), permissions=["add"]
    )
    def observe_receipts(self, request, queryset):
        """Asks the chain source, one statement's period at a time (outside any transaction of
        the admin: the service opens its own after the source answered)."""
        for statement in queryset.select_related("site"):
            try:
                seen = payouts.observe_receipts(
                    site=statement.site,
                    first_day=statement.first_day,
                    last_day=statement.last_day,
                    actor=request.user,
                )
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("%(statement)s: %(added)s new receipts, %(updated)s updated.")
                    % {"statement": statement, "added": len(seen.added), "updated": len(seen.updated)},
                    messages.SUCCESS,
                )

    def get_inlines(self, request, obj):
        return [PoolStatementLineInline] if obj is not None else []

    def has_change_permission(self, request, obj=None) -> bool:
        return False if obj is not None else super().has_change_permission(request, obj)


RECEIPT_FIELDS = ["site", "txid", "vout", "confirmations", "block_time", "block_height", "coinbase"]


class PayoutReceiptForm(ServiceModelForm):
    """A clerk's receipt, recorded by :func:`mining.payouts.record_receipt`."""

    amount_btc = forms.CharField(label=_("amount (BTC)"), help_text=_("Decimal BTC, at most 8 decimals."))

    class Meta:
        model = PayoutReceipt
        fields = RECEIPT_FIELDS

    def run(self, *, actor, dry_run):
        values = pick(self.cleaned_data, *RECEIPT_FIELDS, "amount_btc")
        values["coinbase"] = bool(values["coinbase"])
        return payouts.record_receipt(actor=actor, **values)


@admin.register(PayoutReceipt)
class PayoutReceiptAdmin(ServiceModelAdmin):
    form = PayoutReceiptForm
    list_display = ["txid", "vout", "site", "units", "confirmations", "block_time", "coinbase", "source"]
    list_filter = ["source", "coinbase", ("site", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["site"]
    search_fields = ["=txid", "site__name"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return [*RECEIPT_FIELDS[:3], "amount_btc", *RECEIPT_FIELDS[3:]]
        return [*RECEIPT_FIELDS, "units", "source", "observed_at", "recorded_by"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False if obj is not None else super().has_change_permission(request, obj)


def _figure(value) -> str:
    return "—" if value is None else str(value)


@admin.display(description=_("payout check"))
def payout_check_display(obj):
    """The report vs the pool's statement vs the receipts (and FPPS expected less fee)."""
    check = payouts.payout_check(obj)
    labels = payouts.COLUMN_LABELS
    header = format_html_join("", "<th>{}</th>", ((labels[name],) for name in labels))
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                d.day.isoformat(),
                _figure(d.reported_net),
                _figure(d.pool_net),
                d.received,
                _figure(d.expected_less_fee),
            )
            for d in check.days
        ),
    )
    problems = format_html_join(
        "",
        "<li><strong>{}</strong>: {}</li>",
        ((check.mismatch_label(m), m.message) for m in check.mismatches),
    )
    notes = format_html_join("", "<li>{}</li>", ((note,) for note in check.notes))
    verdict = _("The report, the pool and the receipts agree.") if check.agrees else _("Mismatches:")
    return format_html(
        "<table><tr>{}</tr>{}</table><p>{}</p><ul>{}</ul><ul>{}</ul>", header, rows, verdict, problems, notes
    )


# Shown on the report page without touching the report admin's class body.
OutputReportAdmin.readonly_fields = [*OutputReportAdmin.readonly_fields, payout_check_display]
