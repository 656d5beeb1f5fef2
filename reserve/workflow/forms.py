"""Forms of the approvers' workflow screens. They only shape input: every rule about amounts,
wallets, policies and decisions lives in the services, whose ValidationErrors are put back
onto these forms' fields (:func:`add_service_errors`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from reserve.models import HELD_CATEGORIES, Asset, Verdict, Wallet


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Attach a service's ValidationError to ``form``: errors of a field the form has go onto
    that field, everything else onto the form as a whole."""
    if not hasattr(exc, "error_dict"):
        for message in exc.messages:
            form.add_error(None, message)
        return
    for field, errors in exc.message_dict.items():
        target = field if field in form.fields else None
        for message in errors:
            if target is None and field != NON_FIELD_ERRORS:
                message = f"{field}: {message}"
            form.add_error(target, message)


class DecisionForm(forms.Form):
    """Approve or reject; the digest is the action the approver saw when the page rendered."""

    verdict = forms.ChoiceField(choices=Verdict.choices)
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when you reject."),
    )
    digest = forms.CharField(max_length=64, widget=forms.HiddenInput)


class OtpForm(forms.Form):
    code = forms.CharField(
        label=_("Code from your authenticator app"),
        max_length=12,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True, "size": 8}
        ),
    )

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if not code.isascii() or not code.isdigit() or len(code) not in (6, 8):
            raise ValidationError(_("Enter the 6-digit code shown by your authenticator app."))
        return code


class WalletChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Wallet) -> str:
        return f"{obj.name} ({obj.code})"


class RequestForm(forms.Form):
    """Base of a kind's "new request" form (``RequestKind.form_class``): the kind's own fields
    make the payload; the comment, the evidence and the submission key are the same for every
    kind. A kind whose payload is not simply its fields overrides :meth:`payload`."""

    #: Fields of every request form that are not part of the payload.
    COMMON_FIELDS = ("comment", "evidence", "submission")

    comment = forms.CharField(
        label=_("Comment for the approvers"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    evidence = forms.CharField(
        label=_("Evidence"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One reference or https:// link per line (court order, memo, ticket)."),
    )

    #: One value per rendered form, so that submitting it twice makes one request.
    submission = forms.CharField(max_length=64, widget=forms.HiddenInput)

    def payload_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name not in self.COMMON_FIELDS]

    def payload(self) -> dict:
        """The cleaned fields as JSON: a chosen object by the field it is chosen by (a
        ``to_field_name`` such as a symbol or a code), decimals as text, dates in ISO form."""
        payload = {}
        for name, value in self.cleaned_data.items():
            if name in self.COMMON_FIELDS:
                continue
            if isinstance(value, models.Model):
                value = getattr(value, getattr(self.fields[name], "to_field_name", None) or "pk")
            elif isinstance(value, Decimal):
                value = str(value)
            elif isinstance(value, dt.date | dt.time):
                value = value.isoformat()
            payload[name] = value
        return payload

    def evidence_items(self) -> list[dict]:
        items = []
        for line in self.cleaned_data["evidence"].splitlines():
            line = line.strip()
            if not line:
                continue
            if line.startswith(("https://", "http://")):
                items.append({"label": line, "url": line})
            else:
                items.append({"label": line})
        return items


class TransferForm(RequestForm):
    """A transfer between the fund's custody wallets. Amounts are text, never floats: the
    engine parses them exactly with the asset's number of decimals."""

    asset = forms.ModelChoiceField(
        label=_("Asset"), queryset=Asset.objects.filter(is_active=True), to_field_name="symbol"
    )
    amount = forms.CharField(
        label=_("Amount"),
        max_length=100,
        help_text=_("A plain decimal number such as 1.25, in the asset's units."),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    from_wallet = WalletChoiceField(
        label=_("From wallet"), queryset=Wallet.objects.filter(is_active=True), to_field_name="code"
    )
    to_wallet = WalletChoiceField(
        label=_("To wallet"), queryset=Wallet.objects.filter(is_active=True), to_field_name="code"
    )
    category = forms.ChoiceField(
        label=_("Legal category"), choices=[(c.value, c.label) for c in HELD_CATEGORIES]
    )
    fee = forms.CharField(
        label=_("Network fee"),
        max_length=100,
        required=False,
        help_text=_("Optional; paid from the source wallet."),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )

    def payload(self) -> dict:
        data = self.cleaned_data
        return {
            "asset": data["asset"].symbol,
            "amount": data["amount"],
            "from_wallet": data["from_wallet"].code,
            "to_wallet": data["to_wallet"].code,
            "category": data["category"],
            "fee": data["fee"],
        }
