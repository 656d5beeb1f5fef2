"""Input and output serializers of the approval requests API.

Inputs check shapes only (types, lengths, choices); the request kind's ``clean_payload`` in
:mod:`reserve.kinds` checks meaning (known asset, active wallets, enough funds, the
asset's decimals), so the API and the screens refuse the same things with the same messages.
Amounts travel as strings in both directions.
"""

from __future__ import annotations

from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from reserve.api.serializers import AMOUNT_SCHEMA
from reserve.models import HELD_CATEGORIES, ApprovalRequest, Network, RequestStatus, Verdict

HELD_CATEGORY_CHOICES = [(category.value, category.label) for category in HELD_CATEGORIES]
OBJECT_SCHEMA = {"type": "object", "additionalProperties": True}


def request_etag(request: ApprovalRequest) -> str:
    """The request's ETag: its revision and the start of its action digest, quoted."""
    return f'"{request.revision}-{request.payload_digest[:16]}"'


@extend_schema_field({**AMOUNT_SCHEMA, "maxLength": 100})
class AmountInputField(serializers.CharField):
    """An amount as a JSON string ("1.5"); a JSON number is refused, never read as a float."""

    default_error_messages = {"not_a_string": _('Send amounts as strings, such as "1.50000000".')}

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 100)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class EvidenceInputSerializer(serializers.Serializer):
    label = serializers.CharField(
        max_length=200, help_text=_("What the evidence is, e.g. 'Court order 2-15/2026'.")
    )
    url = serializers.URLField(
        max_length=500,
        required=False,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text=_("Where to read it (http or https)."),
    )


class RequestInput(serializers.Serializer):
    comment = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, default="", help_text=_("The maker's comment.")
    )
    evidence = EvidenceInputSerializer(many=True, required=False, max_length=20)


@extend_schema_serializer(component_name="TransferPayload")
class TransferPayloadSerializer(serializers.Serializer):
    asset = serializers.CharField(max_length=20, help_text=_("Asset symbol, e.g. BTC."))
    amount = AmountInputField(help_text=_('Amount to arrive, e.g. "1.25"; at most the asset\'s decimals.'))
    from_wallet = serializers.CharField(max_length=40, help_text=_("Source custody wallet code."))
    to_wallet = serializers.CharField(max_length=40, help_text=_("Destination custody wallet code."))
    category = serializers.ChoiceField(choices=HELD_CATEGORY_CHOICES, help_text=_("Legal category moved."))
    fee = AmountInputField(required=False, help_text=_("Network fee paid by the source wallet; default 0."))


@extend_schema_serializer(component_name="AllowListChangePayload")
class AllowListChangePayloadSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=[("add", _("Add")), ("remove", _("Remove"))])
    network = serializers.ChoiceField(choices=Network.choices)
    address = serializers.CharField(max_length=120, help_text=_("Destination address outside the fund."))
    label = serializers.CharField(
        max_length=120, required=False, allow_blank=True, help_text=_("Required when adding.")
    )
    counterparty = serializers.CharField(max_length=200, required=False, allow_blank=True)


@extend_schema_serializer(component_name="TransferCreate")
class TransferCreateSerializer(RequestInput, TransferPayloadSerializer):
    pass


@extend_schema_serializer(component_name="AllowListChangeCreate")
class AllowListChangeCreateSerializer(RequestInput, AllowListChangePayloadSerializer):
    pass


#: The payload serializer of each kind that can be made and amended through the API.
PAYLOAD_SERIALIZERS: dict[str, type[serializers.Serializer]] = {
    "reserve.transfer": TransferPayloadSerializer,
    "reserve.allowlist_change": AllowListChangePayloadSerializer,
}


def payload_from(validated: dict, serializer_class: type[serializers.Serializer]) -> dict:
    """The action's payload: the payload fields of the validated input (no comment/evidence).
    A payload serializer whose kind stores a field under a name the request itself uses (the
    maker's ``comment`` or ``evidence`` documents) names it otherwise in the API and maps it
    back with ``payload_keys`` (API name → payload key)."""
    keys = getattr(serializer_class, "payload_keys", {})
    return {keys.get(name, name): validated[name] for name in serializer_class().fields if name in validated}


class DecisionInputSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=Verdict.choices)
    comment = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("Why; required when rejecting."),
    )
    digest = serializers.RegexField(
        r"^[0-9a-f]{64}$",
        help_text=_(
            "The action digest you reviewed (from the request); refused if the request changed since."
        ),
    )
    otp_token = serializers.RegexField(
        r"^[0-9]{6}$",
        required=False,
        help_text=_(
            "The current 6-digit code of the second factor (TOTP) of the user the client acts as. "
            "Required when the request's policy requires a second factor."
        ),
    )

    def validate(self, attrs: dict) -> dict:
        if attrs["verdict"] == Verdict.REJECT and not attrs.get("comment", "").strip():
            raise serializers.ValidationError({"comment": [_("Say why you reject the request.")]})
        return attrs


@extend_schema_serializer(component_name="PolicyTier")
class PolicyTierOutputSerializer(serializers.Serializer):
    group = serializers.CharField(source="group.name", help_text=_("Approver group."))
    required = serializers.IntegerField(help_text=_("Distinct approvers needed from the group (M)."))


@extend_schema_serializer(component_name="ApprovalPolicy")
class PolicyOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.IntegerField()
    maker_may_approve = serializers.BooleanField()
    requires_second_factor = serializers.BooleanField()
    tiers = PolicyTierOutputSerializer(many=True, source="tiers.all")


@extend_schema_serializer(component_name="TierProgress")
class TierProgressOutputSerializer(serializers.Serializer):
    group = serializers.CharField(source="group_name")
    required = serializers.IntegerField()
    approvers = serializers.ListField(child=serializers.CharField(), help_text=_("Approvals that count now."))
    met = serializers.BooleanField()


@extend_schema_serializer(component_name="Decision")
class DecisionOutputSerializer(serializers.Serializer):
    approver = serializers.CharField(source="approver.username")
    verdict = serializers.ChoiceField(choices=Verdict.choices)
    comment = serializers.CharField()
    digest = serializers.CharField(help_text=_("The action digest the approver was shown."))
    revision = serializers.IntegerField()
    second_factor = serializers.BooleanField()
    via = serializers.CharField(help_text=_("screen or api"))
    decided_at = serializers.DateTimeField()


@extend_schema_serializer(component_name="LedgerEffectLine")
class EffectLineOutputSerializer(serializers.Serializer):
    account = serializers.CharField(help_text=_("wallet / category"))
    amount = serializers.CharField(help_text=_("Exact amount with all of the asset's decimals."))
    direction = serializers.ChoiceField(choices=[("debit", "debit"), ("credit", "credit")])


@extend_schema_serializer(component_name="ApprovalRequestSummary")
class RequestSummaryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    kind = serializers.CharField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=RequestStatus.choices)
    maker = serializers.CharField(source="maker.username")
    asset = serializers.CharField(source="asset.symbol", allow_null=True)
    payload = serializers.SerializerMethodField()
    digest = serializers.CharField(source="payload_digest", help_text=_("SHA-256 of the canonical action."))
    revision = serializers.IntegerField()
    etag = serializers.SerializerMethodField(help_text=_("The value to send as If-Match when amending."))
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field({**OBJECT_SCHEMA, "description": "The exact action that executes on approval."})
    def get_payload(self, obj: ApprovalRequest) -> dict:
        return obj.payload

    def get_etag(self, obj: ApprovalRequest) -> str:
        return request_etag(obj)


@extend_schema_serializer(component_name="ApprovalRequest")
class RequestDetailOutputSerializer(RequestSummaryOutputSerializer):
    """Renders a :class:`reserve.api.request_base.detail_response`'s request with its derived parts
    given in the context: ``progress``, ``ledger_effect``."""

    comment = serializers.CharField()
    evidence = serializers.ListField(child=serializers.JSONField())
    policy = PolicyOutputSerializer()
    progress = serializers.SerializerMethodField()
    decisions = DecisionOutputSerializer(many=True, source="decisions.all")
    ledger_effect = serializers.SerializerMethodField()
    executed_at = serializers.DateTimeField(allow_null=True)
    result = serializers.SerializerMethodField()

    @extend_schema_field(TierProgressOutputSerializer(many=True))
    def get_progress(self, obj: ApprovalRequest) -> list:
        return TierProgressOutputSerializer(self.context["progress"], many=True).data

    @extend_schema_field(EffectLineOutputSerializer(many=True))
    def get_ledger_effect(self, obj: ApprovalRequest) -> list:
        return EffectLineOutputSerializer(self.context["ledger_effect"], many=True).data

    @extend_schema_field(
        {**OBJECT_SCHEMA, "description": "What the execution did, e.g. the journal entry number."}
    )
    def get_result(self, obj: ApprovalRequest) -> dict:
        return obj.result
