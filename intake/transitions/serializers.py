"""Payload serializers of intake's request kinds offered by the REST API
(``POST /api/v1/requests/<slug>/``); the engine's ``clean_payload`` does the real checks."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class ForfeitPayloadSerializer(serializers.Serializer):
    item = serializers.IntegerField(min_value=1, help_text=_("The seized item's number."))
    order = serializers.IntegerField(min_value=1, help_text=_("The confiscation verdict's number."))
    amount = serializers.CharField(
        max_length=40,
        required=False,
        allow_blank=True,
        help_text=_("Part of the item; all of it when empty."),
    )


class ReleasePayloadSerializer(serializers.Serializer):
    item = serializers.IntegerField(min_value=1, help_text=_("The seized item's number."))
    order = serializers.IntegerField(min_value=1, help_text=_("The release (return) order's number."))
    destination = serializers.CharField(
        max_length=120, help_text=_("The owner's or victim's address on the item's network.")
    )
    amount = serializers.CharField(
        max_length=40,
        required=False,
        allow_blank=True,
        help_text=_("Part of the item; all of it when empty."),
    )


class CancelPayloadSerializer(serializers.Serializer):
    item = serializers.IntegerField(min_value=1, help_text=_("The seized item's number."))
    reason = serializers.CharField(max_length=2000, help_text=_("Why the seizure is withdrawn."))


class CustodyIntakePayloadSerializer(serializers.Serializer):
    item = serializers.IntegerField(min_value=1, help_text=_("The seized item's number."))
    received_amount = serializers.CharField(
        max_length=40, help_text=_('What arrived in the custody wallet, as a string (e.g. "0.5").')
    )
    #: The request's own ``evidence`` is the maker's list of documents; the statement of what
    #: arrived is the payload's ``evidence``.
    payload_keys = {"receipt_evidence": "evidence"}

    receipt_evidence = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        help_text=_(
            "Required where no chain source verifies the transfer; otherwise the chain is asked first."
        ),
    )
    discrepancy_explanation = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        help_text=_("Required when the received amount differs from the claimed amount."),
    )


class ReleaseTransferPayloadSerializer(serializers.Serializer):
    item = serializers.IntegerField(min_value=1, help_text=_("The released item's number."))
    txid = serializers.CharField(max_length=100, help_text=_("The transaction that sent the coins."))
    sent_amount = serializers.CharField(
        max_length=40,
        required=False,
        allow_blank=True,
        help_text=_("What the destination received; found on chain where a chain source serves the network."),
    )
    payload_keys = {"transfer_evidence": "evidence"}

    transfer_evidence = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        help_text=_("Required where no chain source verifies the transfer."),
    )
