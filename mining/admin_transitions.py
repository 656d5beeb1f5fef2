"""The forms behind the output report admin actions that make approval requests: accepting a
verified report (``mining.accept_output``) and sweeping the site's mined coins to cold storage
(a ``reserve.transfer`` built by :func:`mining.transitions.sweeps.sweep_payload`). Nothing
changes until the request is approved and executed; the engine's and the sweep rules'
refusals are shown on the form."""

from __future__ import annotations

from django import forms
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from mining.models import OutputReport, ReportState
from mining.transitions import ACCEPT_OUTPUT, current_verification
from mining.transitions.sweeps import TRANSFER, request_sweep, sweep_payload
from reserve.admin.forms import ProposalForm
from reserve.models import Wallet


class ReportActionForm(ActionForm):
    """The changelist's action bar, with the text the verify and reopen actions need."""

    explanation = forms.CharField(
        label=_("explanation / reason"),
        required=False,
        max_length=4000,
        help_text=_("Verify: why the output deviates beyond tolerance. Return to draft: why."),
    )


class _ReportProposalForm(ProposalForm):
    report_label = forms.CharField(label=_("output report"), required=False)
    fixed_fields = ("report_label",)

    @classmethod
    def initial_for(cls, instance: OutputReport) -> dict:
        return {"report_label": str(instance)}


class AcceptOutputForm(_ReportProposalForm):
    request_kind = ACCEPT_OUTPUT
    title = _("Request acceptance of the verified output report")

    def payload(self) -> dict:
        verification = current_verification(self.instance)
        return {
            "report": self.instance.pk,
            "verification_digest": verification.digest if verification else "",
        }


class SweepForm(_ReportProposalForm):
    request_kind = TRANSFER
    title = _("Request a sweep of the site's mined coins to cold storage")
    to_wallet = forms.ModelChoiceField(label=_("cold storage wallet"), queryset=Wallet.objects.none())
    amount = forms.CharField(label=_("amount"), max_length=40, help_text=_("An exact decimal, e.g. 1.5."))

    def __init__(self, data=None, *, instance=None, initial=None) -> None:
        super().__init__(data, instance=instance, initial=initial)
        wallets = Wallet.objects.filter(is_active=True).order_by("code")
        if instance is not None:
            wallets = wallets.exclude(pk=instance.site.custody_wallet_id)
        self.fields["to_wallet"].queryset = wallets

    def clean(self):
        cleaned = super().clean()
        if self.errors or self.instance is None:
            return cleaned
        try:
            self._payload = sweep_payload(
                site=self.instance.site, to_wallet=cleaned["to_wallet"], amount=cleaned["amount"]
            )
        except ValidationError as exc:
            self.add_service_errors(exc)
        return cleaned

    def payload(self) -> dict:
        return self._payload

    def make_request(self, *, actor, idempotency_key: str | None):
        """Made by :func:`mining.transitions.request_sweep` (its comment names the site, and it
        writes the ``mining.site.sweep_requested`` audit event)."""
        return request_sweep(
            site=self.instance.site,
            to_wallet=self.cleaned_data["to_wallet"],
            amount=self.cleaned_data["amount"],
            actor=actor,
            comment=self.cleaned_data.get("comment") or "",
            idempotency_key=idempotency_key,
        )


def is_verified(report: OutputReport) -> bool:
    return report.state == ReportState.VERIFIED


def is_posted(report: OutputReport) -> bool:
    return report.state == ReportState.POSTED
