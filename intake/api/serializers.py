"""Input and output serializers of intake's REST endpoints, one pair per use case.

Inputs are strict: unknown fields are refused (a court system that misspells a field learns it
at once instead of losing the value), amounts are JSON strings, text has a length cap.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from intake.models import Case, Court, CourtOrder, OrderKind, Party, PartyRole, SeizedItem, SourceKind
from reserve.api.request_serializers import AmountInputField
from reserve.api.serializers import AMOUNT_SCHEMA
from reserve.models import Asset, Wallet


class StrictInputSerializer(serializers.Serializer):
    """Refuses fields it does not know, each named in the 400."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                {"non_field_errors": [_("Send a JSON object.")]}, code="invalid"
            )
        unknown = sorted(str(name)[:100] for name in data if name not in self.fields)
        if unknown:
            raise serializers.ValidationError({name: [_("Unknown field.")] for name in unknown})
        return super().to_internal_value(data)


def _text(max_length: int, **kwargs) -> serializers.CharField:
    return serializers.CharField(max_length=max_length, **kwargs)


# -- cases ------------------------------------------------------------------------------------


class CaseCreateInputSerializer(StrictInputSerializer):
    court = serializers.SlugRelatedField(
        slug_field="code", queryset=Court.objects.all(), help_text=_("The court's code, e.g. astana-sic.")
    )
    number = _text(60, help_text=_("The case number at that court; with the court, it identifies the case."))
    investigating_authority = _text(200)
    opened_on = serializers.DateField()


class CaseUpdateInputSerializer(StrictInputSerializer):
    investigating_authority = _text(200)


class PartyInputSerializer(StrictInputSerializer):
    role = serializers.ChoiceField(choices=PartyRole.choices)
    name = _text(200, help_text=_("Personal data: shown only to readers with intake.view_party_pii."))
    identity_document_number = _text(
        60, required=False, allow_blank=True, default="", help_text=_("Personal data, as the name.")
    )


class PartyOutputSerializer(serializers.ModelSerializer):
    """A party; name and identity document number only for callers with
    ``intake.view_party_pii`` (``context["show_pii"]``), otherwise absent."""

    name = serializers.CharField(required=False, help_text=_("Only with intake.view_party_pii."))
    identity_document_number = serializers.CharField(
        required=False, help_text=_("Only with intake.view_party_pii.")
    )

    class Meta:
        model = Party
        fields = ["id", "role", "name", "identity_document_number"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self.context.get("show_pii"):
            for name in Party.PII_FIELDS:
                data.pop(name, None)
        return data


class CaseOutputSerializer(serializers.ModelSerializer):
    court = serializers.SlugRelatedField(slug_field="code", read_only=True)
    parties = PartyOutputSerializer(many=True, read_only=True)
    orders = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Case
        fields = ["id", "court", "number", "investigating_authority", "opened_on", "parties", "orders"]


# -- orders -----------------------------------------------------------------------------------


class OrderCreateInputSerializer(StrictInputSerializer):
    case = serializers.PrimaryKeyRelatedField(queryset=Case.objects.all(), help_text=_("The case id."))
    court_reference = _text(
        100,
        help_text=_("The court system's own identifier of the order: the same reference makes one order."),
    )
    kind = serializers.ChoiceField(choices=OrderKind.choices)
    number = _text(60)
    issued_on = serializers.DateField()
    in_force_on = serializers.DateField(required=False, allow_null=True, default=None)
    appeal_deadline = serializers.DateField(required=False, allow_null=True, default=None)
    appeal_lodged = serializers.BooleanField(required=False, default=False)


class OrderUpdateInputSerializer(StrictInputSerializer):
    in_force_on = serializers.DateField(required=False, allow_null=True)
    appeal_deadline = serializers.DateField(required=False, allow_null=True)
    appeal_lodged = serializers.BooleanField(required=False)
    appellate_ruling_on = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="Day of the appellate ruling that left the order in force (an appeal must be lodged).",
    )

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError(
                _("Give at least one of in_force_on, appeal_deadline, appeal_lodged, appellate_ruling_on.")
            )
        return attrs


