"""Proposal forms of custody changes (``reserve.custody_change``): each becomes a request that
custody and board approvers decide; nothing here writes the record it is about."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from reserve.admin.forms import ProposalForm
from reserve.models import Asset, Network, Wallet, WalletAddress, WalletKind

KIND = "reserve.custody_change"


class AssetRegistrationForm(ProposalForm):
    request_kind = KIND
    title = _("Propose registering an asset")

    symbol = forms.CharField(label=_("symbol"), max_length=20)
    name = forms.CharField(label=_("name"), max_length=100)
    network = forms.ChoiceField(label=_("network"), choices=Network.choices)
    decimals = forms.IntegerField(label=_("decimal places"), min_value=0, max_value=30)
    contract_address = forms.CharField(label=_("contract address"), max_length=120, required=False)

    def payload(self) -> dict:
        return {
            "action": "register_asset",
            **{
                k: self.cleaned_data[k] for k in ("symbol", "name", "network", "decimals", "contract_address")
            },
        }


class AssetDeactivationForm(ProposalForm):
    request_kind = KIND
    title = _("Propose deactivating an asset")
    fixed_fields = ("symbol",)

    symbol = forms.CharField(label=_("symbol"), max_length=20)

    @classmethod
    def initial_for(cls, asset: Asset) -> dict:
        return {"symbol": asset.symbol}

    def payload(self) -> dict:
        return {"action": "deactivate_asset", "symbol": self.cleaned_data["symbol"]}


class WalletRegistrationForm(ProposalForm):
    request_kind = KIND
    title = _("Propose registering a custody wallet")

    code = forms.SlugField(label=_("code"), max_length=40)
    name = forms.CharField(label=_("name"), max_length=100)
    kind = forms.ChoiceField(label=_("kind"), choices=WalletKind.choices)
    network = forms.ChoiceField(label=_("network"), choices=Network.choices)
    custodian = forms.CharField(label=_("custodian"), max_length=200, required=False)
    description = forms.CharField(
        label=_("description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def payload(self) -> dict:
        return {
            "action": "register_wallet",
            **{
                k: self.cleaned_data[k]
                for k in ("code", "name", "kind", "network", "custodian", "description")
            },
        }


class WalletDeactivationForm(ProposalForm):
    request_kind = KIND
    title = _("Propose deactivating a custody wallet")
    fixed_fields = ("code",)

    code = forms.CharField(label=_("wallet code"), max_length=40)

    @classmethod
    def initial_for(cls, wallet: Wallet) -> dict:
        return {"code": wallet.code}

    def payload(self) -> dict:
        return {"action": "deactivate_wallet", "code": self.cleaned_data["code"]}


class WalletAddressAdditionForm(ProposalForm):
    """From a wallet's page (its code fixed) or from the address list (the code chosen)."""

    request_kind = KIND
    title = _("Propose adding a receiving address")

    code = forms.CharField(label=_("wallet code"), max_length=40)
    address = forms.CharField(label=_("address"), max_length=120)
    label = forms.CharField(label=_("label"), max_length=120, required=False)

    def __init__(self, data=None, *, instance=None, initial=None) -> None:
        super().__init__(data, instance=instance, initial=initial)
        if isinstance(instance, Wallet):
            self.fields["code"].disabled = True

    @classmethod
    def initial_for(cls, instance) -> dict:
        return {"code": instance.code} if isinstance(instance, Wallet) else {}

    def payload(self) -> dict:
        return {"action": "add_address", **{k: self.cleaned_data[k] for k in ("code", "address", "label")}}


class WalletAddressDeactivationForm(ProposalForm):
    request_kind = KIND
    title = _("Propose deactivating a receiving address")
    fixed_fields = ("code", "address")

    code = forms.CharField(label=_("wallet code"), max_length=40)
    address = forms.CharField(label=_("address"), max_length=120)

    @classmethod
    def initial_for(cls, row: WalletAddress) -> dict:
        return {"code": row.wallet.code, "address": row.address}

    def payload(self) -> dict:
        return {
            "action": "deactivate_address",
            "code": self.cleaned_data["code"],
            "address": self.cleaned_data["address"],
        }
