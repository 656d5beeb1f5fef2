"""Custody reference data: assets, custody wallets, their addresses and the address allow-list
are shown read-only; each change is proposed here and made only by an approved request
(:mod:`reserve.kinds.custody`, :mod:`reserve.kinds.allowlist`).
"""

from __future__ import annotations

from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reserve.admin.base import ReadOnlyHistoryAdmin, ReadOnlyInline, request_link
from reserve.admin.custody_forms import (
    AssetDeactivationForm,
    AssetRegistrationForm,
    WalletAddressAdditionForm,
    WalletAddressDeactivationForm,
    WalletDeactivationForm,
    WalletRegistrationForm,
)
from reserve.admin.forms import AllowListAdditionForm, AllowListRemovalForm
from reserve.admin.proposals import Proposal, ProposalAdminMixin
from reserve.models import (
    Account,
    AllowListedAddress,
    Asset,
    Wallet,
    WalletAddress,
)


def _is_active(obj) -> bool:
    return obj.is_active


@admin.register(Asset)
class AssetAdmin(ProposalAdminMixin, ReadOnlyHistoryAdmin):
    """Read-only: an asset gives stored amounts their meaning; it is registered or deactivated
    only through an approved custody change."""

    list_display = ("symbol", "name", "network", "decimals", "contract_address", "is_active")
    list_filter = ("network", "is_active")
    search_fields = ("symbol", "name", "contract_address")
    fields = ("symbol", "name", "network", "decimals", "contract_address", "is_active")
    proposals = (
        Proposal("register", _("Propose registering an asset"), AssetRegistrationForm),
        Proposal(
            "deactivate",
            _("Propose deactivation"),
            AssetDeactivationForm,
            on_row=True,
            applies=_is_active,
            action_label=_("Propose deactivating the selected asset"),
        ),
    )


class WalletAddressInline(ReadOnlyInline):
    model = WalletAddress
    fields = ("address", "label", "is_active", "created_at")


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
class WalletAdmin(ProposalAdminMixin, ReadOnlyHistoryAdmin):
    """Read-only: where the fund receives coins. Wallets and their addresses change only through
    approved custody changes (an address substituted alone would receive the next transfer)."""

    list_display = ("code", "name", "kind", "network", "custodian", "is_active", "created_at")
    list_filter = ("kind", "network", "is_active")
    search_fields = ("code", "name", "custodian", "addresses__address")
    fields = ("code", "name", "kind", "network", "custodian", "description", "is_active", "created_at")
    inlines = [WalletAddressInline, WalletAccountInline]
    proposals = (
        Proposal("register", _("Propose registering a custody wallet"), WalletRegistrationForm),
        Proposal(
            "add-address",
            _("Propose adding an address"),
            WalletAddressAdditionForm,
            on_row=True,
            applies=_is_active,
        ),
        Proposal(
            "deactivate",
            _("Propose deactivation"),
            WalletDeactivationForm,
            on_row=True,
            applies=_is_active,
            action_label=_("Propose deactivating the selected wallet"),
        ),
    )


@admin.register(WalletAddress)
class WalletAddressAdmin(ProposalAdminMixin, ReadOnlyHistoryAdmin):
    list_display = ("address", "wallet", "network", "label", "is_active", "created_at")
    list_filter = ("network", "is_active")
    list_select_related = ("wallet",)
    search_fields = ("address", "label", "wallet__code", "wallet__name")
    fields = ("wallet", "address", "network", "label", "is_active", "created_at")
    proposals = (
        Proposal("add", _("Propose adding a wallet address"), WalletAddressAdditionForm),
        Proposal(
            "deactivate",
            _("Propose deactivation"),
            WalletAddressDeactivationForm,
            on_row=True,
            applies=_is_active,
            action_label=_("Propose deactivating the selected address"),
        ),
    )


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
