"""Intake clerks' screens: courts, cases with their parties, court orders with their items,
seized items, court documents and the chain of custody.

Every record is added through :mod:`intake.services`, so the admin keeps the same rules as
every other entry point: the form runs the service in a savepoint that is rolled back to show
its refusals next to the fields, and ``save_model`` runs it for real. Recorded rows are not
edited here; an item's transitions (forfeiture, release, cancellation) are admin actions that
make the approval engine's requests.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from intake import import_views, services
from intake.admin_transitions import (
    CancellationForm,
    CustodyIntakeForm,
    ForfeitureForm,
    ReleaseForm,
    ReleaseTransferForm,
    awaiting_custody,
    awaiting_transfer,
    cancellable,
    in_custody,
)
from intake.documents import check_upload, store_document
from intake.models import (
    Case,
    Court,
    CourtDocument,
    CourtOrder,
    CustodyEvent,
    Party,
    ReleaseTransfer,
    SeizedItem,
)
from intake.models.cases import PII_PERMISSION
from reserve.admin.base import (
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    admin_link,
    pretty_json,
)
from reserve.admin.proposals import Proposal, ProposalAdminMixin
from reserve.admin.service_models import ServiceModelAdmin, ServiceModelForm, pick


class ServiceForm(ServiceModelForm):
    """intake's service forms. A post of a saved row's (read-only) page is still checked by the
    service, which refuses its empty input, as it always has been here."""

    checks_on_change = True


# Courts and cases


class CourtForm(ServiceForm):
    class Meta:
        model = Court
        fields = ["name", "region", "code"]

    def run(self, *, actor, dry_run):
        return services.register_court(actor=actor, **pick(self.cleaned_data, "name", "region", "code"))


@admin.register(Court)
class CourtAdmin(ServiceModelAdmin):
    form = CourtForm
    fields = ["name", "region", "code"]
    list_display = ["name", "region", "code"]
    search_fields = ["name", "code", "region"]


def can_see_pii(request) -> bool:
    return request.user.has_perm(PII_PERMISSION)


class PartyInline(ReadOnlyInline):
    """The parties recorded; names and identity documents only for users allowed to see them."""

    model = Party
    verbose_name_plural = _("parties")

    def get_fields(self, request, obj=None):
        return ["role", *Party.PII_FIELDS] if can_see_pii(request) else ["role"]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("intake.view_party")


class NewPartyForm(forms.ModelForm):
    class Meta:
        model = Party
        fields = ["role", "name", "identity_document_number"]

    def _post_clean(self):
        pass


class NewPartyInline(admin.TabularInline):
    """Adding parties (through :func:`intake.services.add_party`); only users who may see
    personal data enter it."""

    model = Party
    form = NewPartyForm
    fields = ["role", "name", "identity_document_number"]
    extra = 1
    can_delete = False
    verbose_name = _("new party")
    verbose_name_plural = _("add parties")

    def get_queryset(self, request):
        return super().get_queryset(request).none()

    def has_add_permission(self, request, obj=None) -> bool:
        return can_see_pii(request) and request.user.has_perm("intake.add_party")

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_add_permission(request, obj)


class CaseForm(ServiceForm):
    class Meta:
        model = Case
        fields = ["court", "number", "investigating_authority", "opened_on"]

    def run(self, *, actor, dry_run):
        return services.open_case(
            actor=actor, **pick(self.cleaned_data, "court", "number", "investigating_authority", "opened_on")
        )


@admin.register(Case)
class CaseAdmin(ServiceModelAdmin):
    form = CaseForm
    fields = ["court", "number", "investigating_authority", "opened_on"]
    inlines = [PartyInline, NewPartyInline]
    list_display = ["number", "court", "investigating_authority", "opened_on", "dossier_link"]
    list_filter = ["court"]
    list_select_related = ["court"]
    search_fields = ["number", "investigating_authority"]

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return [*fields, "dossier_link"] if obj is not None else fields

    @admin.display(description=_("case page"))
    def dossier_link(self, obj: Case) -> str:
        url = reverse("intake:case", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Orders, custody and ledger of every item"))

    def save_formset(self, request, form, formset, change):
        if formset.model is not Party:
            return super().save_formset(request, form, formset, change)
        for party_form in formset.forms:
            if not party_form.has_changed() or party_form.instance.pk is not None:
                continue
            services.add_party(
                case=form.instance,
                actor=request.user,
                **pick(party_form.cleaned_data, "role", "name", "identity_document_number"),
            )
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


# Court orders and items


def _formatted(item: SeizedItem, field: str) -> str:
    return item.asset.format(getattr(item, field))


class ItemInline(ReadOnlyInline):
    model = SeizedItem
    fields = ["item", "asset", "claimed", "state", "txid", "vout", "custody_wallet"]
    readonly_fields = fields

    @admin.display(description=_("item"))
    def item(self, obj):
        return admin_link(obj)

    @admin.display(description=_("claimed amount"))
    def claimed(self, obj):
        return _formatted(obj, "claimed_amount")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("asset", "custody_wallet")


ORDER_FIELDS = [
    "case",
    "kind",
    "number",
    "issued_on",
    "in_force_on",
    "appeal_deadline",
    "appeal_lodged",
    "court_reference",
]
ITEM_FIELDS = [
    "order",
    "asset",
    "claimed_amount",
    "source_kind",
    "source_address",
    "exchange_account",
    "txid",
    "vout",
    "custody_wallet",
    "restriction",
]


class CourtOrderForm(ServiceForm):
    document_file = forms.FileField(
        label=_("signed document"), required=False, help_text=_("PDF, PNG or JPEG; checked by its content.")
    )

    class Meta:
        model = CourtOrder
        fields = ORDER_FIELDS

    def clean_document_file(self):
        upload = self.cleaned_data.get("document_file")
        if upload:
            try:
                check_upload(upload)
            except ValidationError as exc:
                raise ValidationError(exc.message_dict.get("document", exc.messages))
        return upload

    def run(self, *, actor, dry_run):
        upload = self.cleaned_data.get("document_file")
        document = None
        if upload and not dry_run:
            document = store_document(upload=upload, actor=actor)
        return services.record_order(actor=actor, document=document, **pick(self.cleaned_data, *ORDER_FIELDS))


@admin.register(CourtOrder)
class CourtOrderAdmin(ServiceModelAdmin):
    form = CourtOrderForm
    inlines = [ItemInline]
    list_display = ["number", "kind", "case", "issued_on", "in_force_on", "appeal_deadline", "appeal_lodged"]
    list_filter = ["kind", "case__court", "appeal_lodged"]
    list_select_related = ["case"]
    search_fields = ["number", "case__number", "court_reference"]
    readonly_fields = ["document_link", "recorded_by"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return [*ORDER_FIELDS, "document_file"]
        return [*ORDER_FIELDS, "document_link", "recorded_by"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return self.get_fields(request, obj)

    @admin.display(description=_("signed document"))
    def document_link(self, obj):
        return document_link(obj.document)


def document_link(document: CourtDocument | None) -> str:
    """A link to the serving view (which checks the hash); the record's admin page otherwise."""
    if document is None:
        return "—"
    url = reverse("intake:court-document", args=[document.pk])
    return format_html('<a href="{}">{}</a>', url, document.stored_name)


