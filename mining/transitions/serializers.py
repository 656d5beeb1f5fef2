"""Payload serializer of ``mining.accept_output`` for the REST request API
(``POST /api/v1/requests/mining-output/``); the kind's ``clean_payload`` does the real checks."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class AcceptOutputPayloadSerializer(serializers.Serializer):
    report = serializers.IntegerField(min_value=1, help_text=_("The output report's number."))
    verification_digest = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        help_text=_(
            "The digest of the verification approved; refused if the report was verified again since."
        ),
    )