class DocumentUploadInputSerializer(StrictInputSerializer):
    file = serializers.FileField(
        allow_empty_file=True,  # refused by intake.documents with its own message
        help_text=_("The signed document: PDF, PNG or JPEG, recognised by its content."),
    )


class DocumentOutputSerializer(serializers.Serializer):
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    content_type = serializers.CharField()


class OrderOutputSerializer(serializers.ModelSerializer):
    document = DocumentOutputSerializer(read_only=True, allow_null=True)
    items = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = CourtOrder
        fields = [
            "id",
            "case",
            "court_reference",
            "kind",
            "number",
            "issued_on",
            "in_force_on",
            "appeal_deadline",
            "appeal_lodged",
            "appellate_ruling_on",
            "document",
            "items",
        ]


# -- items ------------------------------------------------------------------------------------


class ItemCreateInputSerializer(StrictInputSerializer):
    order = serializers.PrimaryKeyRelatedField(
        queryset=CourtOrder.objects.all(), help_text=_("The order id.")
    )
    asset = serializers.SlugRelatedField(slug_field="symbol", queryset=Asset.objects.all())
    claimed_amount = AmountInputField(help_text=_('In the asset\'s units, as a string: "0.5".'))
    source_kind = serializers.ChoiceField(choices=SourceKind.choices)
    source_address = _text(120, required=False, allow_blank=True, default="")
    exchange_account = _text(200, required=False, allow_blank=True, default="")
    txid = _text(100, required=False, allow_blank=True, default="")
    vout = serializers.IntegerField(
        min_value=0, max_value=2**31 - 1, required=False, allow_null=True, default=None
    )
    custody_wallet = serializers.SlugRelatedField(slug_field="code", queryset=Wallet.objects.all())
    restriction = _text(32, required=False, allow_blank=True, default="")
    court_reference = _text(
        100,
        required=False,
        allow_blank=True,
        default="",
        help_text=_(
            "The court system's identifier of the item: required without a txid (an exchange "
            "account); optional with one, where the output (network, txid, vout) identifies the item."
        ),
    )


class CustodyHeadSerializer(serializers.Serializer):
    sequence = serializers.IntegerField()
    action = serializers.CharField()
    at = serializers.DateTimeField()
    hash = serializers.CharField()


@extend_schema_field({**AMOUNT_SCHEMA, "nullable": True})
class _Amount(serializers.Field):
    def __init__(self, *, units: str, **kwargs):
        self.units = units
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, item: SeizedItem):
        units = getattr(item, self.units)
        return None if units is None else item.asset.format(units)


class ItemOutputSerializer(serializers.ModelSerializer):
    asset = serializers.SlugRelatedField(slug_field="symbol", read_only=True)
    custody_wallet = serializers.SlugRelatedField(slug_field="code", read_only=True)
    claimed_amount = _Amount(units="claimed_amount")
    received_amount = _Amount(units="received_amount", help_text=_("Set when the item is in custody."))
    custody_chain_head = serializers.SerializerMethodField(
        help_text=_("The last event of the item's hash-chained custody log.")
    )
    ledger_entries = serializers.SerializerMethodField(
        help_text=_("Numbers of the ledger entries that moved this item's units (once in custody).")
    )

    class Meta:
        model = SeizedItem
        fields = [
            "id",
            "order",
            "court_reference",
            "asset",
            "network",
            "claimed_amount",
            "received_amount",
            "state",
            "source_kind",
            "txid",
            "vout",
            "custody_wallet",
            "restriction",
            "registered_at",
            "custody_chain_head",
            "ledger_entries",
        ]

    @extend_schema_field(CustodyHeadSerializer(allow_null=True))
    def get_custody_chain_head(self, item: SeizedItem):
        events = list(item.custody_events.all())  # prefetched, by sequence
        return CustodyHeadSerializer(events[-1]).data if events else None

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_ledger_entries(self, item: SeizedItem) -> list[str]:
        return [str(event.data["entry"]) for event in item.custody_events.all() if event.data.get("entry")]
