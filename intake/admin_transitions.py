"""The forms behind the seized-item admin actions that start a transition: each one makes the
transition's request through the approval engine (``reserve.admin.proposals``); the item's state
changes only when the request is approved and executed."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from intake.models import CourtOrder, ItemState, OrderKind, ReleaseTransfer, SeizedItem
from intake.transitions import (
    CANCEL,
    FORFEIT,
    RELEASE,
    RELEASE_TRANSFER,
    TAKE_INTO_CUSTODY,
    release_facts,
    request_custody_intake,
    request_release_transfer,
)
from reserve.admin.forms import ProposalForm


class _ItemProposalForm(ProposalForm):
    item_label = forms.CharField(label=_("seized item"), required=False)
    fixed_fields = ("item_label",)

    @classmethod
    def initial_for(cls, instance: SeizedItem) -> dict:
        return {"item_label": f"#{instance.pk} — {instance.order.case.number}"}


class CustodyIntakeForm(_ItemProposalForm):
    """The coins arrived in the custody wallet: the received amount, verified against the chain
    where a chain source serves the network (checked before the request is made), otherwise by
    the clerk's evidence; a difference from the claimed amount must be explained."""

    request_kind = TAKE_INTO_CUSTODY
    title = _("Request intake of the seized coins into custody")
    received_amount = forms.CharField(label=_("received amount"), max_length=40)
    evidence = forms.CharField(
        label=_("evidence of the received amount"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Required where no chain source verifies the transfer (e.g. an exchange's statement)."),
    )
    discrepancy_explanation = forms.CharField(
        label=_("discrepancy explanation"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Required when the received amount differs from the claimed amount."),
    )

    @classmethod
    def initial_for(cls, instance: SeizedItem) -> dict:
        return {
            **super().initial_for(instance),
            "received_amount": instance.asset.format(instance.claimed_amount),
        }

    def payload(self) -> dict:
        return {
            "item": self.instance.pk,
            "received_amount": self.cleaned_data["received_amount"],
            "evidence": self.cleaned_data["evidence"],
            "discrepancy_explanation": self.cleaned_data["discrepancy_explanation"],
        }

    def make_request(self, *, maker, comment, idempotency_key):
        return request_custody_intake(
            item=self.instance,
            received_amount=self.cleaned_data["received_amount"],
            evidence=self.cleaned_data["evidence"],
            discrepancy_explanation=self.cleaned_data["discrepancy_explanation"],
            maker=maker,
            comment=comment,
            idempotency_key=idempotency_key,
        )


class _VerdictForm(_ItemProposalForm):
    order_kind: str
    order = forms.ModelChoiceField(label=_("court order"), queryset=CourtOrder.objects.none())
    amount = forms.CharField(
        label=_("amount"),
        required=False,
        max_length=40,
        help_text=_("Part of the item; all of it when empty."),
    )

    def __init__(self, data=None, *, instance=None, initial=None) -> None:
        super().__init__(data, instance=instance, initial=initial)
        orders = CourtOrder.objects.filter(kind=self.order_kind).select_related("case")
        if instance is not None:
            orders = orders.filter(case_id=instance.order.case_id)
        self.fields["order"].queryset = orders

    def _base_payload(self) -> dict:
        payload = {"item": self.instance.pk, "order": self.cleaned_data["order"].pk}
        if self.cleaned_data.get("amount"):
            payload["amount"] = self.cleaned_data["amount"]
        return payload


class ForfeitureForm(_VerdictForm):
    request_kind = FORFEIT
    title = _("Request forfeiture of the seized item")
    order_kind = OrderKind.CONFISCATION

    def payload(self) -> dict:
        return self._base_payload()


class ReleaseForm(_VerdictForm):
    request_kind = RELEASE
    title = _("Request release of the seized item to its owner")
    order_kind = OrderKind.RELEASE
    destination = forms.CharField(label=_("owner's or victim's address"), max_length=120)

    def payload(self) -> dict:
        return {**self._base_payload(), "destination": self.cleaned_data["destination"]}


class ReleaseTransferForm(_ItemProposalForm):
    """The released coins left on chain: the transaction that paid the destination the release
    pinned. Where a chain source serves the network it is asked what the transaction paid
    (before the request is made); otherwise the clerk's evidence and the amount received stand."""

    request_kind = RELEASE_TRANSFER
    title = _("Record the transfer of the released coins to their owner")
    fixed_fields = ("item_label", "pinned_destination", "released_amount")
    pinned_destination = forms.CharField(
        label=_("destination pinned by the release"),
        required=False,
        widget=forms.TextInput(attrs={"size": 70}),
    )
    released_amount = forms.CharField(label=_("amount released"), required=False)
    txid = forms.CharField(
        label=_("transaction id"), max_length=100, widget=forms.TextInput(attrs={"size": 70})
    )
    sent_amount = forms.CharField(
        label=_("amount received by the destination"),
        required=False,
        max_length=40,
        help_text=_(
            "The released amount less the network fee. Found on chain where a chain source serves the "
            "network; required otherwise."
        ),
    )
    evidence = forms.CharField(
        label=_("evidence of the transfer"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_(
            "Required where no chain source verifies the transfer (e.g. the signed transaction's record)."
        ),
    )

    @classmethod
    def initial_for(cls, instance: SeizedItem) -> dict:
        initial = super().initial_for(instance)
        try:
            released = release_facts(instance)
        except ValidationError:
            return initial  # not released: the engine refuses the request with the reason
        return {
            **initial,
            "pinned_destination": released.destination,
            "released_amount": f"{instance.asset.format(released.units)} {instance.asset.symbol}",
        }

    def payload(self) -> dict:
        return {
            "item": self.instance.pk,
            "txid": self.cleaned_data["txid"],
            "sent_amount": self.cleaned_data["sent_amount"],
            "evidence": self.cleaned_data["evidence"],
        }

    def make_request(self, *, maker, comment, idempotency_key):
        return request_release_transfer(
            item=self.instance,
            txid=self.cleaned_data["txid"],
            sent_amount=self.cleaned_data["sent_amount"],
            evidence=self.cleaned_data["evidence"],
            maker=maker,
            comment=comment,
            idempotency_key=idempotency_key,
        )


class CancellationForm(_ItemProposalForm):
    request_kind = CANCEL
    title = _("Request cancellation of the seized item")
    reason = forms.CharField(
        label=_("reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3, "cols": 60})
    )

    def payload(self) -> dict:
        return {"item": self.instance.pk, "reason": self.cleaned_data["reason"]}


def in_custody(item: SeizedItem) -> bool:
    return item.state == ItemState.IN_CUSTODY


def awaiting_custody(item: SeizedItem) -> bool:
    return item.state in (ItemState.REGISTERED, ItemState.TRANSFER_PENDING)


def awaiting_transfer(item: SeizedItem) -> bool:
    """Released coins not yet recorded as sent to their owner."""
    return item.state == ItemState.RELEASED and not ReleaseTransfer.objects.filter(item=item).exists()


def cancellable(item: SeizedItem) -> bool:
    return item.state in (ItemState.REGISTERED, ItemState.TRANSFER_PENDING)
