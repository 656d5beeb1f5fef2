"""Custody reference data: assets, wallets and their addresses are edited here (with history);
the address allow-list is read-only and changes only through approved requests.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reserve.addresses import AddressError, normalize_address
from reserve.admin.base import GuardedHistoryAdmin, ReadOnlyHistoryAdmin, ReadOnlyInline, request_link
from reserve.admin.forms import AllowListAdditionForm, AllowListRemovalForm
from reserve.admin.proposals import Proposal, ProposalAdminMixin
from reserve.models import (
    Account,
    AllowListedAddress,
    Asset,
    Wallet,
    WalletAddress,
)


@admin.register(Asset)
class AssetAdmin(GuardedHistoryAdmin):
    list_display = ("symbol", "name", "network", "decimals", "contract_address", "is_active")
    list_filter = ("network", "is_active")
    search_fields = ("symbol", "name", "contract_address")
    fields = ("symbol", "name", "network", "decimals", "contract_address", "is_active")
    #: Once an asset has accounts, these fields give its amounts their meaning, and requests
    #: name it by symbol (a renamed symbol would change what an approved request executes).
    fixed_once_used = ("symbol", "network", "decimals", "contract_address")

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.accounts.exists():
            readonly += [name for name in self.fixed_once_used if name not in readonly]
        return readonly

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class WalletAddressForm(forms.ModelForm):
    """Validates a new address against its wallet's network, even before the wallet is saved.

    ``WalletAddress.clean()`` normalises the address only once the wallet has a primary key, and
    ``full_clean`` skips the (network, address) uniqueness check because ``network`` is not a
    form field; both matter on the "add wallet with its first address" page, so they are done
    here. A recorded address is never edited: deactivate it and add the new one.
    """

    class Meta:
        model = WalletAddress
        fields = ("wallet", "address", "label", "is_active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None and "address" in self.fields:
            self.fields["address"].disabled = True
            self.fields["address"].help_text = _(
                "A recorded address is not edited: deactivate it and add the new address."
            )

    def clean(self):
        cleaned = super().clean()
        wallet, address = cleaned.get("wallet"), cleaned.get("address")
        if self.instance.pk is not None or wallet is None or not address or not wallet.network:
            return cleaned
        try:
            normalized = normalize_address(wallet.network, address)
        except AddressError as exc:
            self.add_error("address", str(exc))
            return cleaned
        if WalletAddress.objects.filter(network=wallet.network, address=normalized).exists():
            self.add_error("address", _("This address is already recorded."))
            return cleaned
        cleaned["address"] = normalized
        return cleaned


class WalletAddressFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        seen: set[str] = set()
        for form in self.forms:
            if form.instance.pk is not None or not hasattr(form, "cleaned_data"):
                continue
            address = form.cleaned_data.get("address")
            if not address:
                continue
            if address in seen:
                raise ValidationError(_("The same address is entered twice."))
            seen.add(address)


class WalletAddressInline(admin.TabularInline):
    model = WalletAddress
    form = WalletAddressForm
    formset = WalletAddressFormSet
    fields = ("address", "label", "is_active", "created_at")
    readonly_fields = ("created_at",)
    extra = 1
    can_delete = False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class WalletAccountInline(ReadOnlyInline):
    model = Account
    fields = ("category", "asset", "balance_display")
    verbose_name = _("balance")
    verbose_name_plural = _("balances")
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("asset")

    @admin.display(description=_("balance"))
    def balance_display(self, obj: Account) -> str:
        return obj.asset.format(obj.balance)


@admin.register(Wallet)
class WalletAdmin(GuardedHistoryAdmin):
    allow_revert = True
    list_display = ("code", "name", "kind", "network", "custodian", "is_active", "created_at")
    list_filter = ("kind", "network", "is_active")
    search_fields = ("code", "name", "custodian", "addresses__address")
    fields = (
        "code",
        "name",
        "kind",
        "network",
        "custodian",
        "description",
        "is_active",
        "created_at",
    )

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        # Addresses and accounts were checked against the network the wallet was created on;
        # requests name wallets by code, so a code never changes under a pending request.
        fixed = ("created_at", "network", "code") if obj is not None else ("created_at",)
        return readonly + [name for name in fixed if name not in readonly]

    def get_inlines(self, request, obj):
        if obj is None:
            return [WalletAddressInline]
        return [WalletAddressInline, WalletAccountInline]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WalletAddress)
class WalletAddressAdmin(GuardedHistoryAdmin):
    allow_revert = True
    form = WalletAddressForm
    list_display = ("address", "wallet", "network", "label", "is_active", "created_at")
    list_filter = ("network", "is_active")
    list_select_related = ("wallet",)
    search_fields = ("address", "label", "wallet__code", "wallet__name")
    fields = ("wallet", "address", "network", "label", "is_active", "created_at")

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        fixed = (
            ("network", "created_at", "wallet", "address") if obj is not None else ("network", "created_at")
        )
        return readonly + [name for name in fixed if name not in readonly]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def _allowlist_entry_is_current(entry: AllowListedAddress) -> bool:
    return entry.removed_at is None


@admin.register(AllowListedAddress)
class AllowListedAddressAdmin(ProposalAdminMixin, ReadOnlyHistoryAdmin):
    list_display = (
        "label",
        "network",
        "address",
        "counterparty",
        "state",
        "usable_from",
        "added_by",
        "removed_at",
    )
    list_filter = ("network", ("removed_at", admin.EmptyFieldListFilter))
    list_select_related = ("added_by_request", "removed_by_request")
    search_fields = ("address", "label", "counterparty")
    date_hierarchy = "added_at"
    fields = (
        "label",
        "network",
        "address",
        "counterparty",
        "state",
        "added_at",
        "usable_from",
        "added_by",
        "removed_at",
        "removed_by",
    )
    proposals = (
        Proposal("add", _("Propose adding an allow-list address"), AllowListAdditionForm),
        Proposal(
            "remove",
            _("Propose removal"),
            AllowListRemovalForm,
            on_row=True,
            applies=_allowlist_entry_is_current,
            action_label=_("Propose removing the selected address"),
        ),
    )

    @admin.display(description=_("state"))
    def state(self, obj: AllowListedAddress) -> str:
        if obj.removed_at is not None:
            return str(_("removed"))
        if timezone.now() < obj.usable_from:
            return str(_("cooling off"))
        return str(_("usable"))

    @admin.display(description=_("added by"))
    def added_by(self, obj: AllowListedAddress) -> str:
        return request_link(obj.added_by_request)

    @admin.display(description=_("removed by"))
    def removed_by(self, obj: AllowListedAddress) -> str:
        return request_link(obj.removed_by_request)