class SeizedItemForm(ServiceForm):
    claimed_amount = forms.CharField(
        label=_("claimed amount"), help_text=_("In the asset's units, for example 0.5 (BTC).")
    )

    class Meta:
        model = SeizedItem
        fields = ITEM_FIELDS

    def run(self, *, actor, dry_run):
        values = pick(self.cleaned_data, *ITEM_FIELDS)
        for text in ("source_address", "exchange_account", "txid", "restriction"):
            values[text] = values[text] or ""
        return services.register_item(actor=actor, **values)


class CustodyEventInline(ReadOnlyInline):
    model = CustodyEvent
    fields = ["sequence", "at", "actor", "action", "evidence", "hash"]
    readonly_fields = fields


class ItemAgeFilter(admin.SimpleListFilter):
    """How long ago an item was registered: items held for a long time need a decision."""

    title = _("age")
    parameter_name = "age"
    BANDS = {"30": (None, 30), "180": (30, 180), "365": (180, 365), "older": (365, None)}

    def lookups(self, request, model_admin):
        return [
            ("30", _("under 30 days")),
            ("180", _("30 days to 6 months")),
            ("365", _("6 to 12 months")),
            ("older", _("over a year")),
        ]

    def queryset(self, request, queryset):
        band = self.BANDS.get(self.value())
        if band is None:
            return queryset
        now = timezone.now()
        younger, older = band
        if younger is not None:
            queryset = queryset.filter(registered_at__lte=now - dt.timedelta(days=younger))
        if older is not None:
            queryset = queryset.filter(registered_at__gt=now - dt.timedelta(days=older))
        return queryset


