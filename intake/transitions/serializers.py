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
