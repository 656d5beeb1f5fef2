"""Query filters of the list endpoints (their input serializers, in django-filter's terms)."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend

from reserve.approvals.registry import registered_kinds
from reserve.models import Account, ApprovalRequest, Asset, Category, RequestStatus, Wallet


class QueryFilterBackend(DjangoFilterBackend):
    """django-filter's backend, skipped when the query names none of the filterset's fields (a
    plain page of a list then costs no form building per request; the answer is the same)."""

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None and not any(
            name in request.query_params for name in filterset_class.base_filters
        ):
            return queryset
        return super().filter_queryset(request, queryset, view)


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


class SafeIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time; one that cannot be represented (year 9999 at -12:00) is a field
    error, not a server error."""

    def to_python(self, value):
        try:
            moment = super().to_python(value)
            if moment is not None:
                moment.astimezone(dt.UTC)
        except (OverflowError, ValueError):
            raise ValidationError(_("Enter a valid date-time."), code="invalid")
        return moment


class SafeIsoDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = SafeIsoDateTimeField


def _kind_choices() -> list[tuple[str, str]]:
    return [(kind.code, kind.code) for kind in registered_kinds()]


class RequestFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=RequestStatus.choices, help_text=_("Request status."))
    kind = filters.ChoiceFilter(choices=_kind_choices, help_text=_("Request kind, e.g. reserve.transfer."))
    asset = filters.ModelChoiceFilter(
        field_name="asset",
        to_field_name="symbol",
        queryset=Asset.objects.all(),
        help_text=_("Asset symbol, e.g. BTC."),
    )
    created_after = SafeIsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text=_("Made at or after this moment (ISO 8601).")
    )
    created_before = SafeIsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", help_text=_("Made before this moment (ISO 8601).")
    )

    class Meta:
        model = ApprovalRequest
        fields = ["status", "kind", "asset", "created_after", "created_before"]