@admin.register(SeizedItem)
class SeizedItemAdmin(ProposalAdminMixin, ServiceModelAdmin):
    form = SeizedItemForm
    #: Actions that start an item's transitions: each makes an approval request (nothing
    #: changes until it is approved and executed).
    actions = ["start_transfer"]
    proposals = (
        Proposal(
            "custody-intake",
            _("Request intake into custody"),
            CustodyIntakeForm,
            on_row=True,
            applies=awaiting_custody,
            action_label=_("Request intake of the selected item into custody (coins received)"),
        ),
        Proposal(
            "forfeit",
            _("Request forfeiture"),
            ForfeitureForm,
            on_row=True,
            applies=in_custody,
            action_label=_("Request forfeiture of the selected item (confiscation verdict)"),
        ),
        Proposal(
            "release",
            _("Request release"),
            ReleaseForm,
            on_row=True,
            applies=in_custody,
            action_label=_("Request release of the selected item to its owner"),
        ),
        Proposal(
            "release-transfer",
            _("Record the transfer to the owner"),
            ReleaseTransferForm,
            on_row=True,
            applies=awaiting_transfer,
            action_label=_("Record the on-chain transfer of the selected released item to its owner"),
        ),
        Proposal(
            "cancel",
            _("Request cancellation"),
            CancellationForm,
            on_row=True,
            applies=cancellable,
            action_label=_("Request cancellation of the selected item (order withdrawn)"),
        ),
    )

    @admin.action(
        description=_("Record that the transfer to the custody wallet has started"), permissions=["change"]
    )
    def start_transfer(self, request, queryset):
        done = 0
        for item in queryset.order_by("pk"):
            try:
                services.record_transfer_started(item=item, actor=request.user)
            except ValidationError as exc:
                self.message_user(request, "; ".join(exc.messages), messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(
                request,
                ngettext(
                    "%(count)d item now awaits its coins in the custody wallet.",
                    "%(count)d items now await their coins in the custody wallet.",
                    done,
                )
                % {"count": done},
                messages.SUCCESS,
            )

    inlines = [CustodyEventInline]
    list_display = [
        "__str__",
        "case_number",
        "state",
        "asset",
        "claimed",
        "received",
        "txid",
        "custody_wallet",
    ]
    list_filter = ["state", ("order__case__court", admin.RelatedOnlyFieldListFilter), "asset", ItemAgeFilter]
    list_select_related = ["order__case", "asset", "custody_wallet"]
    search_fields = ["order__case__number", "source_address", "txid", "exchange_account", "court_reference"]

    def get_search_fields(self, request):
        """Parties are found by name only by those who may see their personal data (a search
        that finds an item would otherwise tell who is a party of its case)."""
        fields = list(super().get_search_fields(request))
        return [*fields, "order__case__parties__name"] if can_see_pii(request) else fields

    readonly_fields = [
        "network",
        "received",
        "state",
        "discrepancy_explanation",
        "registered_at",
        "split_from",
        "split_into",
        "sent_to_owner",
    ]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ITEM_FIELDS
        shown = [name if name != "claimed_amount" else "claimed" for name in ITEM_FIELDS]
        return [*shown, *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def get_urls(self):
        view = self.admin_site.admin_view(import_views.ImportItemsView(self).dispatch)
        return [path("import/", view, name="intake_seizeditem_import"), *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        can_import = request.user.has_perm(import_views.PERMISSION)
        return super().changelist_view(request, {"can_import": can_import, **(extra_context or {})})

    @admin.display(description=_("case"), ordering="order__case__number")
    def case_number(self, obj):
        return obj.order.case.number

    @admin.display(description=_("claimed amount"))
    def claimed(self, obj):
        return _formatted(obj, "claimed_amount")

    @admin.display(description=_("received amount"))
    def received(self, obj):
        return _formatted(obj, "received_amount") if obj.received_amount is not None else "—"

    @admin.display(description=_("split from"))
    def split_from(self, obj):
        return admin_link(obj.parent) if obj.parent_id else "—"

    @admin.display(description=_("transfer to the owner"))
    def sent_to_owner(self, obj):
        transfer = ReleaseTransfer.objects.filter(item=obj).select_related("entry", "item__asset").first()
        if transfer is None:
            return "—"
        asset = transfer.item.asset
        return _("%(sent)s %(asset)s to %(destination)s in %(txid)s (fee %(fee)s), entry %(entry)s") % {
            "sent": asset.format(transfer.sent_units),
            "asset": asset.symbol,
            "destination": transfer.destination,
            "txid": transfer.txid,
            "fee": asset.format(transfer.fee_units),
            "entry": transfer.entry.number,
        }

    @admin.display(description=_("split into"))
    def split_into(self, obj):
        parts = list(obj.parts.select_related("asset").order_by("id"))
        if not parts:
            return "—"
        return format_html_join(
            ", ", "{} ({})", ((admin_link(part), _formatted(part, "received_amount")) for part in parts)
        )


# Evidence (read-only)


@admin.register(CourtDocument)
class CourtDocumentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    fields = [
        "stored_name",
        "sha256",
        "size",
        "content_type",
        "original_name",
        "uploaded_at",
        "uploaded_by",
        "link",
    ]
    readonly_fields = fields
    list_display = ["stored_name", "content_type", "size", "uploaded_at", "uploaded_by"]
    search_fields = ["sha256", "original_name"]
    list_select_related = ["uploaded_by"]

    @admin.display(description=_("open"))
    def link(self, obj):
        url = reverse("intake:court-document", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Open (the SHA-256 is checked first)"))


@admin.register(CustodyEvent)
class CustodyEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    fields = ["item", "sequence", "at", "actor", "action", "details", "evidence", "previous_hash", "hash"]
    readonly_fields = fields
    list_display = ["item", "sequence", "action", "at", "actor"]
    list_filter = ["action"]
    list_select_related = ["item", "actor"]
    search_fields = ["item__txid", "hash"]

    @admin.display(description=_("details"))
    def details(self, obj):
        return pretty_json(obj.data)
