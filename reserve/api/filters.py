"""Query filters of the list endpoints (their input serializers, in django-filter's terms)."""

from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters

from reserve.models import Account, Asset, Category, Wallet


class BalanceFilter(filters.FilterSet):
    asset = filters.ModelChoiceFilter(
        field_name="asset",
        to_field_name="symbol",
        queryset=Asset.objects.all(),
        help_text=_("Asset symbol, e.g. BTC."),
    )
    wallet = filters.ModelChoiceFilter(
        field_name="wallet",
        to_field_name="code",
        queryset=Wallet.objects.all(),
        help_text=_("Wallet code, e.g. cold-a."),
    )
    category = filters.ChoiceFilter(
        choices=[(value, label) for value, label in Category.choices if value != Category.EXTERNAL],
        help_text=_("Legal category, e.g. reserve:forfeited."),
    )

    class Meta:
        model = Account
        fields = ["asset", "wallet", "category"]
